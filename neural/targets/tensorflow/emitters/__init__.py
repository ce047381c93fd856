"""TensorFlow/Keras emitters, one file per layer family."""
