"""What a hostile image costs an export and the local server: the figures behind docs/serving.md's limits.

    ./run python -m benchmarks.decode_limits --export_base exports --model_name cifar10_lt [--version N]

1. In a fresh process: load the export (default: its highest version) with `tf.saved_model.load`,
   call `serving_bytes` on a ~0.4 MB PNG declaring 20,000 x 20,000 pixels and report the error,
   the seconds it took and how much the process's peak resident memory grew.
2. Start the local server on that export, send the same PNG over REST and gRPC, and report the
   status, the seconds and the server's resident memory growth; then check that it still answers a
   normal image.
"""

import base64
import json
import os
import subprocess
import sys
import time

import requests
from absl import app, flags

from keras_auxlt.export import versions
from keras_auxlt.serving.process import PACKAGE_PARENT as REPO
from keras_auxlt.serving.process import ServerProcess
from tests import hostile_images

flags.DEFINE_string("export_base", None, "Export base directory given to `python -m export`.", required=True)
flags.DEFINE_string("model_name", None, "Model name given to `python -m export`.", required=True)
flags.DEFINE_integer("version", 0, "Version to load; 0 = the highest.")
FLAGS = flags.FLAGS

# Run in a fresh process (argument: a SavedModel version directory); prints one JSON line.
PROBE = """
import json, resource, sys, time
import tensorflow as tf
from keras_auxlt.serving.predictor import tf_error_summary
from tests import hostile_images
serve = tf.saved_model.load(sys.argv[1]).signatures["serving_bytes"]
serve(image_bytes=tf.constant([hostile_images.encoded("PNG", 32, 32)]))  # traced and warm
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
data = hostile_images.png(20_000, 20_000, noisy_rows=6)
started = time.perf_counter()
try:
    serve(image_bytes=tf.constant([data]))
    error = "none: it was decoded"
except tf.errors.InvalidArgumentError as e:
    error = type(e).__name__ + ": " + tf_error_summary(e.message)
seconds = time.perf_counter() - started
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"bytes": len(data), "error": error, "seconds": seconds, "peak_rss_growth_mib": grown / 1024}))
"""


def resident_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024


def main(argv):
    del argv
    base_path = os.path.join(FLAGS.export_base, FLAGS.model_name)
    version = FLAGS.version or max(versions.existing_versions(base_path), default=0)
    path = os.path.join(base_path, str(version))
    if not os.path.isfile(os.path.join(path, "saved_model.pb")):
        raise SystemExit(f"no SavedModel at {path}")
    done = subprocess.run([sys.executable, "-c", PROBE, path], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": REPO}, check=True)
    probe = json.loads(done.stdout.splitlines()[-1])
    print(f"[decode_limits] {path}: tf.saved_model.load + serving_bytes on a {probe['bytes'] / 1e6:.2f} MB PNG "
          f"declaring 20000 x 20000 pixels: {probe['seconds']:.3f} s, peak RSS +{probe['peak_rss_growth_mib']:.0f} MiB, "
          f"{probe['error']}")

    data = hostile_images.png(20_000, 20_000, noisy_rows=6)
    server = ServerProcess(base_path, FLAGS.model_name)
    try:
        url = f"http://{server.rest}/v1/models/{FLAGS.model_name}:predict"
        before = resident_mib(server.process.pid)
        started = time.perf_counter()
        response = requests.post(url, json={"signature_name": "serving_bytes", "instances": [
            {"b64": base64.b64encode(data).decode("ascii")}]}, timeout=60)
        seconds = time.perf_counter() - started
        print(f"[decode_limits] local server, REST: HTTP {response.status_code} in {seconds:.3f} s, peak RSS "
              f"+{resident_mib(server.process.pid) - before:.0f} MiB: {response.json().get('error', '')}")
        normal = requests.post(url, json={"signature_name": "serving_bytes", "instances": [
            {"b64": base64.b64encode(hostile_images.encoded("PNG", 32, 32)).decode("ascii")}]}, timeout=60)
        top = normal.json()["predictions"][0]["class_names"][0] if normal.status_code == 200 else normal.text
        print(f"[decode_limits] then a normal 32 x 32 PNG: HTTP {normal.status_code}, top class {top}")
    finally:
        server.stop()


if __name__ == "__main__":
    app.run(main)
