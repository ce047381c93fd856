"""NumPy kernels: normalization family (to be filled in)."""
