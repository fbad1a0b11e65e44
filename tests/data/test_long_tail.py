import os

import numpy as np
import pytest

from keras_auxlt.data.errors import DataError
from keras_auxlt.data.long_tail import long_tail_counts, select_long_tail, select_long_tail_and_validation
from keras_auxlt.data.shots import shot_group_masks, shot_group_sizes
from keras_auxlt.data.sources import ImageFolderSource
from tests.conftest import CIFAR10_LT100_COUNTS


def reference_selection(targets, img_num_per_cls):
    """The reference code's rule verbatim (LDAM-DRW IMBALANCECIFAR10.gen_imbalanced_data)."""
    np.random.seed(0)
    targets_np = np.array(targets, dtype=np.int64)
    selected = []
    for the_class, the_img_num in zip(np.unique(targets_np), img_num_per_cls):
        idx = np.where(targets_np == the_class)[0]
        np.random.shuffle(idx)
        selected.append(idx[:the_img_num])
    return np.concatenate(selected)


def test_cifar10_lt_ratio_100_counts_are_the_reference_ones():
    counts = long_tail_counts(5000, 10, 100)
    assert counts == CIFAR10_LT100_COUNTS
    assert sum(counts) == 12406


def test_cifar100_and_other_ratios():
    counts = long_tail_counts(500, 100, 100)
    assert counts[0] == 500 and counts[-1] == 5 and len(counts) == 100
    assert sum(long_tail_counts(5000, 10, 10)) == 20431
    assert sum(long_tail_counts(5000, 10, 50)) == 13996


def test_step_profile_cuts_the_tail_fraction():
    assert long_tail_counts(5000, 10, 100, profile="step", step_fraction=0.5) == [5000] * 5 + [50] * 5
    assert long_tail_counts(500, 10, 10, profile="step", step_fraction=0.3) == [500] * 7 + [50] * 3


@pytest.mark.parametrize("kwargs, message", [
    (dict(imbalance_ratio=0.5), "imbalance_ratio must be >= 1"),
    (dict(imbalance_ratio=10, profile="linear"), "Accepted: exp, step. Received: profile='linear'"),
    (dict(imbalance_ratio=10, profile="step", step_fraction=1.5), "step_fraction must be in [0, 1]"),
])
def test_bad_profile_arguments(kwargs, message):
    with pytest.raises(DataError) as e:
        long_tail_counts(5000, 10, **kwargs)
    assert message in str(e.value)


def test_selection_matches_reference_rule_on_interleaved_labels():
    targets = np.random.default_rng(3).permutation(np.repeat(np.arange(10), 5000))
    counts = long_tail_counts(5000, 10, 100)
    ours = select_long_tail(targets, counts, seed=0)
    np.testing.assert_array_equal(ours, reference_selection(targets, counts))
    np.testing.assert_array_equal(np.bincount(targets[ours]), counts)


def test_selection_leaves_global_rng_alone():
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    select_long_tail(np.repeat(np.arange(3), 10), [10, 5, 2])
    assert np.random.rand() == expected


def test_too_few_images_for_the_profile():
    with pytest.raises(DataError, match="Class 1 has 3 images, fewer than the 5"):
        select_long_tail(np.array([0] * 10 + [1] * 3), [10, 5])


def test_validation_comes_from_the_images_the_long_tail_leaves_out():
    targets = np.random.default_rng(3).permutation(np.repeat(np.arange(10), 5000))
    counts = long_tail_counts(5000, 10, 100)
    train, val = select_long_tail_and_validation(targets, counts, per_class=200, seed=0)
    reference = select_long_tail(targets, counts, seed=0)
    assert not set(train) & set(val)
    assert np.bincount(targets[val]).tolist() == [200] * 10
    # The head class keeps all 5000 images: its 200 validation images leave training; every other
    # class keeps exactly its long-tailed subset and gives validation images from outside it.
    assert np.bincount(targets[train]).tolist() == [4800] + counts[1:]
    head = reference[targets[reference] == 0]
    np.testing.assert_array_equal(train[targets[train] == 0], head[:4800])
    np.testing.assert_array_equal(np.sort(val[targets[val] == 0]), np.sort(head[4800:]))
    for cls in range(1, 10):
        np.testing.assert_array_equal(train[targets[train] == cls], reference[targets[reference] == cls])
    again = select_long_tail_and_validation(targets, counts, per_class=200, seed=0)
    np.testing.assert_array_equal(again[1], val)


def test_partial_left_out_images_are_topped_up_from_the_class_selection():
    labels = np.repeat(np.arange(2), 10)
    train, val = select_long_tail_and_validation(labels, [10, 8], per_class=3, seed=0)
    # class 1: 2 left out + 1 from its selection of 8 -> 7 stay in training
    assert np.bincount(labels[train]).tolist() == [7, 7] and np.bincount(labels[val]).tolist() == [3, 3]
    assert sorted(set(train) | set(val)) == list(range(20))


def test_too_few_images_for_validation_and_training():
    with pytest.raises(DataError, match=r"Class 1 \(cat\) has 3 training images: too few for 3 validation images and "
                                        r"at least one training image"):
        select_long_tail_and_validation(np.array([0] * 10 + [1] * 3), [10, 3], per_class=3, class_names=("dog", "cat"))


def test_shot_groups_boundaries():
    counts = np.array([101, 100, 20, 19, 5000, 1])
    masks = shot_group_masks(counts)
    assert masks["many"].tolist() == [True, False, False, False, True, False]
    assert masks["medium"].tolist() == [False, True, True, False, False, False]
    assert masks["few"].tolist() == [False, False, False, True, False, True]
    assert shot_group_sizes(counts) == {"many": 2, "medium": 2, "few": 2}


@pytest.mark.large
def test_shared_cifar10_lt_picks_the_reference_images(shared_cifar10):
    """The archive numbers files in original per-class order, so the picks must be the reference's."""
    train = ImageFolderSource(shared_cifar10).load("train")
    assert len(train) == 50000 and train.class_counts.tolist() == [5000] * 10
    counts = long_tail_counts(5000, 10, 100)
    ours = train.subset(select_long_tail(train.labels, counts))
    assert ours.class_counts.tolist() == CIFAR10_LT100_COUNTS
    # Reference rule on the original interleaved order; the within-class rank of each pick is
    # the file number NNNN of the image folder.
    original = np.random.default_rng(0).permutation(np.repeat(np.arange(10), 5000))
    picks = reference_selection(original, counts)
    rank_in_class = np.empty(len(original), np.int64)
    for c in range(10):
        where = np.flatnonzero(original == c)
        rank_in_class[where] = np.arange(len(where))
    expected_files = [f"{rank_in_class[i]:04d}.jpg" for i in picks]
    assert [os.path.basename(p) for p in ours.paths] == expected_files
