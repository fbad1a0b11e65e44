"""The table of BatchNorm-statistics diagnostic outputs: pairing by seed, and the files it refuses."""

import json

import pytest

from benchmarks.batch_norm_statistics_table import load, table


def write_result(directory, method, seed, rows, split="test"):
    path = directory / f"{method}_{seed}_{split}.json"
    path.write_text(json.dumps({"model_dir": f"/runs/{method}/seed{seed}", "checkpoint": "last.keras", "steps": 100,
                                "split": split, "rows": {source: {"overall": value} for source, value in rows.items()}}))
    return str(path)


def test_table_pairs_gains_by_seed_at_equal_statistics(tmp_path):
    paths = [write_result(tmp_path, "balanced", 0, {"as_trained": 0.60, "instance": 0.66}),
             write_result(tmp_path, "balanced", 1, {"as_trained": 0.62, "instance": 0.64}),
             write_result(tmp_path, "balanced", 2, {"as_trained": 0.90, "instance": 0.90}),  # no auxlt seed 2
             write_result(tmp_path, "auxlt", 0, {"as_trained": 0.63, "instance": 0.67}),
             write_result(tmp_path, "auxlt", 1, {"as_trained": 0.66, "instance": 0.67})]
    text = table(load(paths), "balanced")
    assert "| balanced | 0,1,2 | 70.7 | 73.3 |" in text and "| auxlt | 0,1 | 64.5 | 67.0 |" in text
    # as_trained gains +3 and +4 -> +3.5, standard error 0.5; instance +1 and +3 -> +2.0 ± 1.0
    assert "| auxlt | +3.5 ± 0.5 (2 seeds) | +2.0 ± 1.0 (2 seeds) |" in text
    assert "joint" not in text  # no file has that row


def test_table_names_a_file_that_is_not_a_diagnostic_output(tmp_path):
    bad = tmp_path / "metrics.json"
    bad.write_text(json.dumps({"overall": 0.5}))
    with pytest.raises(SystemExit, match="metrics.json: not a batch_norm_statistics --output file"):
        load([str(bad)])
    mixed = [write_result(tmp_path, "auxlt", 0, {"as_trained": 0.6}),
             write_result(tmp_path, "auxlt", 0, {"as_trained": 0.6}, split="val")]
    with pytest.raises(SystemExit, match="the files score different splits"):
        load(mixed)
