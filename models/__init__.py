"""Model registry: one manifest.json per model, weights verified by sha256 on load."""
