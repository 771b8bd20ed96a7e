"""Delivery: the dispatcher that renders and sends the outbox (psgbot.outbox), the send-error
policy, flood limits."""
