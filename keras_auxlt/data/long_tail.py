"""Long-tailed subsets: per-class counts for a profile and the reference selection rule.

The rule is the one of the public CIFAR-LT code (LDAM-DRW, BBN, MiSLAS): seed NumPy's legacy
RNG with 0, then for each class in label order shuffle that class's indices (in the
original order) and keep the first n_i. A private `np.random.RandomState(seed)` draws the
same stream as `np.random.seed(seed)` followed by `np.random.shuffle`, without touching the
global RNG.
"""

import numpy as np

from keras_auxlt.data.errors import DataError

PROFILES = ("exp", "step")


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


def select_long_tail(labels, counts, seed=0):
    """Indices (into `labels`) of the long-tailed subset, class by class in label order."""
    labels = np.asarray(labels)
    rng = np.random.RandomState(seed)
    selected = []
    for cls, keep in enumerate(counts):
        idx = np.flatnonzero(labels == cls)
        if keep > len(idx):
            raise DataError(f"Class {cls} has {len(idx)} images, fewer than the {keep} the long-tail profile asks for.")
        rng.shuffle(idx)
        selected.append(idx[:keep])
    return np.concatenate(selected) if selected else np.zeros([0], np.int64)
