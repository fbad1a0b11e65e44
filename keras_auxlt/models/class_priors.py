"""What the class-aware losses take from the training set's class counts (NumPy, float64).

The baselines' primary losses (`primary_loss.PrimaryLoss`) and the auxiliary tasks `reweighted` and
`random_adjusted` (`auxlt_model.AuxLTModel`) read them; `head_fusion` reads the log prior too.
"""

import numpy as np

EFFECTIVE_NUMBER_BETA = 0.9999
# LDAM (Cao et al. 2019), as kaidic/LDAM-DRW's CIFAR runs: the largest margin and the logit scale s.
LDAM_MAX_MARGIN = 0.5
LDAM_SCALE = 30.0


def effective_number_weights(class_counts, beta=EFFECTIVE_NUMBER_BETA):
    """w_c proportional to (1 - beta) / (1 - beta^n_c), normalised to mean 1 over classes."""
    counts = np.asarray(class_counts, np.float64)
    weights = (1.0 - beta) / (1.0 - np.power(beta, counts))
    return weights / weights.mean()


def log_prior(class_counts):
    """log(n_c / N): the training prior that logit adjustment adds or removes."""
    counts = np.asarray(class_counts, np.float64)
    return np.log(counts / counts.sum())


def ldam_margins(class_counts, max_margin=LDAM_MAX_MARGIN):
    """LDAM's per-class margins m_c proportional to n_c^(-1/4), the largest (the rarest class's) = max_margin."""
    margins = 1.0 / np.sqrt(np.sqrt(np.asarray(class_counts, np.float64)))
    return margins * (max_margin / margins.max())


def label_aware_smoothing(class_counts, head, tail):
    """MiSLAS's label-aware smoothing factors ("concave" shape): eps_c = tail + (head - tail) *
    sin(pi / 2 * (n_c - n_min) / (n_max - n_min)), so the most frequent class gets `head`, the rarest `tail`."""
    counts = np.asarray(class_counts, np.float64)
    span = counts.max() - counts.min()
    position = (counts - counts.min()) / span if span else np.ones_like(counts)
    return tail + (head - tail) * np.sin(position * np.pi / 2)
