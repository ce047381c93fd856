"""recurrent layers (to be filled in)."""
