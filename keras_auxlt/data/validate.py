"""Checks that a split's image files exist and decode, reporting every bad file at once."""

import concurrent.futures
import os
import re

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from keras_auxlt.data.decoding import decode_rgb
from keras_auxlt.data.errors import DataError

_MAX_LISTED = 20
# TensorFlow wraps an eager op's message: "{{function_node __wrapped__DecodeImage_device_...}} <message> [Op:DecodeImage] name: "
_OP_WRAPPER = re.compile(r"^\{\{function_node [^}]*\}\}\s*|\s*\[Op:\w+\]( name:.*)?$")


def check_files_exist(split):
    """Raise naming every missing file (up to a limit) of a path-based split; fast, no decoding."""
    if split.paths is None:
        return split
    missing = [p for p in split.paths if not os.path.isfile(p)]
    if missing:
        raise DataError(_report(split, "missing image file", missing))
    return split


def find_bad_images(split, num_threads=8, progress=True):
    """(index, path, reason) for every file that cannot be read or decoded as an RGB image."""
    if split.paths is None:
        return []

    def check(i):
        path = split.paths[i]
        try:
            data = tf.io.read_file(path)
            image = decode_rgb(data)
            if image.shape[0] == 0 or image.shape[1] == 0:
                return i, path, "empty image"
        except (tf.errors.OpError, OSError) as e:
            return i, path, _reason(e)
        return None

    with concurrent.futures.ThreadPoolExecutor(num_threads) as pool:
        results = list(tqdm(pool.map(check, range(len(split))), total=len(split), disable=not progress,
                            desc=f"validating {split.name} images", unit=" img", mininterval=1.0))
    return [r for r in results if r is not None]


def validate_images(split, skip_bad=False, progress=True):
    """Decode every image of the split once; raise listing all bad files, or drop them if `skip_bad`.

    Returns (split, number of skipped files).
    """
    bad = find_bad_images(split, progress=progress)
    if not bad:
        return split, 0
    if not skip_bad:
        raise DataError(_report(split, "unreadable or corrupt image", [f"{p}: {reason}" for _, p, reason in bad])
                        + " (pass --skip_bad_images to train without them)")
    keep = np.setdiff1d(np.arange(len(split)), [i for i, _, _ in bad])
    return split.subset(keep), len(bad)


def _reason(error):
    """The first line of an error's message, without TensorFlow's op wrapper around it."""
    message = (error.message if hasattr(error, "message") else str(error)).strip()
    return _OP_WRAPPER.sub("", message.splitlines()[0] if message else "").strip() or type(error).__name__


def _report(split, what, items):
    """`<split>: <n> <what>(s):` and the items, one a line, up to a limit."""
    what = what if len(items) == 1 else what + "s"
    listed = "\n  ".join(items[:_MAX_LISTED])
    more = f"\n  ... and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else ""
    return f"{split.where}: {len(items)} {what}:\n  {listed}{more}"
