"""SIGKILL during training, rerun the same command: it continues from the last finished epoch."""

import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import write_image_folder

ROOT = pathlib.Path(__file__).resolve().parents[2]
EPOCHS = 6


@pytest.mark.large
def test_sigkill_mid_epoch_then_rerun_resumes_without_redoing_epochs(tmp_path):
    data = write_image_folder(tmp_path / "images", per_class=[160, 80, 40], size=16)
    model_dir = tmp_path / "run"
    command = [sys.executable, "train.py", "--flagfile=flags/cifar10_lt.cfg", f"--data_dir={data}",
               f"--model_dir={model_dir}", "--imbalance_ratio=1", "--backbone=resnet20", "--image_size=16",
               "--batch_size=8", f"--epochs={EPOCHS}", "--warmup_epochs=1", "--lr_milestones=", "--lr_factors=",
               "--aux_tasks=random", "--strategy=one_device", "--verbose=2"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    state_file = model_dir / "checkpoints" / "state.json"
    first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 300
    while not state_file.exists() and time.time() < deadline and first.poll() is None:
        time.sleep(0.2)
    assert state_file.exists(), "no checkpoint was written"
    time.sleep(1.0)  # well into the next epoch (35 steps each)
    first.send_signal(signal.SIGKILL)
    first.communicate()
    done = json.loads(state_file.read_text())["epoch"]
    assert 1 <= done < EPOCHS, "the kill must land before the end of training"

    second = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-3000:]
    output = second.stdout + second.stderr
    assert f"{done} of {EPOCHS} epochs done" in output
    epochs_run = [int(e) for e in re.findall(r"Epoch (\d+)/%d" % EPOCHS, output)]
    assert epochs_run == list(range(done + 1, EPOCHS + 1)), epochs_run
    final = json.loads(state_file.read_text())
    steps_per_epoch = json.loads((model_dir / "config.json").read_text())["derived"]["steps_per_epoch"]
    assert final["epoch"] == EPOCHS and final["step"] == EPOCHS * steps_per_epoch
    assert (model_dir / "metrics.json").is_file()
