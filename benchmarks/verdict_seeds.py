"""The two rows of the 200-epoch table that the verdict pairs by seed (issue 38), chosen on validation.

Once every row has its seed-0 run, the AuxLT row and the baseline row each highest on validation train a
second seed (benchmarks.headline's lead_line pairs them). This prints them, for .carry/resume_queue.sh:

    ./run python -m benchmarks.verdict_seeds $HOME/auxlt/png200/runs     # e.g. "auxlt_mixup crt_mixup"

(the table's run directory, <runs>/<method>/seed<k>/: benchmarks.accuracy's --output_dir).

It exits with status 1, naming them, while a row has no finished seed-0 run or a run lacks a validation top-1:
no choice is made on part of the table, or on a test set.
"""

import sys

from absl import app

from benchmarks.comparison import lacking_validation
from benchmarks.headline import CHOICE_SEED, METHODS, best, is_auxlt
from benchmarks.runs import load_run


class NotChosen(Exception):
    """The table is not ready for the choice."""


def verdict_rows(base, methods=METHODS, seed=CHOICE_SEED):
    """(AuxLT row, baseline row), each the highest on validation at `seed` among `methods`' finished runs under
    `base`. Raises NotChosen while a row's run has not finished or has no validation top-1."""
    rows = {method: load_run(base, method, seed) for method in methods}
    missing = [method for method, run in rows.items() if run is None]
    if missing:
        raise NotChosen(f"seed {seed} has not finished for {', '.join(missing)} under {base}")
    rows = {method: [run] for method, run in rows.items()}
    lacking = lacking_validation(rows, list(rows))
    if lacking:
        raise NotChosen(f"no validation top-1 for {', '.join(lacking)}: the rows are chosen on validation only")
    return best(rows, is_auxlt), best(rows, lambda m: not is_auxlt(m))


def main(argv):
    if len(argv) != 2:
        raise app.UsageError("give the table's run directory: python -m benchmarks.verdict_seeds RUNS")
    try:
        print(" ".join(verdict_rows(argv[1])))
    except NotChosen as e:
        sys.exit(f"error: not chosen yet: {e}")


if __name__ == "__main__":
    app.run(main)
