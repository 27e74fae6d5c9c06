"""The only place that builds Keras models from plans and runs ``fit`` (imports TensorFlow)."""
