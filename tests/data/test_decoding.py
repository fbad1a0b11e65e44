"""Images decode to the pixels PIL gives (keras_auxlt/data/decoding.py), in every place that decodes:
the training pipeline, the file check and the SavedModel's encoded-image signature."""

import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_auxlt.data.augment import eval_transform
from keras_auxlt.data.decoding import decode_rgb
from keras_auxlt.data.pipeline import image_loader
from keras_auxlt.data.split import Split
from keras_auxlt.export.signatures import decode_images


def photo_like(height, width, seed=0):
    """Smooth colour gradients plus noise: what JPEG's chroma subsampling and DCT round differently."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width)
    base = np.stack([np.sin(6 * x + c) * np.cos(5 * y - c) for c in range(3)], -1) * 100 + 128
    return np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)


def encoded(image, fmt, **options):
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, fmt, **options)
    return buffer.getvalue()


def pil_pixels(data):
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


CASES = {
    "jpeg q75 4:2:0": (photo_like(32, 32), "JPEG", dict(quality=75)),
    "jpeg odd size": (photo_like(29, 37, seed=1), "JPEG", dict(quality=90, subsampling=2)),
    "jpeg progressive 4:4:4": (photo_like(40, 24, seed=2), "JPEG", dict(quality=60, progressive=True, subsampling=0)),
    "jpeg greyscale": (photo_like(16, 16, seed=3)[..., 0], "JPEG", dict(quality=75)),
    "png": (photo_like(16, 16, seed=4), "PNG", {}),
}


@pytest.mark.parametrize("name", CASES)
def test_decoded_pixels_are_pils(name):
    image, fmt, options = CASES[name]
    data = encoded(image, fmt, **options)
    np.testing.assert_array_equal(decode_rgb(tf.constant(data)).numpy(), pil_pixels(data))
    np.testing.assert_array_equal(tf.function(decode_rgb)(tf.constant(data)).numpy(), pil_pixels(data))


def test_tensorflows_default_jpeg_decoding_is_not_pils():
    """What decode_rgb exists for: without it these pixels would be off by up to several levels."""
    data = encoded(photo_like(32, 32), "JPEG", quality=75)
    default = tf.io.decode_image(data, channels=3, expand_animations=False).numpy().astype(int)
    assert np.abs(default - pil_pixels(data)).max() >= 2


def test_the_training_pipeline_and_the_serving_signature_decode_as_pil_does(tmp_path):
    data = encoded(photo_like(32, 32, seed=5), "JPEG", quality=75)
    path = tmp_path / "image.jpg"
    path.write_bytes(data)
    split = Split("train", np.array([0]), ("a",), paths=np.array([str(path)], object))
    loaded = tf.data.Dataset.range(1).map(image_loader(split))  # in a graph, as the pipeline runs it
    np.testing.assert_array_equal(next(iter(loaded)).numpy(), pil_pixels(data))
    served = decode_images(tf.constant([data]), 32, "cifar")[0]
    np.testing.assert_array_equal(served.numpy(), eval_transform(tf.constant(pil_pixels(data)), 32, "cifar").numpy())


def test_an_undecodable_file_is_still_an_error():
    with pytest.raises(tf.errors.InvalidArgumentError):
        decode_rgb(tf.constant(b"\xff\xd8\xff\xe0 truncated jpeg"))
    with pytest.raises(tf.errors.InvalidArgumentError):
        decode_rgb(tf.constant(b"not an image"))
