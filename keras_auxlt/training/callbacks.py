"""Callbacks: crash-safe checkpoints, best-on-validation selection, a guard against NaN losses."""

import json
import math
import os

import keras

from keras_auxlt.run_files import BEST_CHECKPOINT, LAST_CHECKPOINT

STATE_FILE = "state.json"


class NonFiniteLossError(RuntimeError):
    """A training loss became NaN or infinite."""


def atomic_save(model, path):
    """Save to a temporary file, then rename: a crash never leaves a half-written checkpoint."""
    tmp = path + ".tmp.keras"
    model.save(tmp)
    os.replace(tmp, path)


def read_state(checkpoint_dir):
    path = os.path.join(checkpoint_dir, STATE_FILE)
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def write_state(checkpoint_dir, state):
    path = os.path.join(checkpoint_dir, STATE_FILE)
    with open(path + ".tmp", "w") as f:
        json.dump(state, f, indent=2)
    os.replace(path + ".tmp", path)


class TrainingCheckpoint(keras.callbacks.Callback):
    """Model + optimizer state to last.keras after every epoch (and every `every_steps` steps), then
    the step reached to state.json.

    A rerun of the same command loads last.keras and resumes at its optimizer step, mid-epoch
    included; since the data streams are functions of the step, it sees exactly the batches the
    first run would have. With a validation split, the model scoring best on `monitor` at the end
    of an epoch is kept as best.keras.
    """

    def __init__(self, checkpoint_dir, monitor="val_primary_acc", every_steps=0):
        super().__init__()
        self.checkpoint_dir = checkpoint_dir
        self.monitor = monitor
        self.every_steps = int(every_steps)
        os.makedirs(checkpoint_dir, exist_ok=True)
        state = read_state(checkpoint_dir) or {}
        self.best = state.get("best_value", -math.inf)
        self.best_epoch = state.get("best_epoch")

    def on_train_batch_end(self, batch, logs=None):
        if not self.every_steps or batch + 1 >= self.params.get("steps", 0):
            return  # no step checkpoints asked for, or the epoch end saves anyway
        if int(self.model.optimizer.iterations.numpy()) % self.every_steps == 0:
            self._save(logs, epoch=None)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        value = logs.get(self.monitor)
        if value is not None and float(value) > self.best:
            self.best, self.best_epoch = float(value), epoch + 1
            atomic_save(self.model, os.path.join(self.checkpoint_dir, BEST_CHECKPOINT))
        self._save(logs, epoch + 1)

    def _save(self, logs, epoch):
        atomic_save(self.model, os.path.join(self.checkpoint_dir, LAST_CHECKPOINT))
        write_state(self.checkpoint_dir, {
            "epoch": epoch, "step": int(self.model.optimizer.iterations.numpy()),
            "best_value": None if self.best == -math.inf else self.best, "best_epoch": self.best_epoch,
            "monitor": self.monitor, "logs": {k: float(v) for k, v in (logs or {}).items()},
        })


class NonFiniteLossGuard(keras.callbacks.Callback):
    """Stop at the first step whose losses are not finite, naming the loss and the step.

    Raising (rather than setting stop_training) skips on_epoch_end, so the last good
    checkpoint is not overwritten.
    """

    def __init__(self, checkpoint_dir=""):
        super().__init__()
        self.checkpoint_dir = checkpoint_dir

    def on_train_batch_end(self, batch, logs=None):
        for name, value in (logs or {}).items():
            if name.endswith("loss") and not math.isfinite(float(value)):
                step = int(self.model.optimizer.iterations.numpy())
                raise NonFiniteLossError(
                    f"Training stopped: {name} went {float(value)} at step {step} (batch {batch + 1} of this epoch). "
                    f"The last good checkpoint in {self.checkpoint_dir or 'the model dir'} is left as it was.")
