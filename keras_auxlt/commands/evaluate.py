"""Evaluate a trained run's primary head on the test split (and log its auxiliary heads).

    python evaluate.py --model_dir runs/cifar10_lt [--checkpoint auto|inference|best|last] [data flags]

Data flags default to those the run was trained with (its config.json); pass any of them to
evaluate elsewhere. Writes metrics.json (top-1, shot groups, ECE over 15 bins and NLL), test_predictions.npz (per
image: label, prediction, probability of the prediction and of the true class), per_class_accuracy.png,
confusion_matrix.png and reliability_diagram.png into --output_dir (default: the model dir).
"""

import os

from absl import app, flags

from keras_auxlt import flags as auxlt_flags
from keras_auxlt.commands.launch import launch
from keras_auxlt.data.errors import DataError
from keras_auxlt.run_files import CHECKPOINT_CHOICES, CHECKPOINT_HELP, RELIABILITY_PLOT

auxlt_flags.define_data_flags()
flags.DEFINE_string("model_dir", None, "Run directory written by train.py.", required=True)
flags.DEFINE_enum("checkpoint", "auto", list(CHECKPOINT_CHOICES), CHECKPOINT_HELP)
flags.DEFINE_string("split", "test", "Split to evaluate.")
flags.DEFINE_string("output_dir", "", "Where to write the report (default: --model_dir).")
FLAGS = flags.FLAGS


def data_config_for_run(resolved):
    """The run's data config, with any data flag given on this command line taking precedence."""
    import dataclasses

    from keras_auxlt.data.loading import DataConfig

    given = {name for name in DataConfig.__dataclass_fields__ if FLAGS[name].present}
    from_flags = auxlt_flags.data_config_from_flags()
    values = {name: getattr(from_flags, name) if name in given else resolved["data"][name]
              for name in DataConfig.__dataclass_fields__}
    return dataclasses.replace(from_flags, **values)


def main(argv):
    del argv
    from keras_auxlt import fingerprint
    from keras_auxlt.data.loading import load_split, make_source
    from keras_auxlt.data.pipeline import PipelineConfig
    from keras_auxlt.evaluation import evaluate, write_report
    from keras_auxlt.run_files import RunDirError, checkpoint_path, read_run_config
    from keras_auxlt.runtime import initialize_devices
    from keras_auxlt.training.saving import load_float32

    initialize_devices()
    try:
        resolved = read_run_config(FLAGS.model_dir)
        name, checkpoint = checkpoint_path(FLAGS.model_dir, FLAGS.checkpoint)
    except RunDirError as e:
        raise app.UsageError(f"--model_dir: {e}")
    data_config = data_config_for_run(resolved)
    pipeline = PipelineConfig(**resolved["pipeline"])
    try:
        split = load_split(make_source(data_config), FLAGS.split, data_config)
    except DataError as e:
        raise SystemExit(f"error: {e}")
    model = load_float32(checkpoint)  # evaluation in float32, whatever precision training used
    try:  # the network the run ended with, not only a file that loads
        fingerprint.check(os.path.dirname(checkpoint), name, model)
    except fingerprint.FingerprintMismatch as e:
        raise SystemExit(f"error: {e}")
    if model.num_classes != split.num_classes:
        raise SystemExit(f"error: the checkpoint has {model.num_classes} classes, split {split.where} has "
                         f"{split.num_classes}")
    evaluation = evaluate(model, split, resolved["derived"]["class_counts"], pipeline)
    metrics = evaluation.metrics
    output = FLAGS.output_dir or FLAGS.model_dir
    write_report(output, evaluation, extra={"checkpoint": name, "split": FLAGS.split})
    print(f"top-1 {metrics['overall']:.4f}  many {metrics['many']}  medium {metrics['medium']}  few {metrics['few']}  "
          f"ECE {100 * metrics['ece']:.2f} %  NLL {metrics['nll']:.4f}  aux heads {metrics['aux_heads_overall']}  "
          f"-> {os.path.join(output, 'metrics.json')}, {RELIABILITY_PLOT}")


def console():
    """The installed command (see pyproject.toml): the same main as `python -m` / the script."""
    launch(main, __doc__, {"run": ("model_dir", "checkpoint"), "data": ("split", *auxlt_flags.DATA_FLAGS),
                           "output": ("output_dir",)})


if __name__ == "__main__":
    console()
