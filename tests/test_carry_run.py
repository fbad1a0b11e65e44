"""tools/carry_run.sh: an unfinished run packed to resume elsewhere, never in the middle of a checkpoint write."""

import fcntl
import glob
import json
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


def snapshot_source(commit, path):
    """The file at `path` as commit `commit` has it (skips where a shallow clone lacks that commit)."""
    done = subprocess.run(["git", "show", f"{commit}:{path}"], capture_output=True, text=True,
                          cwd=os.path.dirname(SCRIPT))
    if done.returncode != 0:
        pytest.skip(f"commit {commit} is not in this clone")
    return done.stdout


QUEUE = os.path.join(os.path.dirname(SCRIPT), os.pardir, ".carry", "resume_queue.sh")
SEED0_CODE = {"ce": "4f07d46", "auxlt_mixup": "4f07d46", "crt": "4f07d46"}  # the rest: f2aaddc


@pytest.mark.skipif(not os.path.isdir(os.path.join(os.path.dirname(SCRIPT), os.pardir, os.pardir, "shared", "data",
                                                   "cifar10")), reason="needs ../shared/data/cifar10")
def test_the_queue_trains_seed_1_of_the_rows_best_on_validation_with_their_seed_0_code_then_the_search(tmp_path):
    validation = {"ce": .70, "auxlt_mixup": .78, "crt": .76, "crt_mixup": .75, "ldam_drw": .77, "logit_adjust": .74,
                  "auxlt": .79, "bbn": .73, "ce_mislas": .72}
    for method, value in validation.items():
        run = tmp_path / "png200" / "runs" / method / "seed0"
        run.mkdir(parents=True)
        (run / "metrics.json").write_text(json.dumps({"overall": value, "validation_overall": value, "images_seen": 1}))
        (run / "benchmark_timing.json").write_text(json.dumps({"wall_seconds": 1.0}))
        commit = SEED0_CODE.get(method, "f2aaddc") + "0" * 33
        (run / "config.json").write_text(json.dumps({"derived": {"code": {"git_commit": commit}}}))
    done = subprocess.run(["bash", QUEUE], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "DRY_RUN": "1", "AUXLT_HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert "[queue] seed 1 of the rows the verdict pairs: auxlt ldam_drw" in lines
    def jobs(log):
        return [(re.search(r"snap-(\w+) ", line).group(1), re.search(r"--seeds=(\d)", line).group(1),
                 re.search(r"--methods=([\w,]+)", line).group(1)) for line in lines if line.endswith(log)]
    assert jobs("/seed1.log") == [("f2aaddc", "1", "auxlt"), ("f2aaddc", "1", "ldam_drw")]
    # the 30-epoch checks against the reference code's figures come before the 200-epoch rows they check
    order = [line.rsplit("/", 1)[1] for line in lines if line.endswith(".log")]
    assert order[:4] == ["seed0.log", "ldam_drw.log", "bbn.log", "seed0_part2.log"]
    # then issue 38's search, with the code defining its variants: the AuxLT candidate's seed 1, then auxlt_mislas,
    # its cRT stage and its seed 1
    assert jobs("/search.log") == [("8c6f2b5", "1", "auxlt_mixup_lws"), ("8c6f2b5", "0", "auxlt_mislas,auxlt_mislas_lws"),
                                   ("8c6f2b5", "0", "auxlt_mislas_crt"), ("8c6f2b5", "1", "auxlt_mislas")]
    # then the 30-epoch ldam_drw check of the reference's initialisation, and Tiny-ImageNet-LT's backbone screen on
    # its short schedule, one candidate each, with the code that has both (the rows follow, on the screen's choice)
    assert order[-3:] == ["ldam_drw.log", "screen.log", "screen.log"]
    assert jobs("/short-ldam-init/ldam_drw.log") == [("92c8e6b", "0", "ldam_drw")]
    screen = [line for line in lines if line.endswith("/screen.log")]
    assert [re.search(r"--backbone=(\w+)", line).group(1) for line in screen] == ["resnet32_s2", "resnet44_s2"]
    assert all("--flagfile_base=flags/tiny_imagenet_lt_short.cfg" in line and "--imbalance_ratio=1 " in line
               and "tiny_imagenet_lt.tar.gz" in line and "--methods=auxlt " in line for line in screen)
    # runs already there are left alone; only a carried run absent here is unpacked
    unpacked = [re.search(r"png200-(\w+)_seed(\d+)\.tar\.gz", line).groups() for line in lines if "unpacking" in line]
    assert not [run for run in unpacked if run[0] in validation and run[1] == "0"], unpacked
    # every flag a job passes is one its snapshot's benchmarks.accuracy defines (absl stops on any other)
    for line in lines:
        if " && " in line:
            commit = re.search(r"snap-(\w+) ", line).group(1)
            defined = set(re.findall(r'DEFINE_\w+\("(\w+)"', snapshot_source(commit, "benchmarks/accuracy.py")))
            passed = set(re.findall(r" --(\w+)=", line.split(" && ", 1)[1]))
            assert passed <= defined, (commit, passed - defined)


def test_a_second_queue_beside_a_running_one_stops_before_anything(tmp_path):
    with open(tmp_path / "queue.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a running queue holds it
        done = subprocess.run(["bash", QUEUE], capture_output=True, text=True, timeout=60,
                              env={**os.environ, "DRY_RUN": "1", "AUXLT_HOME": str(tmp_path)})
    assert done.returncode == 1
    assert f"[queue] another queue is running (it holds {tmp_path}/queue.lock): not starting a second one" in done.stderr
    assert done.stdout == "" and not (tmp_path / "png200" / "runs" / "ce").exists()  # nothing unpacked, nothing run


@pytest.mark.skipif(not os.path.isdir(os.path.join(os.path.dirname(SCRIPT), os.pardir, os.pardir, "shared", "data",
                                                   "cifar10")), reason="needs ../shared/data/cifar10")
def test_on_a_new_machine_the_runs_kept_in_the_repository_are_not_trained_again(tmp_path):
    """The rows' runs kept on the results page, the 30-epoch checks' and the search's kept beside its notes: each
    trained into the queue's <png200 or short>/runs/<method>/seed<k> (its config.json's model_dir) and gets its
    kept files back there."""
    results = os.path.join(os.path.dirname(SCRIPT), os.pardir, "docs", "results")
    kept = {}
    for config in glob.glob(os.path.join(results, "**", "seed*", "config.json"), recursive=True):
        with open(config) as f:
            model_dir = json.load(f).get("model_dir", "")
        found = re.search(r"/((?:png200|short)/runs/\w+/seed\d+)$", model_dir)
        if found and os.path.isfile(os.path.join(os.path.dirname(config), "metrics.json")):
            kept[found.group(1)] = os.path.dirname(config)
    assert {"png200/runs/ce/seed0", "png200/runs/auxlt_mixup_lws/seed0", "short/runs/ldam_drw/seed0"} <= set(kept)
    done = subprocess.run(["bash", QUEUE], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "DRY_RUN": "1", "AUXLT_HOME": str(tmp_path)})
    for place, where in kept.items():  # what benchmarks.accuracy reads as a finished run: it says "done already"
        run = place.split("/runs/")[1]
        assert f"[queue] {run} finished and is kept: copying its files into {tmp_path}/{place}" in done.stdout
        for name in ("metrics.json", "benchmark_timing.json", "config.json"):
            with open(os.path.join(where, name)) as a, open(tmp_path / place / name) as b:
                assert a.read() == b.read()
