"""Per-image transforms for training and evaluation, random parts stateless from a seed.

Transforms take a uint8 image [H, W, 3] and a per-image seed (int64 [2]) and return float32
pixels in [0, 255]. Normalisation (mean/std) is not done here: it lives inside the model
(`keras_auxlt.models.layers.PixelNormalization`), so an exported model takes raw pixels.
"""

import tensorflow as tf

from keras_auxlt.choices import EVAL_STYLES
from keras_auxlt.data.config import check_augmentation
from keras_auxlt.data.errors import DataError

EVAL_CROP_FRACTION = 0.875  # ImageNet-style evaluation: resize to size / 0.875, centre-crop size
CIFAR_PAD = 4  # CIFAR augmentation pads 4 pixels (the reference code), or image_size / 8 when that is more: 8 at 64x64


def _sub_seeds(seed, n):
    return tf.unstack(tf.random.experimental.stateless_split(seed, num=n))


def _resize_to(image, size):
    """Resize to size x size only when the image is not that size already."""
    shape = tf.shape(image)
    return tf.cond(
        tf.logical_and(shape[0] == size, shape[1] == size),
        lambda: tf.cast(image, tf.float32),
        lambda: tf.image.resize(tf.cast(image, tf.float32), [size, size]),
    )


def cifar_train(image, seed, image_size=32):
    """Zero padding of 4 pixels (image_size / 8 above 32x32: 8 at 64x64), random image_size crop, random
    horizontal flip."""
    crop_seed, flip_seed = _sub_seeds(seed, 2)
    image = _resize_to(image, image_size)
    pad = max(CIFAR_PAD, image_size // 8)
    image = tf.pad(image, [[pad, pad], [pad, pad], [0, 0]])
    image = tf.image.stateless_random_crop(image, [image_size, image_size, 3], seed=crop_seed)
    return tf.image.stateless_random_flip_left_right(image, seed=flip_seed)


def imagenet_train(image, seed, image_size=224, auto_augment=""):
    """Random-resized crop (scale 0.08-1, aspect 3/4-4/3), flip, optional RandAugment/AutoAugment."""
    box_seed, flip_seed = _sub_seeds(seed, 2)
    begin, size, _ = tf.image.stateless_sample_distorted_bounding_box(
        tf.shape(image), bounding_boxes=tf.constant([[[0.0, 0.0, 1.0, 1.0]]]), seed=box_seed,
        min_object_covered=0.0, aspect_ratio_range=(3 / 4, 4 / 3), area_range=(0.08, 1.0),
        max_attempts=10, use_image_if_no_bounding_boxes=True)
    image = tf.slice(image, begin, size)
    image = tf.image.resize(tf.cast(image, tf.float32), [image_size, image_size])
    image = tf.image.stateless_random_flip_left_right(image, seed=flip_seed)
    if auto_augment:
        image = tf.cast(_auto_augmenter(auto_augment).distort(tf.cast(tf.clip_by_value(image, 0, 255), tf.uint8)),
                        tf.float32)
    return image


def eval_transform(image, image_size, style):
    """CIFAR style: the image as it is (resized if not image_size). ImageNet style: resize, centre crop."""
    if style not in EVAL_STYLES:
        raise DataError(f"Unknown evaluation style. Accepted: {', '.join(EVAL_STYLES)}. Received: eval_style={style!r}")
    if style != "imagenet":
        return _resize_to(image, image_size)
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    scale = (image_size / EVAL_CROP_FRACTION) / tf.reduce_min(shape)
    resized = tf.image.resize(tf.cast(image, tf.float32), tf.cast(tf.round(shape * scale), tf.int32))
    return tf.image.resize_with_crop_or_pad(resized, image_size, image_size)


def train_transform(name, image_size, auto_augment=""):
    """The training transform `fn(image, seed) -> float32 image` for an augmentation name."""
    check_augmentation(name, auto_augment)
    if name == "cifar":
        return lambda image, seed: cifar_train(image, seed, image_size)
    if name == "imagenet":
        return lambda image, seed: imagenet_train(image, seed, image_size, auto_augment)
    return lambda image, seed: _resize_to(image, image_size)


def _auto_augmenter(policy):
    from official.vision.ops import augment  # tf-models-official; imported only when asked for

    return augment.RandAugment(num_layers=2, magnitude=9) if policy == "randaugment" else augment.AutoAugment()
