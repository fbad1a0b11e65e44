"""Header sizes before decoding: what each format declares, refusals with one message in the graph and
in Python, the GIF cut to its first frame, and the SavedModel-side check that runs before decode_image."""

import numpy as np
import pytest
import tensorflow as tf

from keras_auxlt.export import image_headers
from keras_auxlt.export.signatures import decode_images
from tests import hostile_images

LIMIT = 1_000_000
declared_size = tf.function(image_headers.declared_size, input_signature=[tf.TensorSpec([], tf.string)])


def as_ints(size):
    return {key: int(value) for key, value in size.items()}


@tf.function(input_signature=[tf.TensorSpec([], tf.string)])
def checked(data):
    """The refusal op alone, as the serving signature runs it before decoding."""
    with tf.control_dependencies([image_headers.check_size(image_headers.declared_size(data), LIMIT, 3)]):
        return tf.constant(0)


def graph_message(data):
    with pytest.raises(tf.errors.InvalidArgumentError) as raised:
        checked(tf.constant(data))
    return raised.value.message


@pytest.mark.parametrize("fmt", hostile_images.FORMATS)
def test_real_images_declare_their_decoded_size_eagerly_and_in_a_dataset(fmt):
    data = hostile_images.encoded(fmt, width=40, height=30)
    decoded = tf.io.decode_image(data, channels=3, expand_animations=False)
    size = as_ints(declared_size(tf.constant(data)))
    assert (size["height"], size["width"]) == tuple(decoded.shape[:2]) == (30, 40)
    assert size["status"] == image_headers.OK and size["pixels"] == 1200
    assert image_headers.FORMATS[size["format"]] == fmt
    in_dataset = next(iter(tf.data.Dataset.from_tensors(data).map(image_headers.declared_size)))
    assert as_ints(in_dataset) == size
    checked(tf.constant(data))  # accepted: no error


@pytest.mark.parametrize("fmt", hostile_images.FORMATS)
def test_huge_declared_sizes_are_refused_naming_the_size_and_the_limit(fmt):
    data = hostile_images.oversized(fmt, 20_000, 20_000)
    assert len(data) < 2000
    size = as_ints(declared_size(tf.constant(data)))
    assert (size["width"], size["height"], size["pixels"]) == (20_000, 20_000, 400_000_000)
    expected = (f"image_bytes[3] ({fmt}) declares 20000 x 20000 pixels (400000000 pixels to decode), over the "
                f"limit of {LIMIT} pixels")
    assert expected in graph_message(data)
    assert image_headers.refusal(size, LIMIT, 3) == expected


def test_a_bmp_stored_top_down_counts_its_rows_and_a_negative_width_is_corrupt():
    assert as_ints(declared_size(tf.constant(hostile_images.bmp(3000, -2000))))["pixels"] == 6_000_000
    assert as_ints(declared_size(tf.constant(hostile_images.bmp(-3000, 2000))))["status"] == image_headers.CORRUPT


def test_a_png_declaring_the_largest_uint32_sides_does_not_overflow():
    size = as_ints(declared_size(tf.constant(hostile_images.png(2 ** 32 - 1, 2 ** 32 - 1, rows=0))))
    assert size["pixels"] == 2 ** 62 and image_headers.refusal(size, LIMIT) is not None


def test_a_gif_frame_larger_than_its_screen_counts_as_the_frame():
    size = as_ints(declared_size(tf.constant(hostile_images.gif(10, 10, frame_width=20_000, frame_height=20_000))))
    assert (size["width"], size["height"], size["pixels"]) == (10, 10, 400_000_000)
    assert "(400000000 pixels to decode)" in image_headers.refusal(size, LIMIT)


def test_an_animated_gif_is_decoded_from_its_first_frame_only():
    data = hostile_images.encoded("GIF", width=40, height=30, frames=4)
    size = declared_size(tf.constant(data))
    first = image_headers.decodable(tf.constant(data), size)
    assert 0 < int(size["decode_length"]) < len(data) // 2  # later frames are cut off
    np.testing.assert_array_equal(tf.io.decode_image(first, channels=3, expand_animations=False),
                                  tf.io.decode_image(data, channels=3, expand_animations=False))
    whole = hostile_images.encoded("PNG")
    assert image_headers.decodable(tf.constant(whole), declared_size(tf.constant(whole))).numpy() == whole


def test_a_gif_of_one_byte_blocks_is_refused_after_a_bounded_walk():
    data = hostile_images.gif_of_tiny_blocks(400_000)
    size = as_ints(declared_size(tf.constant(data)))
    assert size["status"] == image_headers.TOO_COMPLEX
    assert "first GIF frame takes too many blocks to find" in graph_message(data)


TRUNCATED_OR_CORRUPT = {
    "PNG ends in its signature": (hostile_images.png(40, 30)[:10], "(PNG): not decoded because it ends before"),
    "PNG without IHDR": (hostile_images.png(40, 30).replace(b"IHDR", b"IHDX"), "(PNG): not decoded because its "
                                                                            "header is corrupt"),
    "GIF ends in its screen": (hostile_images.gif(40, 30)[:9], "(GIF): not decoded because it ends before"),
    "GIF ends in its frame": (hostile_images.encoded("GIF")[:300], "(GIF): not decoded because it ends before"),
    "GIF with an unknown block": (hostile_images.gif(40, 30).replace(b"\x2c", b"\x99"),
                                  "(GIF): not decoded because its header is corrupt"),
    "GIF ends after an extension": (hostile_images.gif(40, 30)[:19] + b"\x21\xfe\x01a\x00",
                                    "(GIF): not decoded because it ends before"),
    "GIF with no frame": (hostile_images.gif(40, 30)[:19] + b"\x3b", "(GIF): not decoded because its header is "
                                                                     "corrupt"),
    "BMP ends in its header": (hostile_images.bmp(40, 30)[:20], "(BMP): not decoded because it ends before"),
    "not an image": (b"this is not an image", "image_bytes[3] is not a JPEG, PNG, GIF or BMP image"),
    "empty": (b"", "image_bytes[3] is not a JPEG, PNG, GIF or BMP image"),
}


@pytest.mark.parametrize("case", sorted(TRUNCATED_OR_CORRUPT))
def test_truncated_corrupt_and_unknown_headers_are_refused_with_one_message_in_graph_and_python(case):
    data, expected = TRUNCATED_OR_CORRUPT[case]
    message = graph_message(data)
    assert expected in message
    python = image_headers.refusal(as_ints(declared_size(tf.constant(data))), LIMIT, 3)
    assert python in message


def test_a_jpeg_header_libjpeg_cannot_read_is_refused_by_libjpeg():
    with pytest.raises(tf.errors.InvalidArgumentError, match="Invalid JPEG data"):
        checked(tf.constant(hostile_images.encoded("JPEG")[:30]))


def test_decode_images_refuses_before_decoding_and_names_the_image_in_the_batch():
    good = hostile_images.encoded("PNG", 32, 32)
    images = decode_images(tf.constant([good, good]), 32, "cifar", max_pixels=LIMIT)
    assert images.shape == (2, 32, 32, 3)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"image_bytes\[1\] \(PNG\) declares 20000 x 20000"):
        decode_images(tf.constant([good, hostile_images.png(20_000, 20_000)]), 32, "cifar", max_pixels=LIMIT)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"image_bytes\[0\] \(PNG\) declares 32 x 32 pixels "
                                                             r"\(1024 pixels to decode\), over the limit of 1000"):
        decode_images(tf.constant([good]), 32, "cifar", max_pixels=1000)
