"""structure layers (to be filled in)."""
