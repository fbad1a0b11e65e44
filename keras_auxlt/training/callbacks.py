"""Callbacks: crash-safe checkpoints, best-on-validation selection, a guard against NaN losses."""

import json
import math
import os
import signal
import time

import keras

from keras_auxlt.run_files import BEST_CHECKPOINT, LAST_CHECKPOINT, STATE_FILE, write_json
from keras_auxlt.training.stop_signals import TrainingInterrupted


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
    write_json(os.path.join(checkpoint_dir, STATE_FILE), state)


class TrainingCheckpoint(keras.callbacks.Callback):
    """Model + optimizer state to last.keras after every epoch (and every `every_steps` steps), then
    the step reached to state.json.

    A rerun of the same command loads last.keras and resumes at its optimizer step, mid-epoch
    included; since the data streams are functions of the step, it sees exactly the batches the
    first run would have. With a validation split, the model scoring best on `monitor` at the end
    of an epoch is kept as best.keras.

    After `request_stop(signum)` (see stop_signals.py) the next step's end saves last.keras and raises
    TrainingInterrupted.
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
        self.stop_requested = None

    def request_stop(self, signum):
        self.stop_requested = signum

    def on_train_batch_end(self, batch, logs=None):
        if self.stop_requested:
            self._save(logs, epoch=None)
            step = int(self.model.optimizer.iterations.numpy())
            raise TrainingInterrupted(
                f"training stopped by {signal.Signals(self.stop_requested).name} at step {step:,} (batch {batch + 1} "
                f"of this epoch), saved to {os.path.join(self.checkpoint_dir, LAST_CHECKPOINT)}: rerun the same "
                "command to resume at that step", self.stop_requested)
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


class ProgressReport(keras.callbacks.Callback):
    """After every epoch, one line: the epoch reached, the time this invocation has run and an estimate of
    the time left for the whole run (from this invocation's pace: checkpoints and validation included).
    The line is written once Keras has printed its own epoch line (at the next epoch's start or the end)."""

    def __init__(self, total_steps, steps_per_epoch, clock=time.monotonic, log=print):
        super().__init__()
        self.total_steps = int(total_steps)
        self.steps_per_epoch = int(steps_per_epoch)
        self.clock = clock
        self.log = log
        self.started = self.first_step = None
        self.pending = ""

    def on_train_begin(self, logs=None):
        if self.started is None:  # fit may be called twice (the rest of an interrupted epoch, then by epochs)
            self.started, self.first_step = self.clock(), int(self.model.optimizer.iterations.numpy())

    def on_epoch_end(self, epoch, logs=None):
        step = int(self.model.optimizer.iterations.numpy())
        elapsed = self.clock() - self.started
        done = step - self.first_step
        line = (f"[train] epoch {-(-step // self.steps_per_epoch)} of {self.total_steps // self.steps_per_epoch} "
                f"(step {step:,} of {self.total_steps:,}): {duration(elapsed)} elapsed")
        if done > 0 and step < self.total_steps:
            left = elapsed / done * (self.total_steps - step)
            finish = time.strftime("%H:%M", time.localtime(time.time() + left))
            line += f", about {duration(left)} to go (ends around {finish})"
        self.pending = line

    def on_epoch_begin(self, epoch, logs=None):
        self._flush()

    def on_train_end(self, logs=None):
        self._flush()

    def _flush(self):
        if self.pending:
            self.log(self.pending, flush=True)
            self.pending = ""


def duration(seconds):
    """'45 s', '9 min 5 s', '45 min', '3 h 07 min': seconds only while they matter (under ten minutes)."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 600:
        return f"{seconds // 60} min {seconds % 60} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
