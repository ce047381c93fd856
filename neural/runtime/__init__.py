"""The NumPy runtime: autograd tensors, one kernel (forward + backward) per layer kind, models."""
