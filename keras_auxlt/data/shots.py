"""Shot groups by training images per class (method.md): the one place these thresholds live."""

import numpy as np

MANY_SHOT_MIN = 101  # many-shot: more than 100 training images
FEW_SHOT_MAX = 19  # few-shot: fewer than 20 training images
SHOT_GROUPS = ("many", "medium", "few")
TOP1_GROUPS = ("overall",) + SHOT_GROUPS  # the top-1 figures a report compares


SHOT_THRESHOLDS = f"many > {MANY_SHOT_MIN - 1}, medium {FEW_SHOT_MAX + 1}-{MANY_SHOT_MIN - 1}, few < {FEW_SHOT_MAX + 1}"


def shot_group_masks(train_counts):
    """Boolean masks over classes for the many / medium / few groups, keyed by group name."""
    counts = np.asarray(train_counts)
    return {
        "many": counts >= MANY_SHOT_MIN,
        "medium": (counts > FEW_SHOT_MAX) & (counts < MANY_SHOT_MIN),
        "few": counts <= FEW_SHOT_MAX,
    }


def shot_group_sizes(train_counts):
    """Number of classes in each shot group."""
    return {name: int(mask.sum()) for name, mask in shot_group_masks(train_counts).items()}
