"""Ctrl-C / SIGTERM during training: the step reached is checkpointed and the rerun resumes exactly there."""

import json
import os
import signal
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_auxlt.training import trainer
from keras_auxlt.training.stop_signals import TrainingInterrupted, stop_on_signals
from tests.conftest import REPO_ROOT, repo_env
from tests.training.helpers import tiny_run_config
from tests.training.test_trainer import weights_of


class SignalAtStep(keras.callbacks.Callback):
    """Sends `signum` to this process at the end of optimizer step `step` (after the checkpoint callback ran)."""

    def __init__(self, step, signum=signal.SIGTERM):
        super().__init__()
        self.step, self.signum = step, signum

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.optimizer.iterations.numpy()) == self.step:
            os.kill(os.getpid(), self.signum)


def interrupt_at(monkeypatch, step, signum=signal.SIGTERM):
    """Stand a SignalAtStep in for the progress callback of the next run() (the callback after the checkpoint)."""
    monkeypatch.setattr(trainer, "ProgressReport", lambda *args: SignalAtStep(step, signum))


def state_of(config):
    with open(os.path.join(config.model_dir, "checkpoints", "state.json")) as f:
        return json.load(f)


def test_sigterm_mid_epoch_checkpoints_the_next_step_and_the_rerun_ends_as_if_never_stopped(tmp_path, monkeypatch):
    full = tiny_run_config(tmp_path, model_dir=str(tmp_path / "full"), deterministic=True)  # 3 epochs of 3 steps
    trainer.run(full, progress=False)
    stopped = tiny_run_config(tmp_path, model_dir=str(tmp_path / "stopped"), deterministic=True)
    handler_before = signal.getsignal(signal.SIGTERM)
    with monkeypatch.context() as patch:
        interrupt_at(patch, step=4)
        with pytest.raises(TrainingInterrupted, match=r"stopped by SIGTERM at step 5 \(batch 2 of this epoch\), saved "
                                                      r"to .*last\.keras: rerun the same command") as e:
            trainer.run(stopped, progress=False)
    assert e.value.exit_status == 143
    assert signal.getsignal(signal.SIGTERM) is handler_before
    assert state_of(stopped)["step"] == 5 and state_of(stopped)["epoch"] is None  # mid-epoch
    assert not os.path.exists(os.path.join(stopped.model_dir, "metrics.json"))

    trainer.run(stopped, progress=False)  # the same command again
    model_a, a = weights_of(full.model_dir)
    model_b, b = weights_of(stopped.model_dir)
    assert int(model_a.optimizer.iterations) == int(model_b.optimizer.iterations) == 9
    assert max(float(np.max(np.abs(x - y))) for x, y in zip(a, b)) <= 1e-5


def test_a_signal_after_the_last_step_skips_evaluation_and_the_rerun_only_evaluates(tmp_path, monkeypatch, capsys):
    config = tiny_run_config(tmp_path, epochs=1)
    with monkeypatch.context() as patch:
        interrupt_at(patch, step=3, signum=signal.SIGINT)  # the last step: no step end left to stop at
        with pytest.raises(TrainingInterrupted, match=r"training finished \(step 3\) but was stopped before "
                                                      "evaluating") as e:
            trainer.run(config, progress=False)
    assert e.value.exit_status == 130
    assert state_of(config)["step"] == 3 and not os.path.exists(os.path.join(config.model_dir, "metrics.json"))
    trainer.run(config, progress=False)
    assert "has finished training (step 3 of 3): evaluating only" in capsys.readouterr().out
    assert os.path.isfile(os.path.join(config.model_dir, "metrics.json"))


class Recorder:
    def __init__(self):
        self.stop_requested = None

    def request_stop(self, signum):
        self.stop_requested = signum


def test_a_second_signal_stops_at_once_and_handlers_are_restored():
    before = signal.getsignal(signal.SIGINT)
    checkpoint = Recorder()
    with pytest.raises(KeyboardInterrupt, match="SIGTERM again: stopping without a checkpoint"):
        with stop_on_signals(checkpoint):
            os.kill(os.getpid(), signal.SIGINT)
            assert checkpoint.stop_requested == signal.SIGINT
            os.kill(os.getpid(), signal.SIGTERM)
            pytest.fail("the second signal should have raised")
    assert signal.getsignal(signal.SIGINT) is before


FORWARDING = """
import os, signal, sys, time
from keras_auxlt.training.stop_signals import wait_forwarding_signals
ready = sys.argv[1]
child = ("import signal, sys, time\\n"
         "signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(100 + signum))\\n"
         f"open({ready!r}, 'w').close()\\n"
         "time.sleep(60)")
sent = []
def heartbeat():
    if os.path.exists(ready) and not sent:
        sent.append(1)
        os.kill(os.getpid(), signal.SIGTERM)  # as `kill <benchmark pid>` would
started = time.time()
code = wait_forwarding_signals([sys.executable, "-c", child], heartbeat, every=0.1)
print(code, round(time.time() - started), signal.getsignal(signal.SIGTERM) == signal.SIG_DFL)
"""


def test_stopping_the_parent_passes_the_signal_to_its_training_process(tmp_path):
    """`kill` of a benchmark (or of a train.py running its first stage) reaches the train.py it runs, which
    checkpoints and stops, instead of orphaning it."""
    done = subprocess.run([sys.executable, "-c", FORWARDING, str(tmp_path / "ready")], cwd=REPO_ROOT, env=repo_env(),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    code, seconds, restored = done.stdout.split()
    assert int(code) == 100 + 15  # the child's own SIGTERM handler ran: it was told, not killed by the parent
    assert int(seconds) < 30 and restored == "True"
