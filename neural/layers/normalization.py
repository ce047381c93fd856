"""normalization layers (to be filled in)."""
