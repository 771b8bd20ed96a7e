"""Delivery: the outbox (every alert, notice and broadcast), the dispatcher, flood limits."""
