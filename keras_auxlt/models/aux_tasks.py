"""The auxiliary tasks of method.md and the baselines' class-aware losses: their fixed ingredients."""

import keras
import numpy as np
import tensorflow as tf

NUM_ROTATIONS = 4
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
    """log(n_c / N): the training prior that logit adjustment adds or removes (float64)."""
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


def rotation_targets(batch, seed, step):
    """The rotation task's k in {0..3} for each of `batch` images at a training step (stateless in seed, step)."""
    return tf.random.stateless_uniform([batch], seed=tf.stack([tf.constant(seed, tf.int64), tf.cast(step, tf.int64)]),
                                       maxval=NUM_ROTATIONS, dtype=tf.int32)


def rotate_batch(images, k):
    """Rotate each image [N, S, S, C] counter-clockwise by k[i] * 90 degrees (square images)."""
    rotations = tf.stack([tf.image.rot90(images, r) for r in range(NUM_ROTATIONS)])  # [4, N, S, S, C]
    return tf.gather_nd(rotations, tf.stack([tf.cast(k, tf.int32), tf.range(tf.shape(images)[0])], axis=1))


def lambda_weight(schedule, step, total_steps):
    """Weight multiplier of the auxiliary losses at a step: 1, or 1 - (t / T)^2 (BBN cumulative)."""
    if schedule == "constant":
        return tf.constant(1.0, keras.config.floatx())
    progress = tf.minimum(tf.cast(step, keras.config.floatx()) / float(max(total_steps, 1)), 1.0)
    return 1.0 - tf.square(progress)
