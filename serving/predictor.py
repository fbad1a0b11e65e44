"""Predict requests, whatever the transport: look up the version and signature, check the inputs,
run them (through a dynamic batcher when batching is on) and turn TensorFlow errors into 400s."""

import dataclasses
import threading

import tensorflow as tf

from serving.batching import Batcher
from serving.errors import invalid
from serving.tensors import check_inputs


@dataclasses.dataclass(frozen=True)
class BatchingOptions:
    enabled: bool = True
    max_batch_size: int = 64  # rows per merged call; also the largest batch one request may send
    timeout_seconds: float = 0.002  # how long the first request of a batch waits for company


class Predictor:
    def __init__(self, registry, batching=BatchingOptions()):
        self.registry = registry
        self.batching = batching
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
        try:
            if self.batching.enabled:
                outputs = self._batcher(model, signature).submit(inputs, size)
            else:
                outputs = signature(inputs)
        except tf.errors.InvalidArgumentError as e:
            raise invalid(f"Invalid input for signature {signature.name!r}: {tf_error_summary(e.message)}")
        return model, signature, outputs

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


def tf_error_summary(message):
    """The line of a TensorFlow runtime error that says what is wrong, without graph and stack noise."""
    noise = ("Graph execution error", "Detected at node", "<stack traces unavailable>", "[[{{node")
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith(noise)]
    return (useful or lines or ["unknown error"])[0]
