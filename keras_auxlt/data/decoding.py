"""Encoded image bytes -> RGB pixels, the same everywhere: training, validation of files, serving.

JPEG is decoded with libjpeg's accurate integer DCT, as PIL, OpenCV and torchvision decode it.
`tf.io.decode_image` uses the fast DCT instead, whose pixels differ from those by up to 5 levels
(1 on average on the shared CIFAR-10 JPEGs, and the red and blue means 1.1 and 1.3 levels lower):
a model trained on them would see other pixels than a client that decodes with PIL and sends raw
pixels (the ONNX model, the float-pixel signature). PNG, BMP and GIF (first frame) decode exactly
either way.
"""

import tensorflow as tf

# How JPEG is decoded, recorded in every run's config.json ("derived"): runs without it were trained by
# code of before 2026-12-02, which decoded with TensorFlow's default (fast) DCT.
JPEG_DCT = "INTEGER_ACCURATE"


def decode_rgb(data):
    """uint8 [H, W, 3] of one encoded image (a scalar string tensor); raises InvalidArgument if undecodable."""
    image = tf.cond(tf.io.is_jpeg(data),
                    lambda: tf.io.decode_jpeg(data, channels=3, dct_method=JPEG_DCT),
                    lambda: tf.io.decode_image(data, channels=3, expand_animations=False))
    return tf.ensure_shape(image, [None, None, 3])
