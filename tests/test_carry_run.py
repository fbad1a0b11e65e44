"""tools/carry_run.sh: an unfinished run packed to resume elsewhere, never in the middle of a checkpoint write."""

import os
import re
import subprocess
import tarfile
import time

import pytest

SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools", "carry_run.sh")


def make_run(base, step=960):
    run = base / "auxlt" / "seed1"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.json").write_text("{}")
    (run / "checkpoints" / "last.keras").write_bytes(b"weights")
    (run / "checkpoints" / "state.json").write_text(f'{{\n  "step": {step},\n  "epoch": 10\n}}')
    old = time.time() - 60
    for name in ("last.keras", "state.json"):
        os.utime(run / "checkpoints" / name, (old, old))
    return run


def carry(run, archive, **env):
    return subprocess.run(["bash", SCRIPT, str(run), str(archive)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "QUIET": "3", **env})


def test_the_archive_unpacks_as_method_and_seed_under_any_base(tmp_path):
    run = make_run(tmp_path / "runs")
    done = carry(run, tmp_path / "out" / "auxlt_seed1.tar.gz")
    assert done.returncode == 0, done.stderr
    assert re.fullmatch(r".*auxlt_seed1\.tar\.gz: auxlt/seed1 at step 960 \(\S+\)", done.stdout.strip()), done.stdout
    with tarfile.open(tmp_path / "out" / "auxlt_seed1.tar.gz") as tar:
        names = set(tar.getnames())
    assert {"auxlt/seed1/config.json", "auxlt/seed1/checkpoints/last.keras",
            "auxlt/seed1/checkpoints/state.json"} <= names


def test_a_checkpoint_being_written_is_waited_for_and_never_packed(tmp_path):
    run = make_run(tmp_path / "runs")
    (run / "checkpoints" / "last.keras.tmp.keras").write_bytes(b"half")  # a save under way
    done = carry(run, tmp_path / "a.tar.gz", TIMEOUT="4")
    assert done.returncode == 1 and "no quiet moment of 3s" in done.stderr
    assert not (tmp_path / "a.tar.gz").exists()


@pytest.mark.parametrize("missing", ["config.json", "checkpoints/last.keras"])
def test_a_directory_that_is_not_a_saved_run_is_refused(tmp_path, missing):
    run = make_run(tmp_path / "runs")
    os.remove(run / missing)
    done = carry(run, tmp_path / "a.tar.gz")
    assert done.returncode == 1 and "not a train.py run that saved an epoch" in done.stderr
