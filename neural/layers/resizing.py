"""resizing layers (to be filled in)."""
