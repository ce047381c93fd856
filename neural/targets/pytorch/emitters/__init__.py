"""PyTorch emitters, one file per layer family."""
