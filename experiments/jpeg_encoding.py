"""How JPEG files were encoded, read from their headers: chroma subsampling and libjpeg quality.
Printed by experiments/jpeg_decoding.py; no flags here, so tests and other benchmarks can import it."""

import collections
import io

import numpy as np
from PIL import Image, JpegImagePlugin

# The JPEG standard's example luminance quantisation table (ITU T.81, Annex K.1), row by row, which libjpeg
# scales by its quality setting; PIL's `quantization` lists tables in this (natural) order.
STANDARD_LUMINANCE = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99])
SUBSAMPLING = {0: "4:4:4", 1: "4:2:2", 2: "4:2:0"}  # PIL's JpegImagePlugin.get_sampling codes


def ijg_quality(table):
    """The libjpeg (IJG) quality setting 1-100 whose scaling of STANDARD_LUMINANCE gives `table` (64 values,
    natural order), or None when no setting does (a table of another encoder)."""
    table = np.asarray(table)
    for quality in range(1, 101):
        scale = 5000 // quality if quality < 50 else 200 - 2 * quality
        if np.array_equal(np.clip((STANDARD_LUMINANCE * scale + 50) // 100, 1, 255), table):
            return quality
    return None


def encoding_lines(files):
    """How the JPEG `files` (bytes) were encoded: one line per (chroma subsampling, IJG quality) with its count."""
    counts = collections.Counter()
    for data in files:
        image = Image.open(io.BytesIO(data))
        if image.format != "JPEG":
            counts[(image.format, None)] += 1
            continue
        sampling = SUBSAMPLING.get(JpegImagePlugin.get_sampling(image), "other subsampling")
        quality = ijg_quality(image.quantization[0])
        counts[(f"{sampling} chroma subsampling", f"IJG quality {quality}" if quality else "a non-IJG table")] += 1
    return [f"encoding: {n:,} of {len(files):,} files {kind}" + (f", {quality}" if quality else "")
            for (kind, quality), n in counts.most_common()]
