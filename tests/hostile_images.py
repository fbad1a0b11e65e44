"""Encoded images for the decode-limit tests: real ones of every format the serving signature takes,
and small files whose headers declare huge sizes, end early or lie."""

import io
import struct
import zlib

import numpy as np

FORMATS = ("JPEG", "PNG", "GIF", "BMP")


def encoded(fmt, width=40, height=30, frames=1, seed=0):
    """A real image (random pixels) of `fmt` as Pillow writes it; GIF may have several different frames."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    images = [Image.fromarray(rng.integers(0, 256, (height, width, 3), np.uint8)) for _ in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, format=fmt, save_all=frames > 1, append_images=images[1:])
    return buffer.getvalue()


def _png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width, height, rows=4, noisy_rows=0):
    """A PNG declaring width x height RGB pixels, with the compressed data of its first `rows` rows (black)
    and `noisy_rows` more of random pixels (which do not compress: they make the file as large as a photo's)."""
    noise = np.random.default_rng(0).integers(0, 256, (noisy_rows, 3 * width), np.uint8)
    raw = b"\x00" * (rows * (1 + 3 * width)) + b"".join(b"\x00" + row.tobytes() for row in noise)
    data = zlib.compress(raw)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + _png_chunk(b"IDAT", data) + _png_chunk(b"IEND", b""))


def jpeg(width, height):
    """A real 16 x 16 JPEG whose frame header (SOF0) is rewritten to declare width x height."""
    data = bytearray(encoded("JPEG", 16, 16))
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def gif(width, height, frame_width=None, frame_height=None):
    """A one-frame GIF with a width x height logical screen and a frame of frame_width x frame_height
    (default: the screen), with a two-colour table and a few bytes of image data."""
    frame = (frame_width or width, frame_height or height)
    return (b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
            + b"\x2c" + struct.pack("<HHHHB", 0, 0, *frame, 0) + b"\x02\x02\x44\x01\x00" + b"\x3b")


def gif_of_tiny_blocks(size=400_000):
    """A GIF whose first block is a comment extension of `size` / 2 one-byte sub-blocks: a walk to its
    first frame costs a step per two bytes."""
    blocks = b"\x21\xfe" + b"\x01a" * (size // 2) + b"\x00"
    return b"GIF89a" + struct.pack("<HHBBB", 10, 10, 0, 0, 0) + blocks + gif(10, 10)[13:]


def bmp(width, height):
    """A 24-bit BMP (BITMAPINFOHEADER) declaring width x height, with 64 bytes of pixel data."""
    row = b"\x00" * 64
    header = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(row), 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + len(header) + len(row), 0, 0, 14 + len(header)) + header + row


def oversized(fmt, width=20_000, height=20_000):
    return {"JPEG": jpeg, "PNG": png, "GIF": gif, "BMP": bmp}[fmt](width, height)
