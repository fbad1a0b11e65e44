"""Training step time in float32 against mixed bfloat16 (or float16), side by side.

    ./run python -m benchmarks.precision [--precision bfloat16] [--batch_size 128] [--steps 10]

The same AuxLT model (ResNet-32, random auxiliary head) built twice, once under the float32 policy and
once under `mixed_<precision>` (what train.py's --mixed_precision sets), trained through `fit` on a
constant in-memory dual-stream batch so only the step is timed, alternated round by round in one
process (this VM's speed drifts). Whether mixed precision is faster depends on the CPU: bfloat16 needs
AVX512-BF16 or AMX to gain.
"""

import keras
import numpy as np
from absl import app, flags

from benchmarks.common import alternating_step_times, constant_batches, machine, print_step_times, ratio_line
from keras_auxlt.choices import PRECISIONS
from keras_auxlt.models.auxlt_model import AuxLTModel
from keras_auxlt.training.optimizers import TorchSGD

flags.DEFINE_enum("precision", "bfloat16", [p for p in PRECISIONS if p != "off"], "Mixed precision to compare.")
flags.DEFINE_string("backbone", "resnet32", "Backbone.")
flags.DEFINE_integer("batch_size", 128, "Images per stream (an AuxLT step feeds B + B).")
flags.DEFINE_integer("steps", 10, "Timed steps per measurement.")
flags.DEFINE_integer("rounds", 5, "Alternating rounds.")
FLAGS = flags.FLAGS


def compiled(policy):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        model = AuxLTModel(backbone=FLAGS.backbone, num_classes=10, aux_tasks=("random",), weight_decay=2e-4)
        model.build((None, 32, 32, 3))
        model.compile(optimizer=TorchSGD(0.01, momentum=0.9), jit_compile=False)
    finally:
        keras.config.set_dtype_policy(previous)
    return model


def main(argv):
    del argv
    rng = np.random.default_rng(0)
    b = FLAGS.batch_size
    batch = lambda: (rng.uniform(0, 255, (b, 32, 32, 3)).astype(np.float32), rng.integers(0, 10, b))  # noqa: E731
    data = constant_batches((batch(), batch()))
    mixed = f"mixed {FLAGS.precision}"
    models = {"float32": compiled("float32"), mixed: compiled(f"mixed_{FLAGS.precision}")}
    fits = {name: (lambda steps, model=model: model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0,
                                                        shuffle=False))
            for name, model in models.items()}
    ms = alternating_step_times(fits, FLAGS.rounds, FLAGS.steps)
    print(f"machine: {machine()}; AuxLT {FLAGS.backbone}, B = {b} + {b}, {FLAGS.rounds} rounds of {FLAGS.steps} steps")
    print_step_times(ms, 2 * b)
    print(ratio_line(f"speed-up of {mixed} (step time float32 / {FLAGS.precision})", ms["float32"], ms[mixed],
                     digits=2))


if __name__ == "__main__":
    app.run(main)
