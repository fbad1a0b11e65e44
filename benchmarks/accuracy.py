"""Side-by-side accuracy of methods on CIFAR-10-LT with one recipe and seeds: the results page.

    ./run python -m benchmarks.accuracy                 # trains what is missing, then writes docs/results.md
    ./run python -m benchmarks.accuracy --report_only   # rebuilds docs/results.md from docs/results/

By default: the methods of the results page (DEFAULT_METHODS of benchmarks/variants.py), seeds 0,
1 and 2, the short schedule (flags/cifar10_lt_short.cfg, which carries the recommended model
selection: a validation split and BatchNorm statistics chosen on it). Each (method, seed) is one
`train.py` run in its own process under --output_dir/<method>/seed<k>, so an interrupted benchmark
resumes where it stopped (finished runs are not redone). Then it writes --results (the table, the
command, schedule, machine, wall times, date, the gains paired by seed, and the published and
reference-code figures in tables of their own), a per-class accuracy plot against training count,
and copies every finished run's metrics.json, timing and config.json into --metrics_dir (in the
repository) so the page can be rebuilt with --report_only on any checkout. The runs themselves
(directories, commands, resume, the refusal of a directory holding a run of another command) are
benchmarks/runs.py's: another recipe, such as the 200-epoch one, takes directories of its own, and
the page gives its command.
"""

import functools
import os
import platform
import time

import numpy as np
from absl import app, flags

from benchmarks import headline, long_recipe
from benchmarks.comparison import (
    best_row_line,
    cell,
    contribution_lines,
    groups_sentence,
    selection_sentence,
    signed,
    standing_line,
    statistics_sentence,
    verdict_lines,
)
from benchmarks.readme_table import copy_table
from benchmarks.runs import (
    CODE_FACTS,
    DRW_FACT,
    RESULT_SETS,
    Runs,
    collect_all_seeds,
    load_run,
    own_dirs_command,
    read_json,
    run_dir,
    seeds_under,
)
from benchmarks.variants import (
    AUXLT_RECIPE,
    DEFAULT_METHODS,
    NO_MIXUP,
    PUBLISHED_AUXLT,
    RECIPES,
    STAGE_ONE,
    VARIANTS,
)
from keras_auxlt.choices import LEGACY_DRW_NORMALISATION

PUBLISHED = """| method | rho=100 | rho=50 | rho=10 |
|---|---|---|---|
| CE | 70.4 | 74.8 | 86.4 |
| CB focal | 74.6 | 79.3 | 87.1 |
| LDAM-DRW | 77.0 | 81.0 | 88.2 |
| BBN | 79.8 | 82.2 | 88.3 |
| MiSLAS | 82.5 | 85.7 | 90.0 |"""
# The public reference code run here on the 30-epoch schedule and the JPEG copy (method.md, measured 2026-11-27, seed 0,
# last epoch): (its row, our variant of the same method, its top-1 %).
REFERENCE_SHORT = (("CE, instance sampling", "ce", 56.6), ("LDAM-DRW", "ldam_drw", 66.3),
                   ("CE + class-balanced re-weighting from the start", "cb_loss", 48.9), ("BBN", "bbn", 53.6))

flags.DEFINE_string("data_dir", "../shared/data/cifar10/cifar10_jpg.tar.gz", "CIFAR-10 image folder or archive.")
flags.DEFINE_string("flagfile_base", "flags/cifar10_lt_short.cfg", "Recipe every method shares.")
flags.DEFINE_float("imbalance_ratio", 100, "CIFAR-10-LT imbalance ratio.")
flags.DEFINE_list("methods", DEFAULT_METHODS, f"Variants to run: {', '.join(VARIANTS)}.")
flags.DEFINE_list("seeds", ["0", "1", "2"], "Seeds; each method runs once per seed.")
flags.DEFINE_string("output_dir", "runs/benchmark_accuracy", "Where the runs go.")
flags.DEFINE_string("results", "docs/results.md", "Markdown report to write.")
flags.DEFINE_string("metrics_dir", "docs/results/30_epoch/jpeg", "Where finished runs' metrics.json and timing are copied and "
                    "the report is built from; empty: build it straight from --output_dir.")
flags.DEFINE_string("readme", "README.md", "A page whose results table (the one after the line holding "
                    "README_MARKER) is replaced with this report's; empty: none.")
flags.DEFINE_list("extra_flags", [], "More train.py flags for every run (e.g. --epochs=2 for a trial).")
flags.DEFINE_bool("report_only", False, "Only rebuild the report from finished runs.")
flags.DEFINE_string("reuse_training_from", "", "--output_dir of an earlier benchmark with the same recipe: each run "
                    "starts from that run's checkpoints and wall time instead of training again, so that train.py "
                    "only evaluates (e.g. with another --inference_statistics). Its training configuration must be "
                    "this one's (checked).")
flags.DEFINE_string("results_tree", "docs/results", "The kept runs the page's other sections are built from, laid out "
                    "<schedule>/<data>/<method>/seed<k>/ (RESULT_SETS); empty: those sections are left out.")
FLAGS = flags.FLAGS

def result_set(name):
    """The directory of one of RESULT_SETS, or "" when --results_tree is empty."""
    return os.path.join(FLAGS.results_tree, RESULT_SETS[name]) if FLAGS.results_tree else ""


REUSED = ("Training reused from the runs of the --reuse_training_from benchmark (same configuration, checked): this "
          "one only evaluated them, and a run's wall time is its training's plus that evaluation. ")
DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs")
RECIPE_NOTE = os.path.join(DOCS, "experiments", "2026-12-01-better-recipe.md")  # issue 23's write-up, linked from the page
DATA_GUIDE = os.path.join(DOCS, "data.md")  # its "Decoding" paragraph, linked from the page
METHOD_GUIDE = os.path.join(DOCS, "method.md")  # its "Model details" section (the backbone), likewise
# The check of how much the code fixes of 2026-12-02 move the 30-epoch table (experiments/code_check.py).
CODE_CHECK_NOTE = os.path.join(DOCS, "experiments", "2026-12-06-code-fixes-rerun.md")


@functools.cache
def planned_runs():
    """The benchmark's runs, as the flags place them (built once: the flags do not change after parsing)."""
    return Runs(flagfile_base=FLAGS.flagfile_base, data_dir=FLAGS.data_dir, imbalance_ratio=FLAGS.imbalance_ratio,
                output_dir=FLAGS.output_dir, metrics_dir=FLAGS.metrics_dir, extra_flags=tuple(FLAGS.extra_flags),
                reuse_training_from=FLAGS.reuse_training_from)


def collect():
    rows = {}
    for method in FLAGS.methods:
        base = planned_runs().report_dir
        runs = [run for run in (load_run(base, method, seed) for seed in FLAGS.seeds) if run is not None]
        if runs:
            rows[method] = runs
    return rows


def other_recipes():
    """(200-epoch runs, bfloat16 runs) as {method: runs}, each None when its flag is empty."""
    return tuple(collect_all_seeds(base, methods) if base else None for base, methods in (
        (result_set("long_recipe"), long_recipe.METHODS), (result_set("bfloat16"), long_recipe.PRECISION_CHECK)))


def collect_reference(base):
    """{method: [reference summaries with "seed"]} under `base`/<method>/seed<k>/ (the reference set)."""
    found = {}
    for method in long_recipe.REFERENCE_METHODS if base else ():
        for seed in seeds_under(base, method):
            summary = read_json(os.path.join(run_dir(base, method, seed), long_recipe.REFERENCE_FILE), None)
            if summary is not None:
                found.setdefault(method, []).append({**summary, "seed": seed})
    return found


def long_recipe_lines(short_rows, rows, bfloat16):
    """The section of the 200-epoch runs on the JPEG copy (long_recipe.HEADING) from its runs `rows`, with the
    check of the `bfloat16` runs against `short_rows` (this report's float32 runs); see other_recipes()."""
    if rows is None:
        return []
    command = own_dirs_command("benchmark_200_epoch", long_recipe.FLAGFILE, rows or long_recipe.METHODS[:4],
                               seeds_of(rows), result_set("long_recipe"))
    precision = []
    if bfloat16 is not None:
        precision = long_recipe.precision_lines(
            short_rows, bfloat16, from_page(result_set("bfloat16")),
            own_dirs_command("benchmark_bfloat16", FLAGS.flagfile_base, long_recipe.PRECISION_CHECK, seeds_of(bfloat16),
                             result_set("bfloat16"), "--extra_flags=--mixed_precision=bfloat16"))
    reference = long_recipe.reference_lines(rows, collect_reference(result_set("reference")),
                                            from_page(result_set("reference") or "."))
    data_effect = headline.data_effect_lines(headline_rows(), rows)
    return long_recipe.section_lines(rows, from_page(result_set("long_recipe")), command, precision,
                                     reference, data_effect)


@functools.cache
def search_candidates():
    """[(run, link to its note)] of the search's kept runs (headline.collect_search), [] without --results_tree."""
    if not FLAGS.results_tree:
        return []
    return [(run, from_page(os.path.join(DOCS, "experiments", note + ".md")))
            for run, note in headline.collect_search(FLAGS.results_tree)]


def headline_rows():
    """{method: scored runs} of the headline set ({} without --results_tree)."""
    return headline.collect(result_set("headline")) if result_set("headline") else {}


def code_revision_lines(*row_sets):
    """Bullets of "How these were measured" on the runs of this page (`row_sets`: {method: runs} or None) trained by
    code of before 2026-12-02, which decoded JPEG with TensorFlow's fast DCT and padded strided convolutions as
    TensorFlow's "same" does, and recorded neither (CODE_FACTS); nothing when every run recorded both."""
    runs = [run for rows in row_sets if rows for method_runs in rows.values() for run in method_runs]
    old = {fact: sum(run.get(fact) is None for run in runs) for fact in CODE_FACTS}
    if not any(old.values()):
        return []
    data, models, note = (from_page(path) for path in (DATA_GUIDE, METHOD_GUIDE, CODE_CHECK_NOTE))
    what = {"jpeg_dct": f"decoded JPEG with TensorFlow's fast DCT, about one level per pixel from what the code now "
                        f"decodes (PIL's pixels; [data.md]({data}), \"Decoding\")",
            "strided_padding": "padded stride-2 convolutions as TensorFlow's \"same\" does, which centres their windows "
                               "one pixel off the shortcut's and the reference code's (the code now pads as PyTorch "
                               f"does; [method.md]({models}), \"Model details\")"}
    counts = [f"  - {'every run' if n == len(runs) else f'{n} of the {len(runs)} runs'} on this page {what[fact]}."
              for fact, n in old.items() if n]
    return ["- Code of before 2026-12-02 trained differently (how much a rerun by today's code "
            f"moves the table: [the check]({note})):", *counts]


def provenance_lines(*row_sets):
    """The closing section's bullets on runs of this page trained by older code (`row_sets`: {method: runs} or None)."""
    return [*drw_lines(*row_sets), *code_revision_lines(*row_sets)]


def drw_lines(*row_sets):
    """A bullet on the drw runs of `row_sets` ({method: runs} or None) that divided the weighted loss by the batch
    size (code of before 2026-12-06, which recorded nothing; or such a run resumed since), not by the sum of weights
    as the reference does."""
    drw = [run for rows in row_sets if rows for run in rows.get("drw", [])]
    old = sum(run.get(DRW_FACT) in (None, LEGACY_DRW_NORMALISATION) for run in drw)
    if not old:
        return []
    return [f"- drw: {'every run' if old == len(drw) else f'{old} of its {len(drw)} runs'} on this page divided its "
            "weighted loss by the batch size; kaidic/LDAM-DRW, and the code since 2026-12-06, divide it by the batch's "
            "sum of weights, so after the switch these runs took smaller steps than the reference "
            f"([method.md]({from_page(METHOD_GUIDE)}), \"Baselines in the same trainer\"). They have not been rerun."]


def from_page(path):
    """`path` relative to the directory of the results page (--results), as the page's links need it."""
    return os.path.relpath(path, os.path.dirname(os.path.abspath(FLAGS.results)))


def seeds_of(rows):
    return sorted({r["seed"] for runs in rows.values() for r in runs}) or [0]


def write_report(rows):
    """The page: each section's table first with a few bullets, then "How these were measured" (protocol,
    provenance, caveats)."""
    long_rows, bfloat16 = other_recipes()
    os.makedirs(os.path.dirname(FLAGS.results) or ".", exist_ok=True)
    lines = [f"# Results: CIFAR-10-LT, imbalance ratio {FLAGS.imbalance_ratio:g}", "",
             *(headline.section_lines(headline_rows(), from_page(result_set("headline")), search_candidates())
               if result_set("headline")
               else []),
             "## 30 epochs, JPEG copy (the CPU proxy)", "",
             f"`{FLAGS.flagfile_base}` on the JPEG copy, scored on its 10,000 test images: mean ± standard error over "
             f"seeds, top-1 %. {AUXLT_RECIPE} is the AuxLT recipe chosen on this schedule (`{RECIPES[AUXLT_RECIPE]}`); "
             f"{PUBLISHED_AUXLT} is AuxLT as published.", ""]
    missing = [f"{m} seed {k}" for m in FLAGS.methods for k in FLAGS.seeds
               if not any(r["seed"] == int(k) for r in rows.get(m, []))]
    if missing:
        lines += [f"**Incomplete:** {len(missing)} of {len(FLAGS.methods) * len(FLAGS.seeds)} runs have not finished "
                  f"yet ({', '.join(missing)}); the seeds column says how many each row averages.", ""]
    validation_columns = [(key, title) for key, title in (("validation_overall", "validation"),
                                                          ("validation_as_trained_overall", "validation (as trained)"))
                          if any(key in run for runs in rows.values() for run in runs)]
    lines += [
        "| method | seeds | overall | many | medium | few |" + "".join(f" {title} |" for _, title in validation_columns)
        + " images seen | wall time / run |",
        "|---|---|---|---|---|---|" + "---|" * len(validation_columns) + "---|---|",
    ]
    for method, runs in rows.items():
        lines.append(f"| {method} | {len(runs)} | {cell(runs, 'overall')} | {cell(runs, 'many')} | "
                     f"{cell(runs, 'medium')} | {cell(runs, 'few')} | "
                     + "".join(f"{cell(runs, key)} | " for key, _ in validation_columns)
                     + f"{runs[0]['images_seen']:,} | {np.mean([r['wall_seconds'] for r in runs]) / 60:.0f} min |")
    standings = [standing_line(rows, method) for method in (AUXLT_RECIPE, PUBLISHED_AUXLT)]
    bullets = [line for line in [best_row_line(rows), *standings, *contribution_lines(rows)] if line]
    if bullets:
        note = from_page(RECIPE_NOTE)
        lines += ["", "Gains in top-1 points, paired by seed (mean ± standard error): the best AuxLT row against the "
                  "best baseline, each AuxLT row against every baseline, and what each addition to AuxLT contributes "
                  f"([the path to the recipe]({note})):", "", *bullets[:5]]
    lines += ["", *long_recipe_lines(rows, long_rows, bfloat16)]
    lines += ["## Published and reference figures", "",
              "Published (top-1 %, ResNet-32, CIFAR-10-LT, 200-epoch recipes, as the papers report them):", "",
              PUBLISHED, "",
              "Public reference code (kaidic/LDAM-DRW; BBN: megvii-research/BBN) run here on the 30-epoch schedule and "
              "the JPEG copy, 2026-11-27, seed 0, last epoch, beside our variant's seed 0 (its best checkpoint on "
              "validation):", "", *reference_short_lines(), "",
              *[line for line in measured_lines(rows, provenance_lines(rows, long_rows, bfloat16, headline_rows()))
                if line is not None]]
    with open(FLAGS.results, "w") as f:
        f.write("\n".join(lines))


def reference_short_lines():
    """The reference code's 30-epoch figures, each beside our run of the same method and seed 0 (kept in the 30-epoch
    table's directory, whether or not the table shows the method) and the difference."""
    lines = ["| method (reference code) | top-1 | ours | ours − reference |", "|---|---|---|---|"]
    for name, method, figure in REFERENCE_SHORT:
        run = load_run(planned_runs().report_dir, method, 0)
        ours = "–" if run is None else f"{100 * run['overall']:.1f} ({method})"
        difference = "–" if run is None else signed(100 * run["overall"] - figure)
        lines.append(f"| {name} | {figure:.1f} | {ours} | {difference} |")
    return lines


def measured_lines(rows, revisions):
    """The closing section: how the 30-epoch table was made (the other sections say theirs beside them), and
    `revisions` (provenance_lines)."""
    special = [f"{m} `{' '.join(VARIANTS[m])}`" for m in rows if VARIANTS[m] != [f"--method={m}", NO_MIXUP]]
    base = FLAGS.flagfile_base[:-len(".cfg")]
    return [
        "## How these were measured", "",
        f"- Command: `python -m benchmarks.accuracy --flagfile_base={FLAGS.flagfile_base} "
        f"--methods={','.join(FLAGS.methods)} --seeds={','.join(FLAGS.seeds)}"
        f"{' --extra_flags=' + ','.join(FLAGS.extra_flags) if FLAGS.extra_flags else ''}"
        f"{' --reuse_training_from=' + FLAGS.reuse_training_from if FLAGS.reuse_training_from else ''}`, page "
        f"rebuilt {time.strftime('%Y-%m-%d')} on {platform.machine()} ({os.cpu_count()} CPU cores); `--report_only` "
        "rebuilds it from the kept runs.",
        f"- Selection: {selection_sentence(rows)}",
        f"- BatchNorm statistics: {statistics_sentence(rows).removeprefix('BatchNorm statistics: ')}",
        f"- {groups_sentence(rows)}",
        f"- crt's second stage: `{base}_crt.cfg` from the ce run of the same seed; its images seen and wall time "
        "include that run.",
        f"- {REUSED}" if FLAGS.reuse_training_from else None,
        f"- Reproduce a run: `python train.py --flagfile={FLAGS.flagfile_base} --method=<row> {NO_MIXUP} --seed=<k> "
        "--data_dir=../shared/data/cifar10/cifar10_jpg.tar.gz`"
        + (f", except {'; '.join(special)}" if special else "") + ".",
        f"- Per-class accuracy against training count: `{os.path.basename(plot_path())}`. Raw runs: "
        f"`{from_page(planned_runs().report_dir)}/<method>/seed<k>/metrics.json`.",
        *revisions,
        *(["", "The bars the 30-epoch comparison was set (issues 4 and 21; paired by seed):", "", *verdict_lines(rows)]
          if verdict_lines(rows) else []),
    ]


def plot_path():
    return os.path.join(os.path.dirname(FLAGS.results) or ".", "per_class_accuracy_by_method.png")


def plot(rows):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    tab20 = plt.get_cmap("tab20").colors  # 11 methods: tab10 would repeat a colour
    colors = tab20[::2] + tab20[1::2]  # the ten strong colours first, then their light pairs
    for i, (method, runs) in enumerate(rows.items()):
        counts = np.asarray(runs[0]["train_counts"])
        accuracy = np.mean([[np.nan if a is None else a for a in r["per_class"]] for r in runs], axis=0)
        order = np.argsort(counts)
        style = "--" if method.startswith("auxlt_") else "-"  # the AuxLT variants apart from the baselines
        ax.plot(counts[order], accuracy[order], style, marker="o", ms=3, color=colors[i % len(colors)],
                label=method)
    ax.set_xscale("log")
    ax.set_xlabel("training images of the class (log scale)")
    ax.set_ylabel("test top-1 accuracy (mean over seeds)")
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(plot_path(), dpi=100)
    plt.close(fig)


def main(argv):
    del argv
    unknown = [m for m in FLAGS.methods if m not in VARIANTS]
    if unknown:
        raise app.UsageError(f"--methods: unknown {unknown}. Accepted: {', '.join(VARIANTS)}")
    if not FLAGS.report_only:
        for seed in FLAGS.seeds:
            for method in FLAGS.methods:
                planned_runs().run_one(method, seed)
                report()  # after every run: an interrupted benchmark leaves an up-to-date report
    if not report():
        raise SystemExit("no finished runs to report")
    print(open(FLAGS.results).read())


def report():
    """Rebuild the report and plot from the finished runs; False if there are none yet."""
    stage1 = {STAGE_ONE[m] for m in FLAGS.methods if m in STAGE_ONE} - set(FLAGS.methods)  # budgets include them
    for method in FLAGS.methods + sorted(stage1):
        for seed in FLAGS.seeds:
            planned_runs().keep_metrics(method, seed)
    rows = collect()
    if rows:
        write_report(rows)
        plot(rows)
        if FLAGS.readme:
            copy_table(FLAGS.results, FLAGS.readme)
    return bool(rows)


if __name__ == "__main__":
    app.run(main)
