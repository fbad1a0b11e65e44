"""Predict requests, whatever the transport: look up the version and signature, check the inputs
(for encoded images, the size their headers declare), run them within the server's limits (through a
dynamic batcher when batching is on) and turn TensorFlow errors into 400s."""

import dataclasses
import threading

import tensorflow as tf

from keras_auxlt.export import image_headers
from keras_auxlt.export.metadata import DEFAULT_MAX_PIXELS
from keras_auxlt.serving.admission import Admission
from keras_auxlt.serving.batching import Batcher
from keras_auxlt.serving.errors import invalid
from keras_auxlt.serving.tensors import check_inputs


@dataclasses.dataclass(frozen=True)
class BatchingOptions:
    enabled: bool = True
    max_batch_size: int = 64  # rows per merged call; also the largest batch one request may send
    timeout_seconds: float = 0.002  # how long the first request of a batch waits for company


@dataclasses.dataclass(frozen=True)
class Limits:
    max_concurrent: int = 4  # requests checked and run at once
    max_queued: int = 64  # admitted requests waiting beyond those; more are refused with 429
    timeout_seconds: float = 30.0  # a request not answered by then gets 504
    max_image_pixels: int = 0  # 0: what the export records (image_headers' default for older exports)


class Predictor:
    def __init__(self, registry, batching=BatchingOptions(), limits=Limits()):
        self.registry = registry
        self.batching = batching
        self.limits = limits
        self.admission = Admission(limits.max_concurrent, limits.max_queued, limits.timeout_seconds)
        self._batchers = {}  # (version, signature name) -> Batcher
        self._lock = threading.Lock()
        self._retired = []  # batchers of versions no longer served: their stats still count

    def predict(self, model_name, version, signature_name, inputs):
        """(model version, signature, {output: ndarray}) for {input: ndarray}."""
        model = self.registry.get(model_name, version)
        signature = model.signature(signature_name)
        size = check_inputs(inputs, signature)
        if size > self.batching.max_batch_size:
            raise invalid(f"Batch size {size} exceeds the maximum of {self.batching.max_batch_size} rows per "
                          "request (--max_batch_size)")

        def work():
            for name, value in inputs.items():
                if signature.inputs[name].dtype == tf.string:
                    check_image_headers(value, self.max_image_pixels(model))
            if self.batching.enabled:
                return self._batcher(model, signature).enqueue(inputs, size)
            return signature(inputs)

        try:
            outputs = self.admission.run(work)
        except tf.errors.InvalidArgumentError as e:
            raise invalid(f"Invalid input for signature {signature.name!r}: {tf_error_summary(e.message)}")
        return model, signature, outputs

    def max_image_pixels(self, model):
        """The pixel limit for this version: the export's own, lowered by --max_image_pixels if that is set."""
        recorded = model.export_info.get("max_image_pixels", DEFAULT_MAX_PIXELS)
        return min(recorded, self.limits.max_image_pixels) if self.limits.max_image_pixels else recorded

    def _batcher(self, model, signature):
        key = (model.version, signature.name)
        with self._lock:
            if key not in self._batchers:
                self._batchers[key] = Batcher(signature, self.batching.max_batch_size, self.batching.timeout_seconds,
                                              name=f"{model.name}-{model.version}-{signature.name}")
            return self._batchers[key]

    def retire(self, version):
        """Stop the batchers of a version that is no longer served."""
        with self._lock:
            for key in [k for k in self._batchers if k[0] == version]:
                batcher = self._batchers.pop(key)
                batcher.close()
                self._retired.append(batcher)

    def batching_stats(self):
        with self._lock:
            batchers = list(self._batchers.values()) + self._retired
        totals = {"requests": 0, "batches": 0, "rows": 0}
        for batcher in batchers:
            for key in totals:
                totals[key] += batcher.stats()[key]
        totals["mean_batch_rows"] = totals["rows"] / totals["batches"] if totals["batches"] else 0.0
        return totals


_declared_size = tf.function(image_headers.declared_size, input_signature=[tf.TensorSpec([], tf.string)])


def trace_header_check():
    """Trace the header parser once, at start: the first request, hostile or not, need not pay for it."""
    _declared_size(tf.constant(b""))


def check_image_headers(images, max_pixels):
    """400 for the first encoded image whose header is unreadable or declares more than max_pixels pixels,
    with the message the exported signature would raise, before any image is decoded."""
    for index, data in enumerate(images.reshape(-1)):
        try:
            size = {key: value.numpy() for key, value in _declared_size(tf.constant(data)).items()}
        except tf.errors.InvalidArgumentError as e:  # libjpeg could not read a JPEG header
            raise invalid(f"image_bytes[{index}] (JPEG): {tf_error_summary(e.message)}")
        message = image_headers.refusal(size, max_pixels, index)
        if message:
            raise invalid(message)


def tf_error_summary(message):
    """The line of a TensorFlow runtime error that says what is wrong, without graph and stack noise."""
    noise = ("Graph execution error", "Detected at node", "<stack traces unavailable>", "[[{{node", "File \"")
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith(noise)]
    return (useful or lines or ["unknown error"])[0]
