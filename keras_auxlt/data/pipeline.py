"""tf.data pipelines: the dual stream `((x_b, y_b), (x_r, y_r))`, single streams and evaluation.

Batch sizes are global and per stream: with batch_size=128 each step draws 128 balanced
and 128 random images; under a `tf.distribute` strategy Keras splits every batch across
replicas (128 / R per replica per stream), so the recipe's numbers stay those of one device.

Everything random is stateless: sampled indices come from (sampler seed, step) and each
image's augmentation from (augmentation seed, position in the stream), so the stream built
with `start_step=k` yields exactly what the stream built from step 0 yields at step k.
Images leave the pipeline as float32 pixels in [0, 255]; the model normalises them.
"""

import numpy as np
import tensorflow as tf

from keras_auxlt.choices import RANDOM_SAMPLER, STREAMS
from keras_auxlt.data import augment
from keras_auxlt.data.config import PipelineConfig as PipelineConfig  # the pipeline's callers take it from here
from keras_auxlt.data.config import steps_per_epoch as steps_per_epoch
from keras_auxlt.data.decoding import decode_rgb
from keras_auxlt.data.samplers import make_sampler


def stream_sampler(stream, config):
    """The sampler that draws `stream` (choices.STREAMS): the random stream's, or --balanced_sampler.

    Seeds derive from the sampler's name, so runs recorded before the streams had their names draw the same."""
    if stream not in STREAMS:
        raise ValueError(f"Unknown stream. Accepted: {', '.join(STREAMS)}. Received: stream={stream!r}")
    return RANDOM_SAMPLER if stream == "random" else config.balanced_sampler


def derive_seed(seed, *purpose):
    """An independent 31-bit seed for one purpose (stream, sampler or augmentation) of a run seed.

    The string folding is part of what makes documented runs reproducible: changing it changes
    every run's sample and augmentation draws."""
    words = [seed] + [sum(ord(c) << (8 * (i % 4)) for i, c in enumerate(p)) if isinstance(p, str) else p for p in purpose]
    return int(np.random.SeedSequence(words).generate_state(1)[0] >> 1)


def image_loader(split):
    """`fn(index) -> uint8 [H, W, 3]` reading one example of the split."""
    if split.images is not None:
        images = tf.constant(split.images)
        return lambda i: tf.gather(images, i)
    paths = tf.constant(split.paths)

    def load(i):
        return decode_rgb(tf.io.read_file(tf.gather(paths, i)))

    return load


def check_shard(batch_size, shard):
    index, count = shard
    if count < 1 or not 0 <= index < count or batch_size % count:
        raise ValueError(f"shard {index} of {count}: needs 0 <= index < count and a batch size ({batch_size}) "
                         "divisible by the shard count")
    return batch_size // count


def sampled_stream(split, sampler_name, config, start_step=0, shard=(0, 1)):
    """Batches (x [B, S, S, 3] float32, y [B] int64) drawn by one sampler, from `start_step` on.

    `shard=(i, n)`: rows [i B/n, (i+1) B/n) of every global batch only, so n workers with shards
    0..n-1 together see exactly the batches of the unsharded stream (same samples, same
    augmentation draws) and each decodes only its own rows.
    """
    batch = config.batch_size
    rows = check_shard(batch, shard)
    first = shard[0] * rows
    sampler = make_sampler(sampler_name, split.labels, split.num_classes, derive_seed(config.seed, sampler_name, "idx"))
    aug_seed = derive_seed(config.seed, sampler_name, "aug")
    transform = augment.train_transform(config.augment, config.image_size, config.auto_augment)
    load = image_loader(split)
    labels = tf.constant(split.labels)

    def per_example(step, indices):
        positions = step * batch + tf.range(batch, dtype=tf.int64)
        return tf.data.Dataset.from_tensor_slices((indices[first:first + rows], positions[first:first + rows]))

    def example(index, position):
        seed = tf.stack([tf.constant(aug_seed, tf.int64), position])
        return transform(load(index), seed), tf.gather(labels, index)

    steps = tf.data.Dataset.range(start_step, np.iinfo(np.int64).max)
    ds = tf.data.Dataset.zip(steps, sampler.dataset(batch, start_step)).flat_map(per_example)
    ds = ds.map(example, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(rows, drop_remainder=True)


def dual_stream(split, config, start_step=0, shard=(0, 1)):
    """`((x_b, y_b), (x_r, y_r))` per step: the balanced stream's and the random stream's batches."""
    split.require_all_classes()
    balanced = sampled_stream(split, stream_sampler("balanced", config), config, start_step, shard)
    random = sampled_stream(split, stream_sampler("random", config), config, start_step, shard)
    return tf.data.Dataset.zip(balanced, random).prefetch(tf.data.AUTOTUNE)


def single_stream(split, config, stream="random", start_step=0, shard=(0, 1)):
    """`(x, y)` per step from one stream (the single-stream methods)."""
    if stream != "random":
        split.require_all_classes()
    return sampled_stream(split, stream_sampler(stream, config), config, start_step, shard).prefetch(tf.data.AUTOTUNE)


def eval_dataset(split, config, batch_size=None):
    """The whole split once, in order, with the evaluation transform: (x, y) batches."""
    load = image_loader(split)
    labels = tf.constant(split.labels)
    size, style = config.image_size, config.eval_style
    ds = tf.data.Dataset.range(len(split)).map(
        lambda i: (augment.eval_transform(load(i), size, style), tf.gather(labels, i)),
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return ds.batch(batch_size or config.batch_size).prefetch(tf.data.AUTOTUNE)
