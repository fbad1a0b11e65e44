"""Long-tailed subsets: per-class counts for a profile and the reference selection rule.

The rule is the one of the public CIFAR-LT code (LDAM-DRW, BBN, MiSLAS): seed NumPy's legacy
RNG with 0, then for each class in label order shuffle that class's indices (in the
original order) and keep the first n_i. A private `np.random.RandomState(seed)` draws the
same stream as `np.random.seed(seed)` followed by `np.random.shuffle`, without touching the
global RNG.

CIFAR-LT has no validation split. `select_long_tail_and_validation` makes one from the images
the long-tailed selection leaves out (balanced, a fixed number per class), so that checkpoints
and settings can be chosen without the test set.
"""

import numpy as np

from keras_auxlt.choices import LT_PROFILES
from keras_auxlt.data.errors import DataError

PROFILES = LT_PROFILES


def long_tail_counts(n_max, num_classes, imbalance_ratio, profile="exp", step_fraction=0.5):
    """Images to keep per class, class 0 being the head.

    exp:  n_i = int(n_max * (1 / rho) ** (i / (C - 1)))
    step: the last round(step_fraction * C) classes keep int(n_max / rho), the others n_max.
    """
    if imbalance_ratio < 1:
        raise DataError(f"imbalance_ratio must be >= 1 (n_max / n_min). Received: imbalance_ratio={imbalance_ratio!r}")
    if profile not in PROFILES:
        raise DataError(f"Unknown long-tail profile. Accepted: {', '.join(PROFILES)}. Received: profile={profile!r}")
    if num_classes < 1 or n_max < 1:
        raise DataError(f"Need at least one class and one image per class. Received: num_classes={num_classes}, n_max={n_max}")
    if profile == "exp":
        if num_classes == 1:
            return [int(n_max)]
        factor = 1.0 / imbalance_ratio
        return [int(n_max * factor ** (i / (num_classes - 1.0))) for i in range(num_classes)]
    if not 0.0 <= step_fraction <= 1.0:
        raise DataError(f"step_fraction must be in [0, 1]. Received: step_fraction={step_fraction!r}")
    num_tail = int(round(step_fraction * num_classes))
    return [int(n_max)] * (num_classes - num_tail) + [int(n_max / imbalance_ratio)] * num_tail


def _shuffled_classes(labels, num_classes, seed):
    """Each class's indices (in original order) shuffled, class by class in label order, by one RNG."""
    rng = np.random.RandomState(seed)
    for cls in range(num_classes):
        idx = np.flatnonzero(labels == cls)
        rng.shuffle(idx)
        yield cls, idx


def select_long_tail(labels, counts, seed=0):
    """Indices (into `labels`) of the long-tailed subset, class by class in label order."""
    labels = np.asarray(labels)
    selected = []
    for cls, idx in _shuffled_classes(labels, len(counts), seed):
        if counts[cls] > len(idx):
            raise DataError(f"Class {cls} has {len(idx)} images, fewer than the {counts[cls]} the long-tail profile "
                            f"asks for.")
        selected.append(idx[:counts[cls]])
    return np.concatenate(selected) if selected else np.zeros([0], np.int64)


def select_long_tail_and_validation(labels, counts, per_class, seed=0, class_names=None):
    """(training indices, validation indices): the long-tailed subset, and `per_class` images of every
    class from the images it leaves out.

    A class with fewer than `per_class` images left out (the head class keeps all of its images)
    gives the rest from the end of its own selection, which then leaves training. Otherwise the
    training indices are those of `select_long_tail`. Nothing is in both.
    """
    labels = np.asarray(labels)
    train, validation = [], []
    for cls, idx in _shuffled_classes(labels, len(counts), seed):
        name = f"Class {cls}" + (f" ({class_names[cls]})" if class_names is not None else "")
        keep = counts[cls]
        if keep > len(idx):
            raise DataError(f"{name} has {len(idx)} images, fewer than the {keep} the long-tail profile "
                            f"asks for.")
        borrowed = max(0, per_class - (len(idx) - keep))
        if keep - borrowed < 1:
            raise DataError(f"{name} has {len(idx)} training images: too few for {per_class} validation "
                            f"images and at least one training image. Lower the validation images per class.")
        train.append(idx[:keep - borrowed])
        validation.append(idx[keep - borrowed:keep + per_class - borrowed])
    empty = np.zeros([0], np.int64)
    return (np.concatenate(train) if train else empty), (np.concatenate(validation) if validation else empty)
