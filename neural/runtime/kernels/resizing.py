"""NumPy kernels: resizing family (to be filled in)."""
