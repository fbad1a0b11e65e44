"""Index samplers: which training examples each step draws, stateless from (seed, step).

Every sampler maps a step number to the `batch_size` example indices of that step, so a
run resumed at step k draws exactly what an uninterrupted run draws from step k on.

- `instance` (random): shuffled passes over all examples, a fresh permutation per pass, no
  repeats within a pass; batches run on across pass boundaries.
- `balanced`: a class uniformly, then an example of that class uniformly.
- `sqrt`: a class with probability proportional to sqrt(n_c), then an example uniformly.
- `reversed` (BBN): a class with probability proportional to 1 / n_c, then an example.

Class-weighted samplers draw the class with Walker's alias method and the example by
offsetting into the class's block of a class-sorted index array: O(1) per sample whatever
the number of classes. The instance sampler costs one `stateless_shuffle` per pass,
O(1) per sample amortised.
"""

import numpy as np
import tensorflow as tf

from keras_auxlt.choices import SAMPLERS
from keras_auxlt.data.errors import DataError

_INT64_MAX = np.iinfo(np.int64).max


def class_weights_for(sampler, class_counts):
    """Unnormalised class-sampling weights of a class-weighted sampler."""
    counts = np.asarray(class_counts, np.float64)
    if sampler == "balanced":
        return np.ones_like(counts)
    if sampler == "sqrt":
        return np.sqrt(counts)
    if sampler == "reversed":
        return 1.0 / counts
    raise DataError(f"Unknown class-weighted sampler. Accepted: balanced, sqrt, reversed. Received: sampler={sampler!r}")


def alias_table(weights):
    """Walker/Vose alias table (prob, alias) for sampling index i with probability w_i / sum(w)."""
    weights = np.asarray(weights, np.float64)
    n = len(weights)
    scaled = weights / weights.sum() * n
    prob = np.zeros(n)
    alias = np.arange(n)
    small = [i for i in range(n) if scaled[i] < 1.0]
    large = [i for i in range(n) if scaled[i] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        prob[s], alias[s] = scaled[s], g
        scaled[g] -= 1.0 - scaled[s]
        (small if scaled[g] < 1.0 else large).append(g)
    for i in small + large:
        prob[i] = 1.0
    return prob, alias


class ClassWeightedSampler:
    """Class drawn with the given weights, then an example of that class uniformly."""

    def __init__(self, labels, num_classes, class_weights, seed):
        labels = np.asarray(labels, np.int64)
        counts = np.bincount(labels, minlength=num_classes)
        if np.any(counts == 0):
            raise DataError(f"Class-weighted sampling needs every class present; empty classes: "
                            f"{np.flatnonzero(counts == 0)[:10].tolist()}")
        prob, alias = alias_table(class_weights)
        self._sorted = tf.constant(np.argsort(labels, kind="stable"), tf.int64)
        self._offsets = tf.constant(np.concatenate([[0], np.cumsum(counts)[:-1]]), tf.int64)
        self._counts = tf.constant(counts, tf.float64)
        self._prob = tf.constant(prob, tf.float64)
        self._alias = tf.constant(alias, tf.int64)
        self._num_classes = num_classes
        self._seed = seed

    def indices(self, step, batch_size):
        """Example indices of one step: int64 [batch_size]."""
        seed = tf.stack([tf.constant(self._seed, tf.int64), tf.cast(step, tf.int64)])
        u = tf.random.stateless_uniform([3, batch_size], seed=seed, dtype=tf.float64)
        slot = tf.minimum(tf.cast(u[0] * self._num_classes, tf.int64), self._num_classes - 1)
        cls = tf.where(u[1] < tf.gather(self._prob, slot), slot, tf.gather(self._alias, slot))
        count = tf.gather(self._counts, cls)
        within = tf.minimum(tf.cast(u[2] * count, tf.int64), tf.cast(count, tf.int64) - 1)
        return tf.gather(self._sorted, tf.gather(self._offsets, cls) + within)

    def dataset(self, batch_size, start_step=0):
        return tf.data.Dataset.range(start_step, _INT64_MAX).map(
            lambda step: self.indices(step, batch_size), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


class InstanceSampler:
    """Shuffled passes over all N examples (permutation of pass e seeded by (seed, e))."""

    def __init__(self, num_examples, seed):
        if num_examples < 1:
            raise DataError("Instance sampling needs at least one example")
        self._n = num_examples
        self._seed = seed

    def permutation(self, epoch):
        seed = tf.stack([tf.constant(self._seed, tf.int64), tf.cast(epoch, tf.int64)])
        return tf.random.experimental.stateless_shuffle(tf.range(self._n, dtype=tf.int64), seed=seed)

    def dataset(self, batch_size, start_step=0):
        start = start_step * batch_size
        first_epoch, offset = divmod(start, self._n)

        def trimmed(epoch):
            perm = self.permutation(epoch)
            return tf.cond(epoch == first_epoch, lambda: perm[offset:], lambda: perm)

        passes = tf.data.Dataset.range(first_epoch, _INT64_MAX).map(trimmed)
        return passes.rebatch(batch_size, drop_remainder=True)


def make_sampler(name, labels, num_classes, seed):
    """A sampler by name (see SAMPLERS) over a split's labels."""
    if name == "instance":
        return InstanceSampler(len(labels), seed)
    if name not in SAMPLERS:
        raise DataError(f"Unknown sampler. Accepted: {', '.join(SAMPLERS)}. Received: sampler={name!r}")
    counts = np.bincount(np.asarray(labels, np.int64), minlength=num_classes)
    with np.errstate(divide="ignore"):  # empty classes are reported by ClassWeightedSampler
        weights = class_weights_for(name, counts)
    return ClassWeightedSampler(labels, num_classes, weights, seed)
