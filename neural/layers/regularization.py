"""regularization layers (to be filled in)."""
