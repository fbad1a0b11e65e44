"""The runs of an accuracy benchmark: one `train.py` process per (method, seed), in its own directory
<output_dir>/<method>/seed<k>.

A run is finished once it holds metrics.json and benchmark_timing.json (its wall time and the train.py
command). An interrupted run resumes where it stopped (train.py's step-exact resume) and its wall time
adds up over invocations. A directory holding a finished run of another command is refused, not reused
or overwritten. Plain files and processes: no TensorFlow here.
"""

import dataclasses
import json
import os
import shutil
import sys
import time

from benchmarks.variants import OWN_RECIPE, STAGE_ONE, TRAINED_AS, VARIANTS
from keras_auxlt.run_files import (
    CONFIG_FILE,
    INFERENCE_CHECKPOINT,
    LAST_CHECKPOINT,
    METRICS_FILE,
    PREDICTIONS_FILE,
    checkpoint_dir,
    write_json,
)
from keras_auxlt.training.stop_signals import wait_forwarding_signals

TIMING_FILE = "benchmark_timing.json"  # wall time and the train.py command of a finished run
RUN_FILES = (METRICS_FILE, TIMING_FILE)  # a run with both is finished
# What --metrics_dir keeps of a run: config.json (the resolved recipe) and, for runs since 2026-12-08, each test image's
# label, prediction and probabilities (PREDICTIONS_FILE, compressed: calibration, shot groups and paired differences
# recompute from it without the checkpoint); a file a run does not have is left out.
KEPT_FILES = (*RUN_FILES, CONFIG_FILE, PREDICTIONS_FILE)
# The one tree of kept runs (docs/results; benchmarks.accuracy's --results_tree): <schedule>/<data>/<method>/seed<k>/,
# a variation of the data's runs after a dash. The 30-epoch table's runs are --metrics_dir (30_epoch/jpeg by default).
RESULT_SETS = {
    "headline": "200_epoch/png",  # the 200-epoch recipe on the original pixels, scored on both test sets
    "long_recipe": "200_epoch/jpeg",  # the 200-epoch recipe on the JPEG copy
    "reference": "200_epoch/jpeg-reference",  # the reference code's CE at 200 epochs (reference.json)
    "bfloat16": "30_epoch/jpeg-bfloat16",  # the 30-epoch table's rows in mixed bfloat16
}
TEST_SETS_FILE = "test_sets.json"  # a run scored on both test sets of the shared CIFAR-10 (benchmarks.test_sets)
# train.py flags that name where things live (the run, its first stage, the data), not what it trains: two commands
# differing only there are the same recipe (the same data at another path, on another machine).
WHERE_FLAGS = ("--model_dir=", "--init_from=", "--data_dir=")
# What config.json's "derived" records of the code that trained, since 2026-12-02 (runs before lack them): how JPEG
# was decoded (keras_auxlt/data/decoding.py) and how strided convolutions pad (keras_auxlt/models/backbones.py).
CODE_FACTS = ("jpeg_dct", "strided_padding")
# What drw runs' config.json records since 2026-12-06: what their weighted loss was divided by (choices.DRW_NORMALISATIONS).
DRW_FACT = "drw_normalisation"
PARTIAL_TIMING = "benchmark_timing.partial.json"  # wall time of an unfinished run's earlier invocations
HEARTBEAT_SECONDS = 30


def run_dir(base, method, seed):
    return os.path.join(base, method, f"seed{seed}")


def seeds_under(base, method):
    """The k of every <base>/<method>/seed<k>/ directory, in order."""
    directory = os.path.join(base, method)
    names = os.listdir(directory) if os.path.isdir(directory) else []
    return sorted(int(name[len("seed"):]) for name in names if name.startswith("seed") and name[len("seed"):].isdigit())


def is_finished(directory):
    return all(os.path.isfile(os.path.join(directory, name)) for name in RUN_FILES)


@dataclasses.dataclass(frozen=True)
class Runs:
    """Where a benchmark's runs live and how each is trained.

    flagfile_base: the recipe every method shares (a second stage adds `<base>_<stage>.cfg`).
    output_dir: the runs; metrics_dir: where finished runs' KEPT_FILES are copied (empty: output_dir).
    reuse_training_from: another benchmark's output_dir whose finished training each run starts from."""

    flagfile_base: str
    data_dir: str
    imbalance_ratio: float
    output_dir: str
    metrics_dir: str = ""
    extra_flags: tuple = ()
    reuse_training_from: str = ""

    @property
    def report_dir(self):
        return self.metrics_dir or self.output_dir

    def dir(self, method, seed):
        return run_dir(self.output_dir, method, seed)

    def flagfile_for(self, method):
        """The recipe a variant trains with: a method of OWN_RECIPE (crt's second stage, bbn) has its own flagfile
        beside the base one, `<base>_<its --method>.cfg`, which holds its schedule."""
        trains = VARIANTS[method][0].removeprefix("--method=")
        if trains not in OWN_RECIPE:
            return self.flagfile_base
        path = self.flagfile_base[:-len(".cfg")] + f"_{trains}.cfg"
        if not os.path.isfile(path):
            raise SystemExit(f"[benchmark] {method} needs its flagfile {path} beside --flagfile_base")
        return path

    def train_command(self, method, seed):
        command = [sys.executable, "train.py", f"--flagfile={self.flagfile_for(method)}", f"--data_dir={self.data_dir}",
                   f"--imbalance_ratio={self.imbalance_ratio:g}", f"--seed={seed}",
                   f"--model_dir={self.dir(method, seed)}", *VARIANTS[method], *self.extra_flags]
        if method in STAGE_ONE:
            command.append(f"--init_from={self.dir(STAGE_ONE[method], seed)}")
        return command

    def run_one(self, method, seed):
        """Train (or resume) one run unless it has finished; a second stage first runs its first."""
        command = self.train_command(method, seed)[1:]  # what a finished run records, without the interpreter
        for flag, base in (("--output_dir", self.output_dir), ("--metrics_dir", self.report_dir)):
            if is_finished(run_dir(base, method, seed)):  # a run of another recipe there: stop before training
                refuse_other_command(run_dir(base, method, seed), method, seed, command, flag)
        if is_finished(self.dir(method, seed)):
            print(f"[benchmark] {method} seed {seed}: done already")
            return
        if method in STAGE_ONE and not is_finished(self.dir(STAGE_ONE[method], seed)):
            self.run_one(STAGE_ONE[method], seed)
        os.makedirs(self.dir(method, seed), exist_ok=True)
        if self.reuse_training_from:
            self._reuse_training(method, seed)
        print(f"[benchmark] {method} seed {seed}: {' '.join(self.train_command(method, seed))}", flush=True)
        self._timed_training(method, seed)  # train.py refuses a reused run trained with other settings

    def keep_metrics(self, method, seed):
        """Copy a finished run's metrics, timing and config into metrics_dir (nothing to do if it is output_dir).
        A run of another command already there is not overwritten: the benchmark stops, naming the difference."""
        source, target = self.dir(method, seed), run_dir(self.report_dir, method, seed)
        if not is_finished(source):
            return
        if is_finished(target) and not os.path.samefile(source, target):
            refuse_other_command(target, method, seed, recorded_command(source), "--metrics_dir")
        os.makedirs(target, exist_ok=True)
        for name in KEPT_FILES:
            have, want = os.path.join(source, name), os.path.join(target, name)
            if os.path.isfile(have) and not (os.path.exists(want) and os.path.samefile(have, want)):
                shutil.copyfile(have, want)

    def _reused_source(self, method, seed):
        return run_dir(self.reuse_training_from, TRAINED_AS.get(method, method), seed)

    def _reuse_training(self, method, seed):
        """Copy the finished run of this method and seed from reuse_training_from (config, checkpoints but a
        re-estimated inference.keras, and its wall time as an earlier invocation's): train.py resumes at its
        last step, so it trains no further and only evaluates; the run's wall time is the training's plus that."""
        source, target = self._reused_source(method, seed), self.dir(method, seed)
        checkpoints = checkpoint_dir(source)
        if not is_finished(source) or not os.path.isfile(os.path.join(checkpoints, LAST_CHECKPOINT)):
            raise SystemExit(f"[benchmark] --reuse_training_from: {source} is not a finished run that kept its "
                             "checkpoints")
        if os.path.isdir(checkpoint_dir(target)):
            return  # copied by an earlier, interrupted invocation
        print(f"[benchmark] {method} seed {seed}: training reused from {source}", flush=True)
        shutil.copyfile(os.path.join(source, CONFIG_FILE), os.path.join(target, CONFIG_FILE))
        write_json(os.path.join(target, PARTIAL_TIMING), read_json(os.path.join(source, TIMING_FILE), None))
        shutil.copytree(checkpoints, checkpoint_dir(target),
                        ignore=shutil.ignore_patterns(INFERENCE_CHECKPOINT + "*"))

    def _timed_training(self, method, seed):
        """Run train.py for one (method, seed) and record its wall time and command in benchmark_timing.json.

        A run resumed after an interruption reports its whole cost: the time of earlier invocations
        is kept in a partial file, rewritten every HEARTBEAT_SECONDS while training runs."""
        partial = os.path.join(self.dir(method, seed), PARTIAL_TIMING)
        earlier = read_json(partial, {"wall_seconds": 0.0})["wall_seconds"]
        started = time.time()
        command = self.train_command(method, seed)
        code = wait_forwarding_signals(command,
                                       lambda: write_json(partial, {"wall_seconds": earlier + time.time() - started}),
                                       every=HEARTBEAT_SECONDS)
        total = earlier + time.time() - started
        if code:
            write_json(partial, {"wall_seconds": total})
            raise SystemExit(f"[benchmark] {method} seed {seed}: train.py exited with status {code}; rerun to resume")
        write_json(os.path.join(self.dir(method, seed), TIMING_FILE),
                   {"wall_seconds": total, "resumed": earlier > 0, "command": command[1:]})
        if os.path.exists(partial):
            os.remove(partial)


def load_run(base, method, seed):
    """The finished run under `base` as its metrics.json with its seed, wall time and the code facts its config.json
    records (CODE_FACTS: JPEG decoding, strided padding; DRW_FACT; None for runs of before a fact was recorded); None if it
    has not finished.

    crt's images seen and wall time include the ce run its second stage starts from (under the same base):
    that is its training budget, to set against the single-stage methods'."""
    directory = run_dir(base, method, seed)
    if not is_finished(directory):
        return None
    metrics = read_json(os.path.join(directory, METRICS_FILE), None)
    metrics["wall_seconds"] = read_json(os.path.join(directory, TIMING_FILE), None)["wall_seconds"]
    metrics["seed"] = int(seed)
    derived = read_json(os.path.join(directory, CONFIG_FILE), {}).get("derived", {})
    metrics.update({fact: derived.get(fact) for fact in (*CODE_FACTS, DRW_FACT)})
    if "validation" in metrics:
        metrics["validation_overall"] = metrics["validation"]["overall"]
    if "validation_as_trained" in metrics:
        metrics["validation_as_trained_overall"] = metrics["validation_as_trained"]["overall"]
    if method in STAGE_ONE:
        stage1 = load_run(base, STAGE_ONE[method], seed)
        if stage1 is None:
            raise SystemExit(f"[benchmark] {method} seed {seed} is finished but its stage 1 ({STAGE_ONE[method]}) has "
                             f"no metrics.json and benchmark_timing.json in {run_dir(base, STAGE_ONE[method], seed)}")
        metrics["images_seen"] += stage1["images_seen"]
        metrics["wall_seconds"] += stage1["wall_seconds"]
    return metrics


def load_scored(directory):
    """{name, variant, seed, validation, test_sets} of a scored run; SystemExit naming what is missing."""
    directory = os.path.normpath(directory)
    seed_dir = os.path.basename(directory)
    variant = os.path.basename(os.path.dirname(directory))
    if not seed_dir.startswith("seed") or not seed_dir[4:].isdigit():
        raise SystemExit(f"[benchmark] {directory}: not a <variant>/seed<k> run directory")
    metrics = read_json(os.path.join(directory, METRICS_FILE), None)
    test_sets = read_json(os.path.join(directory, TEST_SETS_FILE), None)
    if metrics is None or test_sets is None:
        raise SystemExit(f"[benchmark] {directory}: no {METRICS_FILE if metrics is None else TEST_SETS_FILE} "
                         "(score it with benchmarks.test_sets first)")
    validation = metrics.get("validation", {}).get("overall")
    return {"name": f"{variant}/{seed_dir}", "variant": variant, "seed": int(seed_dir[4:]), "validation": validation,
            "test_sets": test_sets}


def collect_all_seeds(base, methods):
    """{method: finished runs}, every seed found under `base`/<method>/ (e.g. the 200-epoch runs)."""
    rows = {}
    for method in methods:
        runs = [run for run in (load_run(base, method, seed) for seed in seeds_under(base, method)) if run is not None]
        if runs:
            rows[method] = runs
    return rows


def own_dirs_command(name, flagfile, methods, seeds, metrics_dir, *extra):
    """The benchmark command for runs kept apart from the page's table (runs/<name>, `metrics_dir`, a report of
    their own): run with the defaults, it would put them in the table's directories."""
    return " ".join(["python -m benchmarks.accuracy", f"--flagfile_base={flagfile}", f"--methods={','.join(methods)}",
                     f"--seeds={','.join(map(str, seeds))}", *extra, f"--output_dir=runs/{name}",
                     f"--metrics_dir={metrics_dir}", f"--results=runs/{name}/RESULTS.md", "--readme="])


def recorded_command(directory):
    """The train.py command (without the interpreter) a finished run recorded; None for runs from before it did."""
    return read_json(os.path.join(directory, TIMING_FILE), {}).get("command")


def refuse_other_command(directory, method, seed, command, flag):
    """Stop if the finished run in `directory` recorded a train.py command that differs from `command` in more than
    where the runs live (no command recorded, on either side: no check)."""
    there = recorded_command(directory)
    if there is None or command is None:
        return
    there, here = ([arg for arg in c if not arg.startswith(WHERE_FLAGS)] for c in (there, command))
    if there != here:
        differ = [f"{arg} there" for arg in there if arg not in here] + [f"{arg} here" for arg in here if arg not in there]
        raise SystemExit(f"[benchmark] {directory} holds {method} seed {seed} from another command "
                         f"({'; '.join(differ) or 'flag order'}): give this recipe its own {flag}")


def read_json(path, default):
    if not os.path.isfile(path):
        return default
    with open(path) as f:
        return json.load(f)
