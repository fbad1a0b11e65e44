"""What an encoded image declares about its size, read from its header before anything is decoded.

A 400 KB PNG can declare 20,000 x 20,000 pixels; decoding it allocates gigabytes. The serving
signature and the server therefore read the declared size first, with TensorFlow ops only (so the
check is part of the exported graph that TF Serving runs), and refuse an image above a pixel limit
before the decoder (`keras_auxlt.data.decoding`) sees it.

Formats, recognised by the same leading bytes `tf.io.decode_image` dispatches on:

    JPEG  FF D8 FF     tf.io.extract_jpeg_shape (libjpeg reads the frame header, nothing more)
    PNG   89 'PNG'     the IHDR chunk: width, height (big-endian uint32) at bytes 16 and 20
    GIF   'GIF8'       the logical screen (little-endian uint16 at 6 and 8) and the first frame's image
                       descriptor, found by walking the blocks before it. giflib reads every frame into
                       memory before TensorFlow keeps the first, and a frame may declare more pixels
                       than the screen, so only the bytes up to the end of the first frame (and a
                       trailer) are decoded: `decodable` cuts them
    BMP   'BM'         the info header: width, height (little-endian int32) at 18 and 22, as
                       TensorFlow's BMP decoder reads them (negative height = top-down rows)

Anything else, and a header that ends early or contradicts itself, is refused: `decode_image`
would fail on it anyway, after allocating.
"""

import tensorflow as tf

FORMATS = ("unknown", "JPEG", "PNG", "GIF", "BMP")  # index = format code
UNKNOWN, JPEG, PNG, GIF, BMP = range(len(FORMATS))
# Status codes of a header; STATUS_TEXT[code] completes "image_bytes[i]: ..." in error messages.
OK, TRUNCATED, CORRUPT, TOO_COMPLEX = range(4)
STATUS_TEXT = ("", "it ends before its header (for a GIF: its first frame) does", "its header is corrupt",
               "its first GIF frame takes too many blocks to find")
# A GIF is walked block by block up to the end of its first frame. Encoders write image data in 255-byte
# sub-blocks, so a 16-megapixel first frame takes at most ~65,000 steps; a crafted file of 1-byte
# sub-blocks is refused at this many steps instead of walked to its end.
GIF_MAX_STEPS = 65536
RUNNING = -1  # status of a GIF walk that has not ended


def _read(data, start, length):
    """Bytes [start, start + length) of a scalar string as int64 values (the string is long enough)."""
    return tf.cast(tf.io.decode_raw(tf.strings.substr(data, start, length), tf.uint8), tf.int64)


def _big_endian(values):
    return tf.reduce_sum(values * tf.bitwise.left_shift(tf.constant(1, tf.int64), 8 * tf.range(
        tf.size(values, tf.int64) - 1, -1, -1)))


def _little_endian(values):
    return _big_endian(tf.reverse(values, [0]))


def _result(status, height=0, width=0, pixels=None, decode_length=-1):
    """(status, height, width, pixels, bytes to decode: -1 = all) as int64 scalars."""
    height, width = tf.cast(height, tf.int64), tf.cast(width, tf.int64)
    if pixels is None:  # each side clamped to 2**31 so that the product cannot overflow int64
        pixels = tf.minimum(height, 2 ** 31) * tf.minimum(width, 2 ** 31)
    return tuple(tf.cast(v, tf.int64) for v in (status, height, width, pixels, decode_length))


def _png(data, length):
    def parse():
        corrupt = tf.strings.substr(data, 12, 4) != b"IHDR"
        width, height = _big_endian(_read(data, 16, 4)), _big_endian(_read(data, 20, 4))
        return _result(tf.where(corrupt, CORRUPT, OK), height, width)
    return tf.cond(length < 24, lambda: _result(TRUNCATED), parse)


def _bmp(data, length):
    def parse():
        width = _little_endian(_read(data, 18, 4))
        height = _little_endian(_read(data, 22, 4))
        width = tf.where(width >= 2 ** 31, width - 2 ** 32, width)  # int32 as written
        height = tf.where(height >= 2 ** 31, height - 2 ** 32, height)
        return _result(tf.where(width < 0, CORRUPT, OK), tf.abs(height), tf.abs(width))
    return tf.cond(length < 26, lambda: _result(TRUNCATED), parse)


def _jpeg(data, length):
    del length
    shape = tf.cast(tf.io.extract_jpeg_shape(data), tf.int64)  # raises InvalidArgument on a corrupt header
    return _result(OK, shape[0], shape[1])


def _gif(data, length):
    """The logical screen and the first frame, from a walk over the blocks up to the end of that frame."""

    def walk():
        raw = tf.cast(tf.io.decode_raw(data, tf.uint8), tf.int64)

        def at(i):
            return tf.gather(raw, tf.minimum(tf.cast(i, tf.int64), length - 1))

        def color_table(flags):  # bytes of a (global or local) color table announced by a packed field
            size = 3 * tf.bitwise.left_shift(tf.constant(2, tf.int64), tf.bitwise.bitwise_and(flags, 7))
            return tf.where(tf.bitwise.bitwise_and(flags, 0x80) > 0, size, 0)

        def skip_sub_blocks(pos, steps):
            """From a sub-block size byte to just past the 0 that ends the run (past `length` if none does)."""
            pos, steps = tf.while_loop(lambda pos, steps: (pos < length) & (at(pos) != 0) & (steps < GIF_MAX_STEPS),
                                       lambda pos, steps: (pos + 1 + at(pos), steps + 1), (pos, steps))
            return pos + 1, steps

        def extension(pos, steps):  # 21, label, sub-blocks
            pos, steps = skip_sub_blocks(pos + 2, steps)
            return pos, steps, tf.constant(RUNNING, tf.int64), tf.constant(0, tf.int64)

        def image(pos, steps):  # 2C, left, top, width, height (uint16 each), packed, [color table], LZW size, sub-blocks
            area = (at(pos + 5) + 256 * at(pos + 6)) * (at(pos + 7) + 256 * at(pos + 8))
            end, steps = skip_sub_blocks(pos + 11 + color_table(at(pos + 9)), steps)
            return end, steps, tf.constant(OK, tf.int64), area

        def other(pos, steps):  # the trailer before any frame, or no block at all
            return pos, steps, tf.constant(CORRUPT, tf.int64), tf.constant(0, tf.int64)

        def block(start, steps, status, area):
            byte = at(start)
            kind = tf.where(byte == 0x21, 0, tf.where(byte == 0x2C, 1, 2))
            pos, steps, status, area = tf.switch_case(kind, [lambda: extension(start, steps),
                                                             lambda: image(start, steps), lambda: other(start, steps)])
            status = tf.where((start >= length) | (pos > length), tf.constant(TRUNCATED, tf.int64),
                              tf.where(steps >= GIF_MAX_STEPS, tf.constant(TOO_COMPLEX, tf.int64), status))
            return pos, steps + 1, status, area

        zero = tf.constant(0, tf.int64)
        end, _, status, area = tf.while_loop(lambda pos, steps, status, area: status == RUNNING, block,
                                             (13 + color_table(at(10)), zero, tf.constant(RUNNING, tf.int64), zero))
        width, height = at(6) + 256 * at(7), at(8) + 256 * at(9)
        return _result(status, height, width, tf.maximum(width * height, area), end)

    return tf.cond(length < 13, lambda: _result(TRUNCATED), walk)


def _unknown(data, length):
    del data, length
    return _result(CORRUPT)


def format_of(data):
    """The format code of one encoded image (scalar string), by its leading bytes."""
    head = tf.strings.substr(data, 0, 4)
    code = tf.constant(UNKNOWN)
    for prefix, value in ((b"\xff\xd8\xff", JPEG), (b"\x89PNG", PNG), (b"GIF8", GIF), (b"BM", BMP)):
        code = tf.where(tf.strings.substr(head, 0, len(prefix)) == prefix, value, code)
    return code


def declared_size(data):
    """What one encoded image (scalar string) declares: a dict of int64 scalars

        format         index into FORMATS
        status         OK, TRUNCATED, CORRUPT or TOO_COMPLEX (STATUS_TEXT says why)
        height, width  the image's (for a GIF, the logical screen's)
        pixels         what decoding allocates per channel: height x width, for a GIF the larger of
                       the screen and the first frame
        decode_length  how many leading bytes `decodable` keeps (-1: all)

    JPEG headers that libjpeg cannot read raise InvalidArgument; every other problem is a status."""
    code = format_of(data)
    length = tf.cast(tf.strings.length(data), tf.int64)
    branches = [_unknown, _jpeg, _png, _gif, _bmp]
    values = tf.switch_case(code, [lambda f=f: f(data, length) for f in branches])
    return dict(zip(("status", "height", "width", "pixels", "decode_length"), values), format=tf.cast(code, tf.int64))


def decodable(data, size):
    """The bytes of `data` to hand to the decoder: all of them, or a GIF up to its first frame plus a trailer."""
    def first_frame():
        return tf.strings.join([tf.strings.substr(data, tf.constant(0, tf.int64), size["decode_length"]), b"\x3b"])

    return tf.cond(size["decode_length"] < 0, lambda: data, first_frame)


# Refusal messages, rendered by `check_size` in the graph and by `refusal` in Python: one text for both.
UNRECOGNISED = "image_bytes[{}] is not a JPEG, PNG, GIF or BMP image (unrecognised header)"
UNREADABLE = "image_bytes[{}] ({}): not decoded because {}"
TOO_LARGE = "image_bytes[{}] ({}) declares {} x {} pixels ({} pixels to decode), over the limit of {} pixels"


def _render(template, values):
    """`template.format(*values)` with tensors: numbers as decimal text, strings as they are."""
    pieces = template.split("{}")
    strings = [v if tf.convert_to_tensor(v).dtype == tf.string else tf.strings.as_string(v) for v in values]
    return tf.strings.join([piece for pair in zip(pieces, strings + [""]) for piece in pair])


def check_size(size, max_pixels, index=0):
    """An op that raises InvalidArgument, naming the size and the limit, unless image `index`'s header
    (`declared_size`) is readable and declares at most `max_pixels` pixels; run the decode under its control."""
    code, status, height, width, pixels = (size[k] for k in ("format", "status", "height", "width", "pixels"))
    name = tf.gather(tf.constant(FORMATS), code)
    message = tf.where(code == UNKNOWN, _render(UNRECOGNISED, [index]),
                       tf.where(status != OK, _render(UNREADABLE, [index, name, tf.gather(tf.constant(STATUS_TEXT),
                                                                                          status)]),
                                _render(TOO_LARGE, [index, name, width, height, pixels, int(max_pixels)])))
    return tf.debugging.Assert((code != UNKNOWN) & (status == OK) & (pixels <= max_pixels), [message])


def refusal(size, max_pixels, index=0):
    """The message `check_size` raises, from `declared_size`'s values as Python ints; None if accepted."""
    code, status, height, width, pixels = (int(size[k]) for k in ("format", "status", "height", "width", "pixels"))
    if code == UNKNOWN:
        return UNRECOGNISED.format(index)
    if status != OK:
        return UNREADABLE.format(index, FORMATS[code], STATUS_TEXT[status])
    if pixels > max_pixels:
        return TOO_LARGE.format(index, FORMATS[code], width, height, pixels, int(max_pixels))
    return None
