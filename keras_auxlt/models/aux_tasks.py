"""The auxiliary tasks of method.md: the rotation task's targets and images, and the auxiliary losses' lambda schedule.

The class-aware tasks' ingredients (class weights, the log prior) are in `class_priors`."""

import keras
import tensorflow as tf

NUM_ROTATIONS = 4


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
