"""A two-stage recipe in one command: train.py trains the run a second stage starts from, then the stage.

Method crt freezes the backbone of a finished run, `--init_from`. With `--stage_one_flagfile=RECIPE`, a run
there that has not finished is trained first (or resumed):

    python -m keras_auxlt.commands.train --flagfile=RECIPE <this command's SHARED_FLAGS> --model_dir=<init_from>

in a process of its own, then the second stage runs here. Both stages must read the same images with the same
seed, so the stage-one command takes this command's data flags, seed and device flags (SHARED_FLAGS, their
resolved values) over its recipe's; everything else (method, schedule, mixup) is the recipe's. A signal to this
process reaches the stage-one process, which checkpoints and stops; rerunning the command resumes whichever
stage was under way. A recipe path that does not exist here (`flags/x.cfg` run outside a clone) is taken from
the installed recipes by its name.
"""

import os
import sys

from keras_auxlt.commands import recipes as recipe_files
from keras_auxlt.flags import DATA_FLAGS
from keras_auxlt.training.config import ConfigError

# The flags whose values the first stage takes from the second's command: what data, which seed, on what devices.
SHARED_FLAGS = (*DATA_FLAGS, "image_size", "seed", "strategy", "mixed_precision", "deterministic",
                "checkpoint_every_steps", "verbose")
PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def recipe_argument(flagfile):
    """`--flagfile=PATH` if the file exists, else `--recipe=NAME` for an installed recipe of that file name."""
    if os.path.isfile(flagfile):
        return f"--flagfile={flagfile}"
    name = os.path.basename(flagfile)
    name = name[:-len(recipe_files.SUFFIX)] if name.endswith(recipe_files.SUFFIX) else name
    if name in recipe_files.names():
        return f"--recipe={name}"
    raise ConfigError(f"--stage_one_flagfile: no file {flagfile!r}, and no installed recipe named {name!r} "
                      f"(known: {', '.join(recipe_files.names())}). Received: --stage_one_flagfile={flagfile!r}")


def command(config, flag_values):
    """The argv that trains (or resumes) `config.init_from` from its recipe, with `flag_values`' SHARED_FLAGS."""
    shared = [flag_values[name].serialize() for name in SHARED_FLAGS]
    return [sys.executable, "-m", "keras_auxlt.commands.train", recipe_argument(config.stage_one_flagfile), *shared,
            f"--model_dir={config.init_from}"]


def environment():
    """This process's environment, with the package importable in the child wherever the command runs from."""
    path = os.environ.get("PYTHONPATH", "")
    return {**os.environ, "PYTHONPATH": PACKAGE_ROOT + (os.pathsep + path if path else "")}


def train(config, flag_values):
    """Train or resume the first stage, passing SIGINT / SIGTERM on to it; its exit status (0: it finished)."""
    from keras_auxlt.run_files import progress
    from keras_auxlt.training.stop_signals import wait_forwarding_signals

    argv = command(config, flag_values)
    reached = progress(config.init_from)
    print(f"[train] stage one: {config.init_from} has not finished"
          f"{f' ({reached})' if reached else ''}: {'resuming' if reached else 'training'} it first with "
          f"{' '.join(argv[1:])}", flush=True)
    code = wait_forwarding_signals(argv, env=environment())
    if code:
        print(f"[train] stage one stopped (exit status {code}): rerun this command to resume it", flush=True)
    else:
        print(f"[train] stage one finished: {config.init_from}; now stage two", flush=True)
    return code
