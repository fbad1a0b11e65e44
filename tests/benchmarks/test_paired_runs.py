"""benchmarks/paired_runs.py: runs side by side and their differences paired by image, from their kept files."""

import json

import numpy as np
import pytest

from benchmarks.paired_runs import difference_lines, paired, table_lines
from benchmarks.runs import load_scored


def scored_run(root, variant, seed, correct, validation=0.5, keys="k1"):
    directory = root / variant / f"seed{seed}"
    directory.mkdir(parents=True)
    (directory / "metrics.json").write_text(json.dumps({"validation": {"overall": validation}}))
    top1 = correct.count("1") / len(correct)
    originals = {"n": len(correct), "top1": top1, "se": 0.01, "many": 0.9, "medium": 0.4, "correct": correct,
                 "keys_sha256": keys}
    (directory / "test_sets.json").write_text(json.dumps({"originals": originals, "jpeg": {"top1": 0.25}}))
    return str(directory)


def test_differences_pair_images_and_seeds_and_refuse_runs_on_other_images(tmp_path):
    a = load_scored(scored_run(tmp_path, "a", 0, "1100", validation=0.8125))
    b = load_scored(scored_run(tmp_path, "b", 0, "1010"))
    b1 = load_scored(scored_run(tmp_path, "b", 1, "0000"))
    mean, error = paired(a, b)  # per image: 0, +100, -100, 0
    assert mean == 0.0 and error == pytest.approx(np.std([0, 100, -100, 0], ddof=1) / 2)
    assert difference_lines([a, b, b1], against=["b"]) == [
        f"- a − b: +0.0 ± {error:.1f} points on the originals (seed 0, paired by image)"]  # b1: no run of seed 1
    worse = load_scored(scored_run(tmp_path, "d", 0, "0000"))
    assert difference_lines([b, worse], against=["b"])[0].startswith("- d − b: −50.0 ± ")  # the page's minus sign
    assert table_lines([a])[2] == "| a/seed0 | 81.25 | 50.0 | 1.0 | 25.0 | 90.0 | 40.0 |"
    other = load_scored(scored_run(tmp_path, "c", 0, "1111", keys="k2"))
    with pytest.raises(SystemExit, match="c/seed0 and b/seed0 were scored on different images"):
        paired(other, b)


def test_a_directory_without_its_scores_is_named(tmp_path):
    (tmp_path / "a" / "seed0").mkdir(parents=True)
    (tmp_path / "a" / "seed0" / "metrics.json").write_text("{}")
    with pytest.raises(SystemExit, match=r"a/seed0: no test_sets.json \(score it with benchmarks.test_sets first\)"):
        load_scored(str(tmp_path / "a" / "seed0"))
    with pytest.raises(SystemExit, match="not a <variant>/seed<k> run directory"):
        load_scored(str(tmp_path / "a"))
