"""Load test of the local model server over REST, with dynamic batching on and off.

    ./run python -m benchmarks.serving_load --export_base exports --model_name cifar10_lt \
        [--clients 8] [--seconds 20] [--max_requests 20000]

Starts `python -m serving.server` on free loopback ports twice (--enable_batching, then
--noenable_batching), each time runs --clients threads that send one JPEG per request to
`serving_bytes` for --seconds (or until --max_requests in total), and reports requests/s,
p50 / p99 latency and the error count, then the ratio of the two throughputs. Loopback only;
every server it starts is stopped before it exits.
"""

import base64
import os
import statistics
import threading
import time

import numpy as np
import requests
import tensorflow as tf
from absl import app, flags

from benchmarks.common import machine
from keras_auxlt.export.versions import existing_versions
from keras_auxlt.serving.process import ServerProcess

flags.DEFINE_string("export_base", None, "Export base directory given to `python -m export`.", required=True)
flags.DEFINE_string("model_name", None, "Model name given to `python -m export`.", required=True)
flags.DEFINE_integer("clients", 8, "Concurrent clients.")
flags.DEFINE_float("seconds", 20.0, "Duration of each measurement.")
flags.DEFINE_integer("max_requests", 20000, "Upper bound on requests per measurement.")
flags.DEFINE_integer("max_batch_size", 64, "Server --max_batch_size.")
flags.DEFINE_integer("batch_timeout_micros", 2000, "Server --batch_timeout_micros.")
FLAGS = flags.FLAGS


def jpeg_bodies(count, size):
    rng = np.random.default_rng(0)
    bodies = []
    for _ in range(count):
        image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
        data = base64.b64encode(tf.io.encode_jpeg(image).numpy()).decode("ascii")
        bodies.append({"signature_name": "serving_bytes", "instances": [{"b64": data}]})
    return bodies


def load(url, bodies, clients, seconds, max_requests):
    latencies, errors, lock = [], [0], threading.Lock()
    budget = [max_requests]
    deadline = time.monotonic() + seconds

    def client(k):
        session = requests.Session()
        i = k
        while time.monotonic() < deadline:
            with lock:
                if budget[0] <= 0:
                    return
                budget[0] -= 1
            start = time.perf_counter()
            try:
                ok = session.post(url, json=bodies[i % len(bodies)], timeout=60).status_code == 200
            except requests.RequestException:
                ok = False
            elapsed = time.perf_counter() - start
            with lock:
                if ok:
                    latencies.append(elapsed)
                else:
                    errors[0] += 1
            i += clients

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    return {"requests": len(latencies), "rps": len(latencies) / wall, "errors": errors[0],
            "p50_ms": 1e3 * statistics.median(latencies) if latencies else float("nan"),
            "p99_ms": 1e3 * float(np.percentile(latencies, 99)) if latencies else float("nan")}


def measure(batching, bodies):
    flags_ = ["--enable_batching" if batching else "--noenable_batching", f"--max_batch_size={FLAGS.max_batch_size}",
              f"--batch_timeout_micros={FLAGS.batch_timeout_micros}"]
    server = ServerProcess(f"{FLAGS.export_base}/{FLAGS.model_name}", FLAGS.model_name, *flags_)
    try:
        url = f"http://{server.rest}/v1/models/{FLAGS.model_name}:predict"
        load(url, bodies, FLAGS.clients, 3.0, 200)  # warm-up: graph tracing, connections
        result = load(url, bodies, FLAGS.clients, FLAGS.seconds, FLAGS.max_requests)
    finally:
        server.stop()
    stats = [line for line in server.lines if "[serving] batching:" in line]
    result["server"] = stats[-1].strip() if stats else ""
    return result


def main(argv):
    del argv
    base_path = os.path.join(FLAGS.export_base, FLAGS.model_name)
    if not existing_versions(base_path):
        raise app.UsageError(f"no version under {base_path}: export with `python -m export` first")
    latest = os.path.join(base_path, str(existing_versions(base_path)[-1]))
    signature = tf.saved_model.load(latest).signatures["serving_default"]
    size = signature.structured_input_signature[1]["images"].shape[1]
    bodies = jpeg_bodies(64, size)
    print(f"machine: {machine()}")
    print(f"{FLAGS.clients} clients, one {size}x{size} JPEG per REST request to serving_bytes, "
          f"{FLAGS.seconds:g} s per measurement (max {FLAGS.max_requests} requests)")
    results = {}
    for batching in (True, False):
        results[batching] = result = measure(batching, bodies)
        server = f"\n             server {result['server'].removeprefix('[serving] ')}" if result["server"] else ""
        print(f"batching {'on ' if batching else 'off'}: {result['rps']:7.1f} requests/s"
              f"  p50 {result['p50_ms']:7.1f} ms  p99 {result['p99_ms']:7.1f} ms  errors {result['errors']}"
              f"  ({result['requests']} requests){server}")
    print(f"throughput ratio batching on / off: {results[True]['rps'] / results[False]['rps']:.2f}")


if __name__ == "__main__":
    app.run(main)
