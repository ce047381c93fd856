"""NumPy kernels: attention family (to be filled in)."""
