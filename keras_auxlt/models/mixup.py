"""Input mixup (Zhang et al., ICLR 2018) inside the training step: `--mixup_alpha`, `--mixup_streams`.

A mixed stream's batch x becomes lam * x + (1 - lam) * x[partner], with one lam ~ Beta(alpha, alpha)
per batch, folded to lam >= 0.5 so that the batch's own labels stay the dominant ones (the accuracy
trackers read them), and `partner` a random permutation of the batch. Every loss L(labels) of that
batch becomes lam * L(y) + (1 - lam) * L(y[partner]): cross-entropy is linear in its target, so this is
CE against the mixed one-hot target, and the class-weighted and logit-adjusted losses mix the same way.

lam and the permutation are stateless in (seed, step, heads), `heads` being the heads that learn from the
batch ("primary", or the "auxiliary" heads of a two-stream step): a resumed run mixes exactly as an
uninterrupted one, and the two streams of one step mix independently. Under a distribution strategy
each replica mixes within its own part of the batch.
"""

from typing import NamedTuple

import tensorflow as tf

HEADS_SALT = {"primary": 1, "auxiliary": 2}  # keeps the streams' draws apart (and apart from rotation's)


class Mix(NamedTuple):
    lam: tf.Tensor  # scalar float32 in [0.5, 1]
    partner: tf.Tensor  # [batch] int32 permutation


def sample(batch, alpha, seed, step, heads):
    """The Mix of one stream's batch at a training step; `heads`: "primary" or "auxiliary", the heads
    that learn from it."""
    base = tf.stack([tf.constant(seed, tf.int64), tf.cast(step, tf.int64)])
    salt = 3 * HEADS_SALT[heads]
    seeds = [tf.random.experimental.stateless_fold_in(base, salt + i) for i in range(3)]
    # Beta(alpha, alpha) as G1 / (G1 + G2) with G1, G2 ~ Gamma(alpha).
    g1, g2 = (tf.random.stateless_gamma([], seed=s, alpha=alpha, dtype=tf.float32) for s in seeds[:2])
    lam = g1 / tf.maximum(g1 + g2, 1e-12)
    lam = tf.maximum(lam, 1.0 - lam)
    partner = tf.argsort(tf.random.stateless_uniform([batch], seed=seeds[2]))
    return Mix(lam, tf.cast(partner, tf.int32))


def mix_images(images, mix):
    lam = tf.cast(mix.lam, images.dtype)
    return lam * images + (1 - lam) * tf.gather(images, mix.partner)


def mixed_loss(loss_of_labels, labels, mix):
    """loss_of_labels(labels) of an unmixed batch (mix None), else its mixup mixture."""
    if mix is None:
        return loss_of_labels(labels)
    own = loss_of_labels(labels)
    lam = tf.cast(mix.lam, own.dtype)
    return lam * own + (1 - lam) * loss_of_labels(tf.gather(labels, mix.partner))
