"""Train AuxLT (or a baseline) on a long-tailed data set.

    python train.py --flagfile=flags/cifar10_lt.cfg --data_dir=../shared/data/cifar10/cifar10_png.tar.gz
    python train.py --flagfile=flags/cifar10_lt_smoke.cfg      # a few hundred steps, < 3 minutes on a CPU
    auxlt-train --recipe=cifar10_lt --data_dir=DIR             # installed: a recipe by name, from any directory
    auxlt-train --list_recipes

Rerunning the same command after a crash resumes from the last checkpoint (epoch end, or every
--checkpoint_every_steps steps). Ctrl-C or SIGTERM stops after the current step with a checkpoint
of it, so the rerun resumes exactly there. A second stage (crt) with --stage_one_flagfile first trains
the run it starts from, if that has not finished (keras_auxlt.commands.stage_one).
"""

import os

from absl import app, flags

from keras_auxlt import flags as auxlt_flags
from keras_auxlt.commands.launch import define_recipe_flags, launch
from keras_auxlt.data.errors import DataError

auxlt_flags.define_train_flags()  # no TensorFlow yet: --help and a bad flag answer at once
define_recipe_flags()
FLAGS = flags.FLAGS


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {' '.join(argv[1:])}")
    from keras_auxlt.commands import stage_one
    from keras_auxlt.run_files import has_finished
    from keras_auxlt.training.config import ConfigError

    try:  # plain Python: a bad value is refused before TensorFlow loads
        config = auxlt_flags.run_config_from_flags().check()
        first = stage_one.command(config, FLAGS) if config.stage_one_flagfile else None  # checks the recipe
    except (ConfigError, DataError) as e:
        raise app.UsageError(str(e)) from None
    if first and not has_finished(config.init_from):  # in a process of its own, before this one loads TensorFlow
        code = stage_one.train(config, FLAGS)
        if code:
            raise SystemExit(code)
    from keras_auxlt.runtime import initialize_devices

    initialize_devices()  # before anything else touches TensorFlow's devices
    from keras_auxlt.training.callbacks import NonFiniteLossError
    from keras_auxlt.training.stop_signals import TrainingInterrupted
    from keras_auxlt.training.strategy import ClusterConfigError
    from keras_auxlt.training.trainer import run

    try:
        metrics = run(config)
    except (ConfigError, ClusterConfigError) as e:  # found once the strategy is known (replica count, TF_CONFIG)
        raise app.UsageError(str(e)) from None
    except (DataError, NonFiniteLossError) as e:
        raise SystemExit(f"error: {e}") from None
    except TrainingInterrupted as e:
        print(f"[train] {e}", flush=True)
        raise SystemExit(e.exit_status) from None
    if metrics:  # the chief, whose run directory holds the model (other workers of a cluster return none)
        print(export_hint(config.model_dir, argv[0]), flush=True)


def export_hint(model_dir, program):
    """The command that exports a finished run, as this one was started: installed (auxlt-train) or from a clone."""
    export = "auxlt-export" if os.path.basename(program).startswith("auxlt-") else "python -m export"
    name = os.path.basename(os.path.normpath(model_dir))
    return (f"[train] to export this run for TF Serving and ONNX: {export} --model_dir={model_dir} "
            f"--export_base=exports --model_name={name}")


def console():
    """The installed command (see pyproject.toml): the same main as `python -m` / the script."""
    launch(main, __doc__, auxlt_flags.TRAIN_FLAG_GROUPS, recipes=True)


if __name__ == "__main__":
    console()
