"""experiments/decoder_shift.py: a split decoded both ways, and the paired count of changed predictions."""

import numpy as np
import pytest

from experiments.decoder_shift import DECODERS, decoded, shift
from keras_auxlt.data.loading import DataConfig, load_split, make_source
from tests.conftest import write_image_folder


def test_both_decoders_keep_order_and_labels_and_differ_only_on_jpeg(tmp_path):
    splits = {}
    for fmt in ("jpg", "png"):
        root = write_image_folder(tmp_path / fmt, per_class=[3, 2], size=16, fmt=fmt)
        config = DataConfig(data_dir=root, validate_images=False)
        split = load_split(make_source(config), "train", config)
        splits[fmt] = [decoded(split, decode) for decode in DECODERS.values()]
        assert all(s.paths is None and s.labels.tolist() == split.labels.tolist() for s in splits[fmt])
    fast, accurate = splits["jpg"]
    assert fast.images.shape == accurate.images.shape == (5, 16, 16, 3)
    assert np.any(fast.images != accurate.images)  # random-noise JPEGs: the two DCTs round differently
    assert np.array_equal(splits["png"][0].images, splits["png"][1].images)


def test_the_shift_counts_changed_gained_and_lost_predictions_paired_by_image():
    labels = np.array([0, 1, 2, 3, 4])
    result = shift(labels, {"fast": np.array([0, 1, 0, 0, 4]), "accurate": np.array([0, 2, 2, 1, 4])})
    assert result["top1"] == {"fast": pytest.approx(0.6), "accurate": pytest.approx(0.6)}
    assert result["difference"] == pytest.approx(0.0)
    assert (result["changed"], result["gained"], result["lost"], result["images"]) == (3, 1, 1, 5)
