"""Feed ingest: fetch a source, parse it, normalise items, key them, store them once."""
