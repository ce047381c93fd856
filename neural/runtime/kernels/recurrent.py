"""NumPy kernels: recurrent family (to be filled in)."""
