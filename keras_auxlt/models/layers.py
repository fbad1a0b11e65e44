"""Small layers shared by the backbones."""

import keras
from keras import ops

# PyTorch's BatchNorm defaults (momentum 0.1 there = 0.9 here, eps 1e-5), as the reference code uses.
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5


def conv_init():
    """He-normal over fan-in, untruncated: PyTorch's kaiming_normal_ as in the reference code."""
    return keras.initializers.VarianceScaling(2.0, mode="fan_in", distribution="untruncated_normal")


def batch_norm(name, synchronized=False):
    """BatchNorm with the reference code's constants; `synchronized` pools statistics across replicas."""
    return keras.layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, synchronized=synchronized,
                                           name=name)


@keras.saving.register_keras_serializable(package="keras_auxlt")
class ZeroPadShortcut(keras.layers.Layer):
    """Parameter-free ResNet shortcut ("option A"): spatial subsampling plus zero channel padding."""

    def __init__(self, stride, extra_channels, **kwargs):
        super().__init__(**kwargs)
        self.stride = stride
        self.extra_channels = extra_channels

    def call(self, x):
        x = x[:, :: self.stride, :: self.stride, :]
        half = self.extra_channels // 2
        return ops.pad(x, [[0, 0], [0, 0], [0, 0], [half, self.extra_channels - half]])

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        down = lambda d: None if d is None else -(-d // self.stride)  # noqa: E731
        return (n, down(h), down(w), c + self.extra_channels)

    def get_config(self):
        return {**super().get_config(), "stride": self.stride, "extra_channels": self.extra_channels}


@keras.saving.register_keras_serializable(package="keras_auxlt")
class PixelNormalization(keras.layers.Layer):
    """(pixels / 255 - mean) / std on raw [0, 255] pixels: the one place inputs are normalised.

    The data pipeline yields raw pixels and so do exported models' clients; normalisation is
    part of the model so that training, evaluation and export cannot disagree.
    """

    def __init__(self, mean, std, **kwargs):
        super().__init__(**kwargs)
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)

    def call(self, x):
        x = ops.cast(x, self.compute_dtype)
        mean = ops.convert_to_tensor([m * 255.0 for m in self.mean], self.compute_dtype)
        std = ops.convert_to_tensor([s * 255.0 for s in self.std], self.compute_dtype)
        return (x - mean) / std

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mean": list(self.mean), "std": list(self.std)}
