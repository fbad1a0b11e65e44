"""Finished, scored runs side by side, and their differences paired by image: the figures of a dated note.

    ./run python -m benchmarks.paired_runs \
        --run_dirs=docs/results/200_epoch/png/crt_mixup/seed0,docs/results/experiments/<note>/<variant>/seed0 \
        --against=crt_mixup

Each run directory holds metrics.json and test_sets.json (`benchmarks.test_sets`); a run is named by its path,
`<variant>/seed<k>`. Printed: one table row per run (validation, the 1,000 originals with their standard error
over images, the 10,000 JPEG test images, many, medium), then for every run and every `--against` variant of the
same seed the difference on the originals, paired by image, with its standard error over the images. Nothing is
chosen here: the page's choices are made on validation (`benchmarks.headline`).
"""

from absl import app, flags

from benchmarks.comparison import error_text, signed, standard_error
from benchmarks.headline import originals
from benchmarks.runs import load_scored

flags.DEFINE_list("run_dirs", [], "Run directories <...>/<variant>/seed<k> with metrics.json and test_sets.json.")
flags.DEFINE_list("against", [], "Variants (of --run_dirs) every other run is compared with, seed by seed.")
FLAGS = flags.FLAGS


def paired(run_a, run_b):
    """(a − b, its standard error) on the originals in points, paired by image; the runs must share their images."""
    keys = [r["test_sets"]["originals"]["keys_sha256"] for r in (run_a, run_b)]
    if keys[0] != keys[1]:
        raise SystemExit(f"[paired_runs] {run_a['name']} and {run_b['name']} were scored on different images")
    difference = 100 * (originals(run_a) - originals(run_b))
    return float(difference.mean()), standard_error(difference)


def percent(value):
    return "–" if value is None else f"{100 * value:.1f}"


def table_lines(runs):
    lines = ["| run | validation | originals | ± images | JPEG test | many | medium |", "|---|---|---|---|---|---|---|"]
    for run in runs:
        originals, jpeg = run["test_sets"]["originals"], run["test_sets"]["jpeg"]
        validation = "–" if run["validation"] is None else f"{100 * run['validation']:.2f}"
        lines.append(f"| {run['name']} | {validation} | "
                     f"{percent(originals['top1'])} | {percent(originals['se'])} | {percent(jpeg['top1'])} | "
                     f"{percent(originals['many'])} | {percent(originals['medium'])} |")
    return lines


def difference_lines(runs, against):
    lines = []
    for base in (r for r in runs if r["variant"] in against):
        for run in runs:
            if run is base or run["seed"] != base["seed"]:
                continue
            mean, error = paired(run, base)
            lines.append(f"- {run['variant']} − {base['variant']}: {signed(mean)} ± {error_text(error)} points on the originals "
                         f"(seed {run['seed']}, paired by image)")
    return lines


def main(argv):
    del argv
    if not FLAGS.run_dirs:
        raise app.UsageError("--run_dirs: give at least one scored run directory")
    runs = [load_scored(d) for d in FLAGS.run_dirs]
    unknown = sorted(set(FLAGS.against) - {r["variant"] for r in runs})
    if unknown:
        raise app.UsageError(f"--against: {', '.join(unknown)} is not among the variants of --run_dirs")
    print("\n".join(table_lines(runs) + [""] + difference_lines(runs, FLAGS.against)))


if __name__ == "__main__":
    app.run(main)
