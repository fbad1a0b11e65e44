"""Decode a CIFAR-10 image folder (or its archive) into the arrays the reference code's CIFAR10 wrapper reads.

    ./run python benchmarks/reference_code/decode_cifar10.py ../shared/data/cifar10/cifar10_jpg.tar.gz \
        ~/auxlt/ref/cifar10_jpg_tf_fast_dct.npz

Decodes with `tf.io.decode_image`, TensorFlow's fast DCT: the pixels the results page's 200-epoch runs trained
on (code of before 2026-12-02), so that the reference run sees exactly those. Writes classes (folder order, our
class indices), train_x / test_x (uint8, N×32×32×3) and train_y / test_y, and prints each split's shape, class
counts and channel means (train: 0.4868 / 0.4822 / 0.4414 for the shared archive).
"""

import sys

import numpy as np
import tensorflow as tf

from keras_auxlt.data.sources import ImageFolderSource


def decode_split(source, split_name):
    split = source.load(split_name)
    images = np.stack([tf.io.decode_image(tf.io.read_file(path), channels=3).numpy() for path in split.paths])
    return images.astype(np.uint8), np.asarray(split.labels, np.int64)


def main(argv):
    if len(argv) != 3:
        raise SystemExit(f"usage: {argv[0]} <CIFAR-10 image folder or archive> <output .npz>")
    source = ImageFolderSource(argv[1])
    arrays = {}
    for split_name in ("train", "test"):
        images, labels = decode_split(source, split_name)
        arrays[f"{split_name}_x"], arrays[f"{split_name}_y"] = images, labels
        means = " / ".join(f"{m:.4f}" for m in (images / 255.0).mean(axis=(0, 1, 2)))
        print(f"{split_name}: {images.shape}, per class {np.bincount(labels).tolist()}, channel means {means}")
    np.savez(argv[2], classes=np.asarray(source.class_names), **arrays)
    print(f"wrote {argv[2]}")


if __name__ == "__main__":
    main(sys.argv)
