"""Loading saved `.keras` models: registers keras-auxlt's classes first, so any entry point can load."""

import keras

from keras_auxlt.models import auxlt_model, bbn_model, layers  # noqa: F401  (registers the serializable classes)
from keras_auxlt.training import optimizers, schedules  # noqa: F401


def load_model(path):
    return keras.models.load_model(path)


def load_float32(path):
    """Load a checkpoint with float32 layers, whatever precision it was trained in (evaluation and export)."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float32")
    try:
        return load_model(path)
    finally:
        keras.config.set_dtype_policy(previous)
