"""NumPy kernels: conv family (to be filled in)."""
