"""The SavedModel's serving signatures around a primary model (images -> logits).

Two signatures, one per input type, both `tensorflow/serving/predict` with a dynamic batch:

    serving_default   images       float32 [N, S, S, 3], raw pixels in [0, 255] (S = training image size)
    serving_bytes     image_bytes  string  [N], encoded JPEG / PNG / BMP / GIF (first frame)

`serving_bytes` reads each image's header first and refuses (InvalidArgument, naming the image,
its size and the limit) one that declares more than `max_pixels` pixels or has no readable
header, before decoding anything (`export.image_headers`); then it decodes (to the pixels PIL
gives, as training did: `keras_auxlt.data.decoding`), resizes (and centre-crops for ImageNet-style
runs) exactly as evaluation does (`keras_auxlt.data.augment.eval_transform`); normalisation is
inside the model.
Both return the same outputs:

    logits       float32 [N, C]
    probs        float32 [N, C]   softmax of logits / T (T: the run's temperature, fitted on validation; 1 = raw)
    classes      int32   [N, K]   indices of the K most probable classes, most probable first
    class_names  string  [N, K]   their names, looked up in the labels asset (assets/labels.txt)
"""


import tensorflow as tf

from keras_auxlt.data.augment import eval_transform
from keras_auxlt.data.decoding import decode_rgb
from keras_auxlt.export import image_headers
from keras_auxlt.export.metadata import DEFAULT_MAX_PIXELS

LABELS_FILE = "labels.txt"
IMAGES_INPUT = "images"
BYTES_INPUT = "image_bytes"
OUTPUTS = ("logits", "probs", "classes", "class_names")


class ServingModule(tf.Module):
    """Tracks only the primary model, the labels table and the export info asset (`EXPORT_INFO_FILE`, a
    JSON object written by the exporter): nothing else ends up in the SavedModel."""

    def __init__(self, primary_model, labels_path, info_path, image_size, eval_style, top_k,
                 max_pixels=DEFAULT_MAX_PIXELS, temperature=1.0):
        super().__init__(name="auxlt_serving")
        self.model = primary_model
        self.temperature = float(temperature)
        self.image_size = int(image_size)
        self.eval_style = eval_style
        self.top_k = int(top_k)
        self.max_pixels = int(max_pixels)
        self.labels = tf.saved_model.Asset(labels_path)
        self.info = tf.saved_model.Asset(info_path)
        self.table = tf.lookup.StaticHashTable(
            tf.lookup.TextFileInitializer(self.labels, tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER,
                                          tf.string, tf.lookup.TextFileIndex.WHOLE_LINE),
            default_value="")
        size = self.image_size
        self.serve_images = tf.function(
            self._serve_images, input_signature=[tf.TensorSpec([None, size, size, 3], tf.float32, IMAGES_INPUT)])
        self.serve_bytes = tf.function(
            self._serve_bytes, input_signature=[tf.TensorSpec([None], tf.string, BYTES_INPUT)])

    def signatures(self):
        return {"serving_default": self.serve_images, "serving_bytes": self.serve_bytes}

    def _outputs(self, logits):
        logits = tf.cast(logits, tf.float32)
        probs = tf.nn.softmax(logits / self.temperature, axis=-1)
        _, classes = tf.math.top_k(probs, k=self.top_k)
        return {"logits": logits, "probs": probs, "classes": classes,
                "class_names": self.table.lookup(tf.cast(classes, tf.int64))}

    def _serve_images(self, images):
        return self._outputs(self.model(images, training=False))

    def _serve_bytes(self, image_bytes):
        return self._serve_images(decode_images(image_bytes, self.image_size, self.eval_style, self.max_pixels))


def decode_images(image_bytes, image_size, eval_style, max_pixels=DEFAULT_MAX_PIXELS):
    """Encoded images [N] -> float32 [N, S, S, 3] pixels, as evaluation prepares them; an image whose
    header is unreadable or declares more than `max_pixels` pixels raises InvalidArgument undecoded."""

    def decode(item):
        data, index = item
        size = image_headers.declared_size(data)
        with tf.control_dependencies([image_headers.check_size(size, max_pixels, index)]):
            image = decode_rgb(image_headers.decodable(data, size))
        return tf.ensure_shape(eval_transform(image, image_size, eval_style), [image_size, image_size, 3])

    indices = tf.range(tf.size(image_bytes, tf.int64))
    return tf.map_fn(decode, (image_bytes, indices),
                     fn_output_signature=tf.TensorSpec([image_size, image_size, 3], tf.float32))
