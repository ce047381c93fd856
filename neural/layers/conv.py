"""conv layers (to be filled in)."""
