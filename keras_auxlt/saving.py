"""Loading saved `.keras` models: registers keras-auxlt's classes first, so any entry point can load."""

import keras

from keras_auxlt.models import auxlt_model, layers  # noqa: F401  (registers the serializable classes)
from keras_auxlt.training import optimizers, schedules  # noqa: F401


def load_model(path):
    return keras.models.load_model(path)
