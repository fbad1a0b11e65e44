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

from benchmarks.common import alternating_step_times, machine, print_step_times, ratio_line
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
    fits = {name: (lambda steps, model=model: model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0))
            for name, model in models.items()}
    ms = alternating_step_times(fits, FLAGS.rounds, FLAGS.steps)
    print(f"machine: {machine()}; backbone {FLAGS.backbone}, {b} images of {size}x{size} per step, "
          f"{FLAGS.rounds} rounds of {FLAGS.steps} steps")
    print_step_times({f"{name} BatchNorm": values for name, values in ms.items()}, b)
    print(ratio_line("speed-up fused over keras (step time keras / fused)", ms["keras"], ms["fused"], digits=2))


if __name__ == "__main__":
    app.run(main)
