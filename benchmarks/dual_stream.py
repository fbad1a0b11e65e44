"""Dual-stream efficiency: one AuxLT step on B + B images against one plain CE step on 2B images.

    ./run python -m benchmarks.dual_stream [--batch_size 128] [--steps 20]

Same backbone (ResNet-32), same optimiser, both through `fit` on constant in-memory batches so
only the step itself is timed, alternated in one process. Target ratio <= 1.10.
"""

import keras
import numpy as np
from absl import app, flags

from benchmarks.common import alternating_step_times, constant_batches, machine, print_step_times, ratio_line
from keras_auxlt.models.auxlt_model import AuxLTModel

flags.DEFINE_integer("batch_size", 128, "B: images per stream in the AuxLT step (the CE step gets 2B).")
flags.DEFINE_integer("steps", 20, "Timed steps per measurement.")
flags.DEFINE_integer("rounds", 5, "Alternating rounds; the ratio is reported per round (median and range).")
flags.DEFINE_string("backbone", "resnet32", "Backbone.")
FLAGS = flags.FLAGS


def compiled(aux_tasks):
    model = AuxLTModel(backbone=FLAGS.backbone, num_classes=10, aux_tasks=aux_tasks, weight_decay=2e-4)
    model.build((None, 32, 32, 3))
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), jit_compile=False)
    return model


def main(argv):
    del argv
    rng = np.random.default_rng(0)
    b = FLAGS.batch_size
    images = lambda n: rng.uniform(0, 255, (n, 32, 32, 3)).astype(np.float32)  # noqa: E731
    labels = lambda n: rng.integers(0, 10, n).astype(np.int64)  # noqa: E731
    dual = constant_batches(((images(b), labels(b)), (images(b), labels(b))))
    single = constant_batches((images(2 * b), labels(2 * b)))
    runs = {"auxlt (B + B)": (compiled(("random",)), dual), "ce (2B)": (compiled(()), single)}
    fits = {name: (lambda steps, model=model, data=data: model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0,
                                                                   shuffle=False))
            for name, (model, data) in runs.items()}
    ms = alternating_step_times(fits, FLAGS.rounds, FLAGS.steps)
    print(f"machine: {machine()}; backbone {FLAGS.backbone}, B = {b}, {FLAGS.rounds} rounds of {FLAGS.steps} steps")
    print_step_times(ms, 2 * b, width=14)
    print(ratio_line("ratio auxlt / ce step time", ms["auxlt (B + B)"], ms["ce (2B)"]))


if __name__ == "__main__":
    app.run(main)
