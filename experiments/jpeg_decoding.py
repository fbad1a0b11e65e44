"""How far TensorFlow's default JPEG decoding is from PIL's on a data set: the figures behind
keras_auxlt/data/decoding.py and docs/data.md ("Decoding").

    ./run python -m experiments.jpeg_decoding --data_dir=../shared/data/cifar10/cifar10_jpg.tar.gz

First it prints how the split's files were encoded (experiments/jpeg_encoding.py): their chroma subsampling
and the IJG quality whose standard luminance table each file carries. Then it decodes every --stride-th
image of the split three ways (PIL; `tf.io.decode_image`, TensorFlow's
default, the fast integer DCT; `keras_auxlt.data.decoding.decode_rgb`, what the project uses) and
prints each one's per-channel mean and standard deviation (pixels in [0, 1]) and its difference from
PIL's pixels: mean and largest absolute difference in levels (0-255), and the share of pixels that differ.
Those figures do not depend on what else the machine is doing. With --timing it also prints the decode
rate of both TensorFlow decoders, best of 3, alternated in one process, and their ratio: a timing, so only
on an otherwise idle machine.
"""

import io

import numpy as np
import tensorflow as tf
from absl import app, flags
from PIL import Image

from experiments.jpeg_encoding import encoding_lines
from keras_auxlt.data.decoding import decode_rgb
from keras_auxlt.data.sources import ImageFolderSource

flags.DEFINE_string("data_dir", "../shared/data/cifar10/cifar10_jpg.tar.gz", "Image folder or archive.")
flags.DEFINE_string("split", "train", "Split to read.")
flags.DEFINE_integer("stride", 50, "Decode every stride-th image of the split.")
flags.DEFINE_bool("timing", False, "Also time the two TensorFlow decoders (idle machine only).")
FLAGS = flags.FLAGS
FAST, OURS = "tf.io.decode_image (fast DCT)", "decode_rgb (the project's)"


def main(argv):
    del argv
    split = ImageFolderSource(FLAGS.data_dir).load(FLAGS.split)
    files = [open(path, "rb").read() for path in split.paths[::FLAGS.stride]]
    for line in encoding_lines(files):
        print(line)
    decoders = {
        "PIL": lambda data: np.asarray(Image.open(io.BytesIO(data)).convert("RGB")),
        FAST: lambda data: tf.io.decode_image(data, channels=3, expand_animations=False).numpy(),
        OURS: lambda data: decode_rgb(tf.constant(data)).numpy(),
    }
    pixels = {name: np.concatenate([decode(data).reshape(-1, 3) for data in files]).astype(np.int64)
              for name, decode in decoders.items()}
    every = "all" if FLAGS.stride == 1 else f"every {FLAGS.stride}th"
    print(f"{len(files):,} images of {FLAGS.data_dir} {FLAGS.split} ({every}), "
          f"{len(pixels['PIL']):,} pixels")
    print(f"{'decoder':32s} {'mean R, G, B':24s} {'std R, G, B':24s} |diff| to PIL: mean   max  pixels differing")
    for name, values in pixels.items():
        diff = np.abs(values - pixels["PIL"])
        print(f"{name:32s} {fmt(values.mean(0) / 255):24s} {fmt(values.std(0) / 255):24s} "
              f"{diff.mean():18.3f} {diff.max():5d} {np.mean(diff.max(1) > 0):8.1%}")
    if FLAGS.timing:
        print_timing(files)


def print_timing(files):
    """Images per second of each TensorFlow decoder inside a tf.data map (as the pipeline decodes), side by side."""
    from benchmarks.common import drain, machine, timed_rate

    encoded = tf.data.Dataset.from_tensor_slices(tf.constant(files)).cache()
    drain(encoded, len(files))
    decoders = {FAST: lambda data: tf.io.decode_image(data, channels=3, expand_animations=False), OURS: decode_rgb}
    rates = {name: [] for name in decoders}
    for _ in range(3):  # alternated: drift of the machine falls on both
        for name, decode in decoders.items():
            dataset = encoded.map(decode)
            rates[name].append(timed_rate(lambda: drain(dataset, len(files)), len(files), repeats=1))
    for name, values in rates.items():
        print(f"{name:32s} {max(values):10,.0f} images/s (best of 3)")
    print(f"{OURS} / {FAST}: {max(rates[OURS]) / max(rates[FAST]):.2f}x the rate ({machine()})")


def fmt(values):
    return ", ".join(f"{v:.4f}" for v in values)


if __name__ == "__main__":
    app.run(main)
