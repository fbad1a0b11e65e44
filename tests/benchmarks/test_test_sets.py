"""benchmarks/test_sets.py: one network scored on the originals and on the JPEG copy, and the shift paired by image."""

import json
import os

import numpy as np
import pytest

from benchmarks.comparison import standard_error
from benchmarks.test_sets import TEST_SETS_FILE, keep, paired_shift, score_run
from keras_auxlt.data.sources import ImageFolderSource
from keras_auxlt.training import trainer
from tests.conftest import write_image_folder
from tests.training.helpers import tiny_run_config


def test_the_shift_pairs_images_by_name_not_by_position():
    keys_png = ["a/0000", "a/0001", "b/0000"]
    keys_jpeg = ["b/0000", "a/0001", "a/0000", "c/0005"]  # more images, another order
    shift = paired_shift(keys_png, [1, 1, 0], keys_jpeg, [1, 0, 1, 1])
    assert shift["n"] == 3 and shift["png"] == pytest.approx(2 / 3) and shift["jpeg"] == pytest.approx(2 / 3)
    assert shift["shift"] == 0.0 and shift["se"] == pytest.approx(np.std([0, 1, -1], ddof=1) / np.sqrt(3))
    with pytest.raises(ValueError, match="share no image name"):
        paired_shift(["a/0"], [1], ["b/0"], [1])


def test_standard_error_is_the_sample_one():
    assert standard_error([1, 0, 1, 1]) == pytest.approx(np.std([1, 0, 1, 1], ddof=1) / 2)


@pytest.mark.large
def test_a_run_is_scored_on_both_copies_with_its_own_checkpoint(tmp_path):
    config = tiny_run_config(tmp_path, epochs=1, method="ce")
    metrics = trainer.run(config, progress=False)
    jpeg_root = write_image_folder(tmp_path / "jpeg", per_class=[12, 6, 3], size=16, splits=("test",), fmt="jpg")
    (tmp_path / "jpeg" / "test" / "class_00" / "0099.jpg").write_bytes(
        (tmp_path / "jpeg" / "test" / "class_00" / "0000.jpg").read_bytes())  # an image the PNG copy lacks
    result = score_run(config.model_dir, ImageFolderSource(config.data.data_dir), ImageFolderSource(jpeg_root),
                       log=lambda *_: None)
    assert result == json.loads((tmp_path / "run" / TEST_SETS_FILE).read_text())
    assert result["originals"]["top1"] == pytest.approx(metrics["overall"]) and result["originals"]["n"] == 21
    assert result["jpeg"]["n"] == 22 and result["pairs"]["n"] == 21
    assert result["pairs"]["shift"] == pytest.approx(result["pairs"]["png"] - result["pairs"]["jpeg"])
    assert result["pairs"]["png"] == pytest.approx(metrics["overall"])
    assert result["checkpoint"] == metrics["inference_statistics"]["checkpoint"]
    correct = result["originals"]["correct"]
    assert len(correct) == 21 and correct.count("1") / 21 == pytest.approx(metrics["overall"])
    with pytest.raises(SystemExit, match="not a finished, scored run"):  # no benchmark_timing.json yet
        keep(config.model_dir, str(tmp_path / "kept"))
    (tmp_path / "run" / "benchmark_timing.json").write_text(json.dumps({"wall_seconds": 1.0}))
    kept = keep(config.model_dir, str(tmp_path / "kept"))
    assert kept == str(tmp_path / "kept" / tmp_path.name / "run")  # <base>/<method dir>/<seed dir> of the run
    assert sorted(os.listdir(kept)) == ["benchmark_timing.json", "config.json", "metrics.json", "test_predictions.npz",
                                        TEST_SETS_FILE]
