"""All Telegram HTML the bot sends is built in this package, one module per feature.

Handlers and domain code pass data (items, events, figures); only these modules escape text, add
markup and keep messages within Telegram's limits (psgbot.render.markup).
"""
