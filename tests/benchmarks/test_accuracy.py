"""benchmarks.accuracy end to end on a tiny image folder: a run, then the same run reused for another
--inference_statistics without training again, and the refusal of a reused run trained otherwise; and
what each variant trains on top of the shared recipe."""

import json
import os
import subprocess
import sys

import pytest

from benchmarks.runs import Runs
from benchmarks.variants import RECIPES, STAGE_ONE, VARIANTS
from keras_auxlt.training.saving import load_model
from tests import train_flags
from tests.conftest import REPO_ROOT, repo_env, write_image_folder

RECIPE = ["--backbone=resnet20", "--image_size=16", "--batch_size=8", "--epochs=1", "--warmup_epochs=0",
          "--lr_milestones=", "--lr_factors=", "--validate_images=false", "--verbose=0"]


def benchmark(tmp_path, output, *extra):
    recipe = tmp_path / "recipe.cfg"
    recipe.write_text("\n".join(RECIPE) + "\n")
    command = [sys.executable, "-m", "benchmarks.accuracy", f"--flagfile_base={recipe}",
               f"--data_dir={tmp_path / 'images'}", "--imbalance_ratio=1", "--methods=balanced", "--seeds=0",
               f"--output_dir={tmp_path / output}", "--metrics_dir=", f"--results={tmp_path / output / 'RESULTS.md'}",
               "--readme=",
               *extra]
    return subprocess.run(command, cwd=REPO_ROOT, env=repo_env(), capture_output=True, text=True, timeout=900)


@pytest.mark.large
def test_a_reused_run_is_evaluated_again_without_training_and_a_different_recipe_is_refused(tmp_path):
    write_image_folder(tmp_path / "images", per_class=[12, 6, 3], size=16)
    first = benchmark(tmp_path, "as_trained")
    assert first.returncode == 0, first.stderr[-3000:]
    trained = tmp_path / "as_trained" / "balanced" / "seed0"
    recorded = json.loads((trained / "benchmark_timing.json").read_text())["command"]
    assert recorded[:2] == ["train.py", f"--flagfile={tmp_path / 'recipe.cfg'}"]
    assert f"--model_dir={trained}" in recorded and "--method=balanced" in recorded

    # Another recipe into the same run or metrics directory is refused before it trains (or overwrites anything).
    for flag, extra in [("--output_dir", ()), ("--metrics_dir", (f"--metrics_dir={tmp_path / 'as_trained'}",))]:
        other = benchmark(tmp_path, "as_trained" if flag == "--output_dir" else "other_recipe", *extra,
                          "--extra_flags=--learning_rate=0.5")
        assert other.returncode != 0
        assert (f"{trained} holds balanced seed 0 from another command (--learning_rate=0.5 here): give this recipe "
                f"its own {flag}") in other.stderr, other.stderr[-2000:]
    assert not (tmp_path / "other_recipe" / "balanced" / "seed0" / "checkpoints").exists()
    same = benchmark(tmp_path, "as_trained", f"--data_dir={tmp_path / 'images'}/.")  # the data spelt otherwise
    assert same.returncode == 0 and "balanced seed 0: done already" in same.stdout, same.stderr[-2000:]
    assert json.loads((trained / "benchmark_timing.json").read_text())["command"] == recorded

    again = benchmark(tmp_path, "random", f"--reuse_training_from={tmp_path / 'as_trained'}",
                      "--extra_flags=--inference_statistics=random,--inference_statistics_steps=2")
    assert again.returncode == 0, again.stderr[-3000:]
    reused = tmp_path / "random" / "balanced" / "seed0"
    assert f"training reused from {trained}" in again.stdout
    was, now = (load_model(str(d / "checkpoints" / "last.keras")) for d in (trained, reused))
    assert int(now.optimizer.iterations) == int(was.optimizer.iterations) == 3  # no step trained again
    metrics = json.loads((reused / "metrics.json").read_text())
    assert metrics["inference_statistics"] == {"source": "random", "steps": 2, "checkpoint": "inference.keras"}
    assert (reused / "checkpoints" / "inference.keras").is_file()
    timing = [json.loads((d / "benchmark_timing.json").read_text()) for d in (trained, reused)]
    assert timing[1]["resumed"] and timing[1]["wall_seconds"] > timing[0]["wall_seconds"]  # the training's + this one
    report = (tmp_path / "random" / "RESULTS.md").read_text()
    assert "for balanced random (`--inference_statistics`)" in report and "Training reused from" in report

    other = benchmark(tmp_path, "other", f"--reuse_training_from={tmp_path / 'as_trained'}",
                      "--extra_flags=--learning_rate=0.5")
    assert other.returncode != 0
    assert "this run was started with other settings than this command asks for" in other.stderr
    assert "--learning_rate=0.1 there, --learning_rate=0.5 here" in other.stderr
    assert not (tmp_path / "other" / "balanced" / "seed0" / "benchmark_timing.json").exists()  # left unfinished


def test_only_the_mixup_variants_mix_although_the_base_recipe_does():
    """flags/cifar10_lt_short.cfg trains the AuxLT recipe (mixup on both streams): the baselines, AuxLT
    as published and every second stage must switch it off, or the page would compare other methods."""
    base = Runs(flagfile_base=os.path.join(REPO_ROOT, "flags", "cifar10_lt_short.cfg"), data_dir="", imbalance_ratio=100,
                output_dir="")
    results = train_flags.resolve({name: [f"--flagfile={base.flagfile_for(name)}", *flags] for name, flags in VARIANTS.items()})
    assert {name: result["error"] for name, result in results.items()} == dict.fromkeys(VARIANTS)
    configs = {name: dict(method=r["config"]["method"], mixed=r["mixed_streams"], alpha=r["config"]["model"]["mixup_alpha"],
                          smoothing=r["config"]["model"]["label_aware_smoothing"],
                          lr_factors=r["config"]["optim"]["lr_factors"], crt_classifier=r["config"]["model"]["crt_classifier"])
               for name, r in results.items()}
    mixing = {name: c["mixed"] for name, c in configs.items() if c["mixed"]}
    assert mixing == {"ce_mixup": ["random"], "auxlt_mixup": ["balanced", "random"],
                      "auxlt_mixup_fused": ["balanced", "random"], "ce_mislas": ["random"],
                      "auxlt_mislas": ["balanced", "random"]}
    assert {name: configs[name]["alpha"] for name in mixing} == {
        "ce_mixup": 0.5, "auxlt_mixup": 0.5, "auxlt_mixup_fused": 0.5, "ce_mislas": 1.0,  # MiSLAS's CIFAR alpha
        "auxlt_mislas": 1.0}
    assert configs["auxlt_mislas"]["lr_factors"] == configs["ce_mislas"]["lr_factors"] == [0.1, 0.01]
    assert configs["auxlt_mixup"]["lr_factors"] == [0.01, 0.0001]  # the base recipe's
    assert {name: configs[name]["method"] for name in STAGE_ONE} == {
        "crt": "crt", "crt_ce_mixup": "crt", "crt_mixup": "crt", "auxlt_mixup_crt": "crt", "auxlt_mislas_crt": "crt",
        "crt_mixup_lws": "crt", "auxlt_mixup_lws": "crt", "auxlt_mislas_lws": "crt"}
    assert {name for name, c in configs.items() if c["crt_classifier"] == "lws"} == {
        "crt_mixup_lws", "auxlt_mixup_lws", "auxlt_mislas_lws"}
    assert configs["crt_mixup_lws"]["smoothing"] == configs["auxlt_mixup_lws"]["smoothing"] == [0.3, 0.0]
    assert (configs["auxlt_mixup_crt"]["smoothing"] == configs["auxlt_mislas_crt"]["smoothing"] == [0.3, 0.0]
            == configs["crt_mixup"]["smoothing"])
    assert configs["bbn"]["method"] == "bbn" and configs["ldam_drw"]["method"] == "ldam_drw"


# A shipped recipe -> the row of the results page that it trains.
RECIPE_ROWS = {recipe: row for row, recipe in RECIPES.items()}


def test_the_shipped_recipes_train_what_their_rows_of_the_results_page_train():
    """The README's recipes state rows of the page a second time (cifar10_lt_crt_mixup.cfg: both stages in one
    command): each must resolve to its row's settings, but for where runs live."""
    base = Runs(flagfile_base="flags/cifar10_lt.cfg", data_dir="", imbalance_ratio=100, output_dir="")
    argvs = {**{recipe: [f"--flagfile={recipe}"] for recipe in RECIPE_ROWS},
             **{row: [f"--flagfile={base.flagfile_for(row)}", *VARIANTS[row]] for row in RECIPE_ROWS.values()}}
    configs = {name: result["config"] for name, result in train_flags.resolve(argvs).items()}
    where = ("model_dir", "init_from", "stage_one_flagfile")
    for recipe, row in RECIPE_ROWS.items():
        assert configs[recipe] is not None and {k: v for k, v in configs[recipe].items() if k not in where} == {
            k: v for k, v in configs[row].items() if k not in where}, (recipe, row)
    mislas, crt_mixup = configs["flags/cifar10_lt_mislas.cfg"], configs["flags/cifar10_lt_crt_mixup.cfg"]
    assert crt_mixup["init_from"] == mislas["model_dir"] == "runs/cifar10_lt_mislas"
    assert crt_mixup["stage_one_flagfile"] == "flags/cifar10_lt_mislas.cfg"


def test_the_readme_gets_the_table_of_the_section_its_marker_names(tmp_path):
    from benchmarks.readme_table import copy_table

    report = tmp_path / "results.md"
    report.write_text("# R\n\n## First\n\n| method | a |\n|---|---|\n| x | 1 |\n\n- a finding\n\n## Second\n\n"
                      "| method | b |\n|---|---|\n| y | 2 |\n\n- y leads\n- z pending\n\nHow it was measured.\n")
    readme = tmp_path / "README.md"
    readme.write_text('text\n<!-- results table: generated, from "## Second" -->\n| old |\n|---|\n\n- old finding\n\n'
                      "after\n")
    copy_table(str(report), str(readme))
    assert readme.read_text() == ('text\n<!-- results table: generated, from "## Second" -->\n| method | b |\n|---|---|\n'
                                  "| y | 2 |\n\n- y leads\n- z pending\n\nafter\n")
    readme.write_text('<!-- results table: generated -->\n| old |\n\nafter\n')  # no bullets: the table alone
    copy_table(str(report), str(readme))
    assert readme.read_text() == ("<!-- results table: generated -->\n| method | a |\n|---|---|\n| x | 1 |\n\n"
                                  "- a finding\n\nafter\n")
    readme.write_text('<!-- results table: generated, from "## Third" -->\n| old |\n')
    with pytest.raises(SystemExit, match="names '## Third', a heading the report does not have"):
        copy_table(str(report), str(readme))


_DRW_LINES = """
import json, sys
from benchmarks import accuracy
accuracy.FLAGS(["accuracy", "--results=docs/results.md"])
print(json.dumps([accuracy.drw_lines(rows, None) for rows in json.loads(sys.argv[1])]))
"""


def test_the_page_names_the_drw_runs_whose_loss_was_divided_by_the_batch_size():
    """drw runs of before 2026-12-06 record no normalisation; a resumed one records the checkpoint's own."""
    old, resumed, new = {}, {"drw_normalisation": "batch_size"}, {"drw_normalisation": "sum_of_weights"}
    cases = [{"drw": [old, old], "ce": [old]}, {"drw": [resumed, new]}, {"drw": [new], "ce": [old]}]
    out = subprocess.run([sys.executable, "-c", _DRW_LINES, json.dumps(cases)], cwd=REPO_ROOT, env=repo_env(),
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    every, some, none = json.loads(out.stdout.strip().splitlines()[-1])
    assert every == ["- drw: every run on this page divided its weighted loss by the batch size; kaidic/LDAM-DRW, and "
                     "the code since 2026-12-06, divide it by the batch's sum of weights, so after the switch these runs "
                     "took smaller steps than the reference ([method.md](method.md), \"Baselines in the same trainer\"). "
                     "They have not been rerun."]
    assert some[0].startswith("- drw: 1 of its 2 runs on this page divided its weighted loss by the batch size;")
    assert none == []
