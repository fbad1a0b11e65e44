"""keras-auxlt: auxiliary learning for long-tailed visual recognition (TensorFlow / Keras 3)."""

__version__ = "0.2.0"  # the one place: pyproject.toml reads it
