"""SIGKILL during training, rerun the same command: it continues from the last checkpoint (an epoch end, or
mid-epoch with --checkpoint_every_steps) without repeating or skipping a step."""

import json
import re
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO_ROOT, repo_env, write_image_folder

EPOCHS = 6


@pytest.mark.large
@pytest.mark.parametrize("every_steps", [0, 4])
def test_sigkill_then_rerun_resumes_without_repeating_or_skipping_steps(tmp_path, every_steps):
    data = write_image_folder(tmp_path / "images", per_class=[160, 80, 40], size=16)
    model_dir = tmp_path / "run"
    command = [sys.executable, "train.py", "--flagfile=flags/cifar10_lt.cfg", f"--data_dir={data}",
               f"--model_dir={model_dir}", "--imbalance_ratio=1", "--backbone=resnet20", "--image_size=16",
               "--batch_size=8", f"--epochs={EPOCHS}", "--warmup_epochs=1", "--lr_milestones=", "--lr_factors=",
               "--aux_tasks=random", "--strategy=one_device", "--verbose=2",
               "--val_per_class=0", "--inference_statistics=as_trained",  # the recipe's validation split needs CIFAR
               f"--checkpoint_every_steps={every_steps}"]
    env = repo_env()
    state_file = model_dir / "checkpoints" / "state.json"
    steps = 35  # ceil(280 / 8)

    def checkpointed_step():
        try:
            return json.loads(state_file.read_text())["step"]
        except (OSError, ValueError):
            return 0

    first = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 300
    # Epoch checkpoints: kill well into the second epoch. Step checkpoints: kill right after a mid-epoch one.
    wanted = (lambda step: step >= steps) if not every_steps else (lambda step: step > steps and step % steps)
    while not wanted(checkpointed_step()) and time.time() < deadline and first.poll() is None:
        time.sleep(0.05)
    assert wanted(checkpointed_step()), "no suitable checkpoint was written"
    if not every_steps:
        time.sleep(1.0)
    first.send_signal(signal.SIGKILL)
    first.communicate()
    killed_at = checkpointed_step()
    assert steps <= killed_at < EPOCHS * steps, "the kill must land before the end of training"

    second = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-3000:]
    output = second.stdout + second.stderr
    resumed = int(re.search(r"resuming from .*: step (\d+) of %d" % (EPOCHS * steps), output).group(1))
    assert resumed == killed_at  # the checkpoint's own counter; state.json was written after it
    if not every_steps:
        assert resumed % steps == 0
    epochs_run = [int(e) for e in re.findall(r"Epoch (\d+)/\d+", output)]  # the remainder epoch shows as e/e
    assert epochs_run == list(range(resumed // steps + 1, EPOCHS + 1)), output[-3000:]
    steps_run = [int(n) for n in re.findall(r"^(\d+)/\1 - ", output, flags=re.MULTILINE)]
    assert sum(steps_run) == EPOCHS * steps - resumed, steps_run
    final = json.loads(state_file.read_text())
    assert json.loads((model_dir / "config.json").read_text())["derived"]["steps_per_epoch"] == steps
    assert final["epoch"] == EPOCHS and final["step"] == EPOCHS * steps
    assert json.loads((model_dir / "metrics.json").read_text())["steps"] == EPOCHS * steps
