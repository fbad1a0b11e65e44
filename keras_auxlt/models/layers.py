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
    return FusedBatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, synchronized=synchronized, name=name)


def replace_batch_norm(model, layer_class):
    """A copy of the functional `model` (freshly initialised) with every BatchNormalization layer
    rebuilt from its config as `layer_class`; the other layers are rebuilt unchanged."""
    def rebuild(layer):
        if isinstance(layer, keras.layers.BatchNormalization):
            return layer_class.from_config(layer.get_config())
        return layer.__class__.from_config(layer.get_config())

    return keras.models.clone_model(model, clone_function=rebuild)


@keras.saving.register_keras_serializable(package="keras_auxlt")
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """Keras's BatchNormalization whose training-mode pass is TensorFlow's fused kernel.

    Keras 3 builds training-mode BatchNorm from separate ops (moments, then the normalisation);
    `FusedBatchNormV3`, what tf.keras used by default, does the forward pass and its gradient in one
    kernel each, which makes a ResNet-32 step 1.33x faster on CPU (docs/experiments/2026-11-28-fused-batch-norm.md).
    Same weights, same moving-average update (Keras's, with the biased batch variance), same
    inference path. Anything the kernel does not cover (another backend or axis, masks,
    synchronized statistics, renorm, non-float32 inputs, a frozen layer) runs Keras's own code.
    """

    def _runs_fused(self, inputs, training, mask):
        return (bool(training) and self.trainable and mask is None and not self.synchronized and not self.renorm
                and self.scale and self.center and keras.backend.backend() == "tensorflow"
                and len(inputs.shape) == 4 and self.axis in (3, -1) and inputs.dtype == "float32")

    def call(self, inputs, training=None, mask=None):
        if not self._runs_fused(inputs, training, mask):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        empty = tf.zeros([0], tf.float32)
        outputs, mean, variance, *_ = tf.raw_ops.FusedBatchNormV3(
            x=inputs, scale=tf.convert_to_tensor(self.gamma), offset=tf.convert_to_tensor(self.beta), mean=empty,
            variance=empty, epsilon=self.epsilon, exponential_avg_factor=1.0, data_format="NHWC", is_training=True)
        # The kernel returns the Bessel-corrected variance; Keras's moving average takes the biased one.
        count = tf.cast(tf.size(inputs) // tf.shape(inputs)[-1], tf.float32)
        variance = variance * (count - 1.0) / count
        self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
        self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        return outputs


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


@keras.saving.register_keras_serializable(package="keras_auxlt")
class UnitColumnsUniform(keras.initializers.Initializer):
    """Uniform in [-1, 1], then every column (one class's weights) rescaled to unit L2 norm, as kaidic/LDAM-DRW's
    `NormedLinear` starts its weight: `uniform_(-1, 1).renorm_(2, 1, 1e-5).mul_(1e5)` (torch's renorm scales a
    column whose norm exceeds 1e-5 by 1e-5 / (norm + 1e-7)). Code of before 2026-12-08 left the columns uniform,
    at a norm of about sqrt(d / 3) (4.6 for a 64-d feature), so that under SGD with weight decay the classifier's
    first directional steps were about 20x smaller than the reference's."""

    MAX_NORM, SCALE, EPSILON = 1e-5, 1e5, 1e-7  # torch.renorm's arguments and its guard

    def __init__(self, seed=None):
        self.seed = seed

    def __call__(self, shape, dtype=None):
        uniform = keras.initializers.RandomUniform(-1.0, 1.0, seed=self.seed)(shape, dtype=dtype)
        norm = ops.sqrt(ops.sum(ops.square(uniform), axis=0, keepdims=True))
        factor = ops.where(norm > self.MAX_NORM, self.MAX_NORM / (norm + self.EPSILON), ops.ones_like(norm))
        return uniform * factor * self.SCALE

    def get_config(self):
        return {"seed": self.seed}


@keras.saving.register_keras_serializable(package="keras_auxlt")
class CosineDense(keras.layers.Layer):
    """`scale * cos(x, w_c)` for every class c: LDAM's normalised linear classifier (no bias).

    As kaidic/LDAM-DRW's `NormedLinear`: the feature rows and the class columns of the kernel are
    divided by their L2 norms (at least 1e-12), and the kernel starts with unit-norm class columns
    (`UnitColumnsUniform`). The reference layer returns the cosines and its loss multiplies them by s;
    here the layer does, so the logits it serves are the ones the loss trained (softmax of s * cos) and
    argmax is unchanged.
    """

    def __init__(self, units, scale, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)
        self.scale = float(scale)

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel",
                                      initializer=UnitColumnsUniform())

    def call(self, x):
        kernel = ops.cast(self.kernel, x.dtype)
        return self.scale * ops.matmul(_unit(x, axis=-1), _unit(kernel, axis=0))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "scale": self.scale}


@keras.saving.register_keras_serializable(package="keras_auxlt")
class ScaledDense(keras.layers.Layer):
    """`scale_c * (x w_c + b_c)` for every class c: a linear classifier with MiSLAS's learnable weight scaling.

    As dvlab-research/MiSLAS's stage 2 (`methods.LearnableWeightScaling` after its `Classifier`): one
    learnable factor per class, starting at 1, multiplies the linear layer's logits. Kernel and bias are
    named as a Dense layer's, so a first stage's linear classifier copies into them.
    """

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = int(units)

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel", initializer=conv_init())
        self.bias = self.add_weight(shape=(self.units,), name="bias", initializer="zeros")
        self.scale = self.add_weight(shape=(self.units,), name="scale", initializer="ones")

    def call(self, x):
        kernel, bias, scale = (ops.cast(w, x.dtype) for w in (self.kernel, self.bias, self.scale))
        return scale * (ops.matmul(x, kernel) + bias)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def _unit(x, axis):
    """x / max(||x||_2, 1e-12) along `axis`, as torch.nn.functional.normalize."""
    norm = ops.sqrt(ops.sum(ops.square(x), axis=axis, keepdims=True))
    return x / ops.maximum(norm, 1e-12)
