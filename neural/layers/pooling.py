"""pooling layers (to be filled in)."""
