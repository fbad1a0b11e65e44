"""Tabulate `benchmarks.batch_norm_statistics --output` files: methods side by side at equal statistics.

    ./run python -m benchmarks.batch_norm_statistics_table --baseline=balanced RUN.json [RUN.json ...]

Each file is one run (`<output_dir>/<method>/seed<k>`); all must score the same split. The table has one row per method and one
column per statistics source (mean overall top-1 over the method's seeds), then each method's gain
over `--baseline` per source, paired by seed over the seeds both have. Comparing methods within one
column compares them at equal test-time BatchNorm statistics. A diagnostic: it selects nothing.
"""

import json
import os
import sys

import numpy as np
from absl import app, flags

from benchmarks.comparison import standard_error

flags.DEFINE_string("baseline", "balanced", "Method the others' gains are measured against.")
FLAGS = flags.FLAGS


def load(paths):
    """{method: {seed: {source: overall}}} from the diagnostic's JSON files, which must score one split."""
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
        runs.setdefault(method, {})[int(seed[len("seed"):])] = rows
    if len(set(splits.values())) > 1:
        raise SystemExit("the files score different splits: " + ", ".join(f"{p} {s}" for p, s in splits.items()))
    return runs


def table(runs, baseline):
    sources = [s for s in ("as_trained", "joint", "balanced", "instance")
               if any(s in rows for seeds in runs.values() for rows in seeds.values())]
    lines = ["| method | seeds | " + " | ".join(sources) + " |", "|---|---|" + "---|" * len(sources)]
    for method, seeds in runs.items():
        cells = [_mean(seeds, source) for source in sources]
        lines.append(f"| {method} | {','.join(map(str, sorted(seeds)))} | " + " | ".join(cells) + " |")
    if baseline in runs:
        lines += ["", f"Gain over {baseline} (points, paired by seed; ± standard error over seeds when more than one):",
                  "", "| method | " + " | ".join(sources) + " |", "|---|" + "---|" * len(sources)]
        for method, seeds in runs.items():
            if method != baseline:
                lines.append(f"| {method} | " + " | ".join(_gain(seeds, runs[baseline], s) for s in sources) + " |")
    return "\n".join(lines)


def _mean(seeds, source):
    values = [rows[source] for rows in seeds.values() if source in rows]
    return f"{100 * np.mean(values):.1f}" if values else "–"


def _gain(seeds, baseline_seeds, source):
    gains = [100 * (seeds[k][source] - baseline_seeds[k][source]) for k in sorted(set(seeds) & set(baseline_seeds))
             if source in seeds[k] and source in baseline_seeds[k]]
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
