"""Code-generation targets: one package per framework (pytorch, tensorflow, jax) plus ONNX export."""
