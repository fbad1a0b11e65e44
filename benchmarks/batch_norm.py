"""BatchNorm implementations side by side: Keras 3's layer against FusedBatchNormalization.

    ./run python -m benchmarks.batch_norm [--backbone resnet32] [--batch_size 256] [--steps 10]

The same backbone built twice, once with keras_auxlt's FusedBatchNormalization (what every
backbone uses; TensorFlow's fused kernel in training) and once with keras.layers.BatchNormalization
(Keras 3's separate moments-then-normalise ops), each with a linear head and a cross-entropy loss,
trained through `fit` on a constant in-memory batch so only the step is timed. The two alternate
in one process, round by round (this VM's speed drifts); the ratio is reported per round.
"""

import keras
import numpy as np
import tensorflow as tf
from absl import app, flags

from benchmarks.common import machine, timed_rate
from keras_auxlt.models.backbones import build_backbone
from keras_auxlt.models.layers import FusedBatchNormalization, replace_batch_norm

flags.DEFINE_string("backbone", "resnet32", "Backbone.")
flags.DEFINE_integer("image_size", 32, "Square input size.")
flags.DEFINE_integer("batch_size", 256, "Images per step (an AuxLT step on CIFAR feeds 128 + 128).")
flags.DEFINE_integer("steps", 10, "Timed steps per measurement.")
flags.DEFINE_integer("rounds", 5, "Alternating rounds.")
FLAGS = flags.FLAGS


def compiled(norm_class):
    backbone = replace_batch_norm(build_backbone(FLAGS.backbone, (FLAGS.image_size,) * 2 + (3,)), norm_class)
    inputs = keras.Input(backbone.input_shape[1:])
    model = keras.Model(inputs, keras.layers.Dense(10)(backbone(inputs)))
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), jit_compile=False,
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def main(argv):
    del argv
    rng = np.random.default_rng(0)
    b, size = FLAGS.batch_size, FLAGS.image_size
    data = tf.data.Dataset.from_tensors((rng.normal(size=(b, size, size, 3)).astype(np.float32),
                                         rng.integers(0, 10, b).astype(np.int64))).repeat()
    models = {"fused": compiled(FusedBatchNormalization), "keras": compiled(keras.layers.BatchNormalization)}
    for model in models.values():
        model.fit(data, steps_per_epoch=3, epochs=1, verbose=0)  # trace and warm up
    ms = {name: [] for name in models}
    for _ in range(FLAGS.rounds):
        for name, model in models.items():
            rate = timed_rate(lambda: model.fit(data, steps_per_epoch=FLAGS.steps, epochs=1, verbose=0), FLAGS.steps,
                              repeats=1)
            ms[name].append(1000.0 / rate)
    print(f"machine: {machine()}; backbone {FLAGS.backbone}, {b} images of {size}x{size} per step, "
          f"{FLAGS.rounds} rounds of {FLAGS.steps} steps")
    for name, values in ms.items():
        best = min(values)
        print(f"{name + ' BatchNorm':>16}: best {best:7.1f} ms/step ({b * 1000 / best:,.0f} images/s), median "
              f"{np.median(values):7.1f} ms/step")
    ratios = np.array(ms["keras"]) / np.array(ms["fused"])
    print(f"speed-up fused over keras (step time keras / fused): median {np.median(ratios):.2f} "
          f"(per round {ratios.min():.2f} - {ratios.max():.2f}), best-to-best {min(ms['keras']) / min(ms['fused']):.2f}")


if __name__ == "__main__":
    app.run(main)
