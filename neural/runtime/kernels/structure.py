"""NumPy kernels: structure family (to be filled in)."""
