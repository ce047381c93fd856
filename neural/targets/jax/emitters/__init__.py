"""JAX emitters, one file per layer family."""
