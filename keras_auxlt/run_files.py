"""Reading a train.py run directory: its resolved configuration and which checkpoint to use.

    <model_dir>/config.json                 resolved configuration (+ "derived": class names, counts, ...)
    <model_dir>/checkpoints/best.keras      best on validation (only when the data has a val split)
    <model_dir>/checkpoints/last.keras      last epoch
"""

import json
import os

from keras_auxlt.training.callbacks import BEST_CHECKPOINT, LAST_CHECKPOINT

CONFIG_FILE = "config.json"
CHECKPOINT_CHOICES = ("auto", "best", "last")


class RunDirError(ValueError):
    """A model dir that is not a usable train.py run directory."""


def read_run_config(model_dir):
    """The resolved config.json of a run; RunDirError naming the path when it is missing or broken."""
    path = os.path.join(model_dir, CONFIG_FILE)
    if not os.path.isfile(path):
        raise RunDirError(f"model dir {model_dir!r}: no {CONFIG_FILE} (not a train.py run directory)")
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise RunDirError(f"{path}: not valid JSON (line {e.lineno}: {e.msg})") from e


def checkpoint_path(model_dir, which="auto"):
    """(name, path) of the checkpoint to use. auto: best.keras when there is one, else last.keras."""
    if which not in CHECKPOINT_CHOICES:
        raise RunDirError(f"Unknown checkpoint choice. Accepted: {', '.join(CHECKPOINT_CHOICES)}. Received: {which!r}")
    checkpoints = os.path.join(model_dir, "checkpoints")
    name = {"best": BEST_CHECKPOINT, "last": LAST_CHECKPOINT}.get(which)
    if name is None:
        name = BEST_CHECKPOINT if os.path.isfile(os.path.join(checkpoints, BEST_CHECKPOINT)) else LAST_CHECKPOINT
    path = os.path.join(checkpoints, name)
    if not os.path.isfile(path):
        raise RunDirError(f"model dir {model_dir!r}: no checkpoint {path} (has training saved an epoch yet?)")
    return name, path
