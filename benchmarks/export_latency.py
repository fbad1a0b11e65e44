"""Inference latency and throughput of an exported model: TF SavedModel against onnxruntime.

    ./run python -m benchmarks.export_latency --export_base exports --model_name cifar10_lt [--version N]

Loads <export_base>/<model_name>/<version> (default: the highest) and <model_name>-<version>.onnx
beside it, then times `serving_default` and the ONNX session on the same float32 batches at
each --batch_sizes, alternating the two runtimes round by round in one process so that machine
drift hits both alike. Reports median latency per call, images/s and the TF / ONNX latency ratio.
"""

import os
import statistics
import time

import numpy as np
import tensorflow as tf
from absl import app, flags

from benchmarks.common import machine
from keras_auxlt.export import onnx_model, versions
from keras_auxlt.export.exporter import onnx_path_for
from keras_auxlt.export.signatures import IMAGES_INPUT

flags.DEFINE_string("export_base", None, "Export base directory given to `python -m export`.", required=True)
flags.DEFINE_string("model_name", None, "Model name given to `python -m export`.", required=True)
flags.DEFINE_integer("version", 0, "Version to time; 0 = the highest.")
flags.DEFINE_list("batch_sizes", ["1", "64"], "Batch sizes.")
flags.DEFINE_integer("calls", 20, "Timed calls per runtime per round.")
flags.DEFINE_integer("rounds", 5, "Alternating rounds.")
FLAGS = flags.FLAGS


def per_call_seconds(fn, calls):
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def main(argv):
    del argv
    base_path = os.path.join(FLAGS.export_base, FLAGS.model_name)
    version = FLAGS.version or (versions.existing_versions(base_path) or [0])[-1]
    saved_model = os.path.join(base_path, str(version))
    onnx_file = onnx_path_for(FLAGS.export_base, FLAGS.model_name, version)
    for path in (saved_model, onnx_file):
        if not os.path.exists(path):
            raise app.UsageError(f"{path} not found: export with `python -m export` first")
    serve = tf.saved_model.load(saved_model).signatures["serving_default"]
    image_size = serve.structured_input_signature[1][IMAGES_INPUT].shape[1]
    sess = onnx_model.session(onnx_file)
    print(f"machine: {machine()}; onnxruntime {__import__('onnxruntime').__version__}")
    print(f"model: {saved_model} and {onnx_file}, {image_size}x{image_size} inputs; "
          f"{FLAGS.rounds} alternating rounds of {FLAGS.calls} calls")
    print(f"{'batch':>5} {'TF ms/call':>11} {'TF img/s':>9} {'ONNX ms/call':>13} {'ONNX img/s':>11} {'TF/ONNX':>8}")
    rng = np.random.default_rng(0)
    for batch in [int(b) for b in FLAGS.batch_sizes]:
        images = rng.uniform(0, 255, (batch, image_size, image_size, 3)).astype(np.float32)
        tensor = tf.constant(images)
        run_tf = lambda: serve(images=tensor)["logits"].numpy()  # noqa: E731
        run_onnx = lambda: onnx_model.run(sess, images)  # noqa: E731
        for fn in (run_tf, run_onnx):  # warm-up (graph tracing, session allocation)
            per_call_seconds(fn, 3)
        tf_times, onnx_times, ratios = [], [], []
        for _ in range(FLAGS.rounds):
            tf_times.append(per_call_seconds(run_tf, FLAGS.calls))
            onnx_times.append(per_call_seconds(run_onnx, FLAGS.calls))
            ratios.append(tf_times[-1] / onnx_times[-1])
        t, o = statistics.median(tf_times), statistics.median(onnx_times)
        print(f"{batch:>5} {t * 1e3:>11.2f} {batch / t:>9.0f} {o * 1e3:>13.2f} {batch / o:>11.0f} "
              f"{statistics.median(ratios):>8.2f}  (per round {min(ratios):.2f} - {max(ratios):.2f})")


if __name__ == "__main__":
    app.run(main)
