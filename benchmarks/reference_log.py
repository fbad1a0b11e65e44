"""Test accuracy of a run of the public reference code (kaidic/LDAM-DRW, `cifar_train.py`), read from the
log_test.csv it writes: the figures that set our trainer beside the reference on the same data and schedule.

    ./run python -m benchmarks.reference_log --log=<root_log>/<store_name>/log_test.csv \
        --output=docs/results/200_epoch/jpeg-reference/ce/seed0/reference.json

The reference code tests on the test set after every epoch and reports "Best Prec@1", the highest of those,
which is what the published CE and LDAM-DRW figures are. This prints (and with --output writes as JSON) that
best-on-test epoch and the last epoch, each with its per-class accuracy and shot-group means, the groups
taken from the long-tailed training counts of the reference (exp profile, --n_max, --imbalance_ratio).
The reference code itself is not part of this repository; benchmarks/reference_code/ runs it (its README).
"""

import os
import re

import numpy as np
from absl import app, flags

from keras_auxlt.data.long_tail import long_tail_counts
from keras_auxlt.data.shots import SHOT_GROUPS, shot_group_masks
from keras_auxlt.run_files import write_json

flags.DEFINE_string("log", None, "log_test.csv of a cifar_train.py run.")
flags.DEFINE_string("output", "", "Also write the summary as JSON here.")
flags.DEFINE_integer("n_max", 5000, "Training images of the head class before the long-tailed selection.")
flags.DEFINE_float("imbalance_ratio", 100.0, "Imbalance ratio of the run (1 / its --imb_factor).")
FLAGS = flags.FLAGS

RESULTS = re.compile(r"^val Results: Prec@1 (?P<top1>[0-9.]+) ")
CLASS_ACCURACY = re.compile(r"^val Class Accuracy: \[(?P<values>[^\]]*)\]")


class ReferenceLogError(ValueError):
    """A log that is not a cifar_train.py log_test.csv, or a broken one; the message names file and line."""


def read_epochs(path):
    """[(top-1 %, per-class accuracy list)] per tested epoch, in order, from a log_test.csv."""
    epochs, pending = [], None
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if match := RESULTS.match(line):
                if pending is not None:
                    raise ReferenceLogError(f"{path}:{number}: a second 'val Results' line before the class "
                                            "accuracies of the first")
                pending = float(match["top1"])
            elif match := CLASS_ACCURACY.match(line):
                if pending is None:
                    raise ReferenceLogError(f"{path}:{number}: 'val Class Accuracy' without a 'val Results' line "
                                            "before it")
                try:
                    per_class = [float(v) for v in match["values"].split(",")]
                except ValueError:
                    raise ReferenceLogError(f"{path}:{number}: class accuracies are not numbers: "
                                            f"{match['values']!r}") from None
                epochs.append((pending, per_class))
                pending = None
    if not epochs:
        raise ReferenceLogError(f"{path}: no tested epoch (no 'val Results' and 'val Class Accuracy' lines): not a "
                                "log_test.csv of kaidic/LDAM-DRW cifar_train.py, or a run that has not finished an epoch")
    return epochs


def epoch_summary(number, top1, per_class, train_counts):
    """One epoch's figures: top-1 % as logged, per-class accuracy, and the mean of each shot group (test balanced)."""
    if len(per_class) != len(train_counts):
        raise ReferenceLogError(f"epoch {number}: {len(per_class)} class accuracies for {len(train_counts)} classes")
    accuracy = np.asarray(per_class)
    groups = {name: (float(accuracy[mask].mean()) if mask.any() else None)
              for name, mask in shot_group_masks(train_counts).items()}
    return {"epoch": number, "overall": top1 / 100, **{g: groups[g] for g in SHOT_GROUPS}, "per_class": per_class}


def summarize(path, n_max, imbalance_ratio):
    """The last epoch and the best-on-test epoch (the first of equals, as the reference keeps it), shot groups
    from the reference's exp-profile training counts for as many classes as the log has."""
    epochs = read_epochs(path)
    train_counts = long_tail_counts(n_max, len(epochs[0][1]), imbalance_ratio)
    best = max(range(len(epochs)), key=lambda i: (epochs[i][0], -i))
    return {"log": path, "epochs": len(epochs), "train_counts": list(train_counts),
            "last": epoch_summary(len(epochs), *epochs[-1], train_counts),
            "best_on_test": epoch_summary(best + 1, *epochs[best], train_counts),
            "top1_by_epoch": [top1 for top1, _ in epochs]}


def main(argv):
    del argv
    try:
        summary = summarize(FLAGS.log, FLAGS.n_max, FLAGS.imbalance_ratio)
    except (OSError, ReferenceLogError) as e:
        raise SystemExit(f"[reference_log] {e}") from None
    for label, key in (("last epoch", "last"), ("best on test (the reference's 'Best Prec@1')", "best_on_test")):
        s = summary[key]
        groups = ", ".join(f"{g} {100 * s[g]:.1f}" for g in SHOT_GROUPS if s[g] is not None)
        print(f"{label}: epoch {s['epoch']} of {summary['epochs']}, top-1 {100 * s['overall']:.2f} ({groups}); "
              f"per class {' '.join(f'{a:.2f}' for a in s['per_class'])}")
    if FLAGS.output:
        os.makedirs(os.path.dirname(os.path.abspath(FLAGS.output)), exist_ok=True)
        write_json(FLAGS.output, summary)
        print(f"[reference_log] wrote {FLAGS.output}")


if __name__ == "__main__":
    flags.mark_flag_as_required("log")
    app.run(main)
