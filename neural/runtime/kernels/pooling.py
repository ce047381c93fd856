"""NumPy kernels: pooling family (to be filled in)."""
