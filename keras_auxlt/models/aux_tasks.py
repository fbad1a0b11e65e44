"""The auxiliary tasks of method.md: names, head sizes and their fixed ingredients."""

import keras
import numpy as np
import tensorflow as tf

NUM_ROTATIONS = 4
EFFECTIVE_NUMBER_BETA = 0.9999


def effective_number_weights(class_counts, beta=EFFECTIVE_NUMBER_BETA):
    """w_c proportional to (1 - beta) / (1 - beta^n_c), normalised to mean 1 over classes."""
    counts = np.asarray(class_counts, np.float64)
    weights = (1.0 - beta) / (1.0 - np.power(beta, counts))
    return weights / weights.mean()


def log_prior(class_counts):
    """log(n_c / N): the training prior that logit adjustment adds or removes (float64)."""
    counts = np.asarray(class_counts, np.float64)
    return np.log(counts / counts.sum())


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
