"""The layout of a train.py run directory (the one place it is written down), and reading it back.

    <model_dir>/config.json                 resolved configuration (+ "derived": class names, counts, ..., "code")
    <model_dir>/checkpoints/last.keras      model + optimizer after the last epoch (or step checkpoint)
    <model_dir>/checkpoints/state.json      the step and epoch reached, the best validation score
    <model_dir>/checkpoints/best.keras      best on validation (only when the data has a val split)
    <model_dir>/checkpoints/inference.keras the selected one (best, else last) with BatchNorm statistics
                                            re-estimated after training (--inference_statistics other than as_trained)
    <model_dir>/checkpoints/fingerprint.json what each checkpoint above predicted on fixed probe images when
                                            training ended (keras_auxlt.fingerprint; export checks it)
    <model_dir>/logs/                       TensorBoard
    <model_dir>/metrics.json                the test report, with per_class_accuracy.png, confusion_matrix.png
                                            and confusion_matrix.npy beside it
"""

import json
import os

CONFIG_FILE = "config.json"
CHECKPOINT_DIR = "checkpoints"
STATE_FILE = "state.json"
LOG_DIR = "logs"
METRICS_FILE = "metrics.json"
PER_CLASS_PLOT = "per_class_accuracy.png"
CONFUSION_PLOT = "confusion_matrix.png"
CONFUSION_MATRIX = "confusion_matrix.npy"
# Per evaluated image: label, prediction, probability of the prediction and of the true class (compressed NumPy;
# keras_auxlt.calibration.per_image), and the reliability diagram drawn from it.
PREDICTIONS_FILE = "test_predictions.npz"
RELIABILITY_PLOT = "reliability_diagram.png"
LAST_CHECKPOINT = "last.keras"
BEST_CHECKPOINT = "best.keras"
# The selected checkpoint with BatchNorm statistics re-estimated after training (--inference_statistics);
# never resumed from.
INFERENCE_CHECKPOINT = "inference.keras"
FINGERPRINT_FILE = "fingerprint.json"
CHECKPOINT_CHOICES = ("auto", "inference", "best", "last")
CHECKPOINT_HELP = ("auto: inference.keras (statistics re-estimated by --inference_statistics) if there is one, "
                   "else best.keras (best on validation) if there is one, else last.keras.")
# Checkpoints with the statistics training left (for tools that re-estimate statistics themselves).
TRAINED_CHECKPOINT_CHOICES = ("auto", "best", "last")


class RunDirError(ValueError):
    """A model dir that is not a usable train.py run directory."""


def read_run_config(model_dir):
    """The resolved config.json of a run; RunDirError naming the path when it is missing or broken."""
    path = os.path.join(model_dir, CONFIG_FILE)
    if not os.path.isdir(model_dir):
        raise RunDirError(f"model dir {model_dir!r} does not exist")
    if not os.path.isfile(path):
        raise RunDirError(f"model dir {model_dir!r}: no {CONFIG_FILE} (not a train.py run directory)")
    try:
        with open(path) as f:
            return json.load(f)
    except json.JSONDecodeError as e:
        raise RunDirError(f"{path}: not valid JSON (line {e.lineno}: {e.msg})") from e


def has_finished(model_dir):
    """Whether a run finished: its test report, written once training and evaluation are done."""
    return os.path.isfile(os.path.join(model_dir, METRICS_FILE))


def progress(model_dir):
    """"step S of T" that a run's last checkpoint reached, from state.json and config.json ("" if unknown)."""
    try:
        with open(os.path.join(model_dir, CHECKPOINT_DIR, STATE_FILE)) as f:
            step = json.load(f)["step"]
        total = read_run_config(model_dir)["derived"]["total_steps"]
    except (OSError, KeyError, TypeError, ValueError, RunDirError):
        return ""
    return f"step {step:,} of {total:,}"


def write_json(path, value, indent=2):
    """Write through a temporary file and a rename: a crash leaves the old file or the new one, never half."""
    with open(path + ".tmp", "w") as f:
        json.dump(value, f, indent=indent)
    os.replace(path + ".tmp", path)


def checkpoint_path(model_dir, which="auto", as_trained=False):
    """(name, path) of the checkpoint to use. auto: the first there is of inference.keras (the model the
    run evaluated, when it re-estimated statistics), best.keras, last.keras; `as_trained`: never inference.keras."""
    choices = TRAINED_CHECKPOINT_CHOICES if as_trained else CHECKPOINT_CHOICES
    if which not in choices:
        raise RunDirError(f"Unknown checkpoint choice. Accepted: {', '.join(choices)}. Received: {which!r}")
    checkpoints = os.path.join(model_dir, CHECKPOINT_DIR)
    name = {"inference": INFERENCE_CHECKPOINT, "best": BEST_CHECKPOINT, "last": LAST_CHECKPOINT}.get(which)
    if name is None:
        candidates = (BEST_CHECKPOINT,) if as_trained else (INFERENCE_CHECKPOINT, BEST_CHECKPOINT)
        name = next((c for c in candidates if os.path.isfile(os.path.join(checkpoints, c))), LAST_CHECKPOINT)
    path = os.path.join(checkpoints, name)
    if not os.path.isfile(path):
        raise RunDirError(f"model dir {model_dir!r}: no checkpoint {path} (has training saved an epoch yet?)")
    return name, path


def checkpoint_dir(model_dir):
    return os.path.join(model_dir, CHECKPOINT_DIR)
