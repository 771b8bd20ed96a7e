"""Chat-facing features, one module each; every module exposes ``handlers()``."""
