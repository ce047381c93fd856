"""attention layers (to be filled in)."""
