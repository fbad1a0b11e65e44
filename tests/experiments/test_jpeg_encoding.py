"""experiments/jpeg_encoding.py: the report of how a data set's JPEG files were encoded."""

import io

import numpy as np
from PIL import Image

from experiments.jpeg_encoding import encoding_lines, ijg_quality


def encoded(fmt="JPEG", **options):
    pixels = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt, **options)
    return buffer.getvalue()


def test_the_quality_and_subsampling_pil_encoded_with_are_read_back():
    files = [encoded(quality=75), encoded(quality=75), encoded(quality=95, subsampling=0)]
    assert encoding_lines(files) == ["encoding: 2 of 3 files 4:2:0 chroma subsampling, IJG quality 75",
                                     "encoding: 1 of 3 files 4:4:4 chroma subsampling, IJG quality 95"]


def test_a_table_no_quality_setting_gives_is_not_given_a_quality():
    assert ijg_quality([8, 6, 5, 8, 12, 20, 26, 31] + [50] * 56) is None
    assert ijg_quality(np.full(64, 1)) == 100


def test_files_that_are_not_jpeg_are_counted_by_their_format():
    assert encoding_lines([encoded("PNG"), encoded(quality=50)]) == [
        "encoding: 1 of 2 files PNG", "encoding: 1 of 2 files 4:2:0 chroma subsampling, IJG quality 50"]
