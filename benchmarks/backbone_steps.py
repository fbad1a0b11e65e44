"""The cost of each candidate backbone for a data set: one AuxLT training step, its 200-epoch projection, and the
size of a resumable checkpoint (weights and SGD momentum, as last.keras saves them).

    ./run python -m benchmarks.backbone_steps --backbones=resnet32@32,resnet32_s2,resnet44_s2,resnet56_s2 \
        --image_size=64 --num_classes=200 --train_images=21539

A backbone written `name@size` trains on size x size images instead of --image_size (resnet32@32: the CIFAR step, the
yardstick whose whole-run speed is known).

Each backbone trains through `fit` on one constant in-memory dual-stream batch (B + B images), alternated round by
round with the others in one process, with tf.data's autotuning off (with it on, some `fit` calls on a constant
batch run about twice as slow: docs/performance.md). The projection counts training steps only (no pipeline,
evaluation or checkpoints, which whole runs add: CIFAR-10-LT's ran at 0.7-0.9 of their step rate).
"""

import os
import tempfile

import keras
import numpy as np
from absl import app, flags

from benchmarks.common import alternating_step_times, constant_batches, machine
from keras_auxlt.data.config import steps_per_epoch
from keras_auxlt.models.auxlt_model import AuxLTModel

flags.DEFINE_list("backbones", ["resnet32@32", "resnet32_s2", "resnet44_s2", "resnet56_s2"],
                  "Candidate backbones, each `name` or `name@image size`.")
flags.DEFINE_integer("image_size", 64, "Input side in pixels.")
flags.DEFINE_integer("num_classes", 200, "Classes of the heads.")
flags.DEFINE_integer("train_images", 21_539, "Training images: an epoch is train_images / B steps.")
flags.DEFINE_integer("epochs", 200, "Epochs of the projected run.")
flags.DEFINE_integer("batch_size", 128, "B: images per stream.")
flags.DEFINE_integer("steps", 10, "Timed steps per measurement.")
flags.DEFINE_integer("rounds", 4, "Alternating rounds.")
FLAGS = flags.FLAGS


def compiled(backbone, size):
    model = AuxLTModel(backbone=backbone, num_classes=FLAGS.num_classes, image_size=size, aux_tasks=("random",),
                       weight_decay=2e-4)
    model.build((None, size, size, 3))
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), jit_compile=False)
    return model


def checkpoint_megabytes(model):
    path = os.path.join(tempfile.mkdtemp(), "last.keras")
    model.save(path)
    return os.path.getsize(path) / 1e6


def dual_batch(size, rng):
    """One dual-stream batch of random pixels and labels."""
    batch = lambda: (rng.uniform(0, 255, (FLAGS.batch_size, size, size, 3)).astype(np.float32),  # noqa: E731
                     rng.integers(0, FLAGS.num_classes, FLAGS.batch_size).astype(np.int64))
    return batch(), batch()


def main(argv):
    del argv
    rng = np.random.default_rng(0)
    b = FLAGS.batch_size
    sizes = {entry: int(entry.partition("@")[2] or FLAGS.image_size) for entry in FLAGS.backbones}
    models = {entry: compiled(entry.partition("@")[0], size) for entry, size in sizes.items()}
    data = {size: constant_batches(dual_batch(size, rng)) for size in set(sizes.values())}
    fits = {entry: (lambda steps, model=model, size=sizes[entry]: model.fit(data[size], steps_per_epoch=steps, epochs=1,
                                                                            verbose=0, shuffle=False))
            for entry, model in models.items()}
    ms = alternating_step_times(fits, FLAGS.rounds, FLAGS.steps)
    steps = steps_per_epoch(FLAGS.train_images, b) * FLAGS.epochs
    print(f"machine: {machine()}; AuxLT step (B = {b} + {b} images, {FLAGS.num_classes} classes), {FLAGS.rounds} "
          f"rounds of {FLAGS.steps} steps, alternated; projection: {FLAGS.epochs} epochs of {FLAGS.train_images:,} "
          f"images = {steps:,} steps")
    first = FLAGS.backbones[0]
    for entry, values in ms.items():
        best = min(values)
        ratios = np.array(values) / np.array(ms[first])
        print(f"{entry:>14} at {sizes[entry]}x{sizes[entry]}: best {best:6.0f} ms/step ({2 * b * 1000 / best:4.0f} "
              f"images/s), x{np.median(ratios):.2f} of {first} (per round {ratios.min():.2f}-{ratios.max():.2f}); "
              f"{FLAGS.epochs} epochs {steps * best / 3.6e6:4.1f} h of steps; {models[entry].count_params() / 1e6:.2f} M "
              f"parameters, checkpoint {checkpoint_megabytes(models[entry]):.1f} MB")


if __name__ == "__main__":
    app.run(main)
