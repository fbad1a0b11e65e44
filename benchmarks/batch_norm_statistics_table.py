"""Tabulate `benchmarks.batch_norm_statistics --output` files: methods side by side at equal statistics.

    ./run python -m benchmarks.batch_norm_statistics_table --baseline=balanced RUN.json [RUN.json ...]

Each file is one run (`<output_dir>/<method>/seed<k>`); all must score the same split. The table
has one row per method and one column per statistics source (mean overall top-1 over the method's seeds), then each method's gain
over `--baseline` per source, paired by seed over the seeds both have. Comparing methods within one
column compares them at equal test-time BatchNorm statistics. A diagnostic: it selects nothing.
"""

import json
import os
import sys

import numpy as np
from absl import app, flags

from benchmarks.comparison import paired_gains, standard_error
from keras_auxlt.training.batch_norm_statistics import STATISTICS_SOURCES as SOURCES

flags.DEFINE_string("baseline", "balanced", "Method the others' gains are measured against.")
FLAGS = flags.FLAGS


def load(paths):
    """{method: [{"seed": k, source: overall, ...}]} from the diagnostic's JSON files (one split)."""
    runs, splits = {}, {}
    for path in paths:
        try:
            with open(path) as f:
                result = json.load(f)
            seed_dir = os.path.normpath(result["model_dir"])
            method, seed = os.path.basename(os.path.dirname(seed_dir)), os.path.basename(seed_dir)
            rows = {source: row["overall"] for source, row in result["rows"].items()}
            splits[path] = result.get("split", "test")
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise SystemExit(f"{path}: not a batch_norm_statistics --output file ({type(e).__name__}: {e})")
        if not seed.startswith("seed"):
            raise SystemExit(f"{path}: model_dir {seed_dir} is not <method>/seed<k>")
        runs.setdefault(method, []).append({"seed": int(seed[len("seed"):]), **rows})
    if len(set(splits.values())) > 1:
        raise SystemExit("the files score different splits: " + ", ".join(f"{p} {s}" for p, s in splits.items()))
    return runs


def table(runs, baseline):
    sources = [s for s in SOURCES if any(s in run for method_runs in runs.values() for run in method_runs)]
    lines = ["| method | seeds | " + " | ".join(sources) + " |", "|---|---|" + "---|" * len(sources)]
    for method, method_runs in runs.items():
        seeds = ",".join(str(run["seed"]) for run in sorted(method_runs, key=lambda run: run["seed"]))
        lines.append(f"| {method} | {seeds} | " + " | ".join(_mean(method_runs, s) for s in sources) + " |")
    if baseline in runs:
        lines += ["", f"Gain over {baseline} (points, paired by seed; ± standard error over seeds when more than one):",
                  "", "| method | " + " | ".join(sources) + " |", "|---|" + "---|" * len(sources)]
        for method, method_runs in runs.items():
            if method != baseline:
                gains = paired_gains(method_runs, runs[baseline], keys=sources)[1]
                lines.append(f"| {method} | " + " | ".join(_gain(gains[s]) for s in sources) + " |")
    return "\n".join(lines)


def _mean(method_runs, source):
    values = [run[source] for run in method_runs if source in run]
    return f"{100 * np.mean(values):.1f}" if values else "–"


def _gain(gains):
    if not gains:
        return "–"
    if len(gains) == 1:
        return f"{gains[0]:+.1f} (1 seed)"
    return f"{np.mean(gains):+.1f} ± {standard_error(gains):.1f} ({len(gains)} seeds)"


def main(argv):
    if len(argv) < 2:
        raise app.UsageError("give the JSON files written by benchmarks.batch_norm_statistics --output")
    print(table(load(argv[1:]), FLAGS.baseline))


if __name__ == "__main__":
    sys.exit(app.run(main))
