"""A local server speaking TF Serving's REST and gRPC protocols for one exported model.

    python -m serving.server --model_base_path exports/cifar10_lt --model_name cifar10_lt \
        [--rest_port 8501] [--grpc_port 8500] [--host 127.0.0.1] [--enable_batching] ...

Serves the highest version under the base path, picks up newly exported versions while running
(the previous one keeps serving if a new one fails to load), batches concurrent requests when
--enable_batching. Ctrl-C / SIGTERM stop it cleanly. Port 0 picks free ports; the ports in use
are printed on the line starting "[serving] ready".
"""

import contextlib
import logging
import os
import signal
import socket
import sys

from absl import flags

from keras_auxlt.commands.launch import launch

flags.DEFINE_string("model_base_path", None, "Directory holding the model's integer version directories.",
                    required=True)
flags.DEFINE_string("model_name", None, "Model name used in request URLs and model specs.", required=True)
flags.DEFINE_string("host", "127.0.0.1", "Interface to bind (127.0.0.1: this machine only).")
flags.DEFINE_integer("rest_port", 8501, "REST port (0: pick a free one).")
flags.DEFINE_integer("grpc_port", 8500, "gRPC port (0: pick a free one).")
flags.DEFINE_bool("enable_batching", True, "Batch concurrent requests into one model call.")
flags.DEFINE_integer("max_batch_size", 64, "Rows per merged call, and the largest batch one request may send.")
flags.DEFINE_integer("batch_timeout_micros", 2000, "How long the first request of a batch waits for others.")
flags.DEFINE_integer("max_request_bytes", 32 * 1024 * 1024, "Largest accepted request body / gRPC message.")
flags.DEFINE_float("file_system_poll_wait_seconds", 2.0, "How often to look for new versions.")
flags.DEFINE_integer("max_concurrent_requests", 4, "Predict requests checked and run at once (with batching on, "
                     "the batcher runs one merged call at a time).")
flags.DEFINE_integer("max_queued_requests", 64, "Predict requests waiting beyond those; more are refused at once "
                     "with 429 / RESOURCE_EXHAUSTED.")
flags.DEFINE_float("request_timeout_seconds", 30.0, "A predict request not answered by then gets 504 / "
                   "DEADLINE_EXCEEDED; if its work had not started, it never runs.")
flags.DEFINE_integer("max_image_pixels", 0, "Refuse encoded images whose header declares more pixels, before "
                     "decoding (400 / INVALID_ARGUMENT). 0: the limit the export records in assets/export.json "
                     "(16 megapixels for exports that record none); a value lowers it.")
FLAGS = flags.FLAGS


def bind(host, port):
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)  # connections queue from now on, before uvicorn starts accepting: "ready" means ready
    return sock


def rest_server(config):
    """uvicorn's server, stopping gracefully on SIGINT / SIGTERM and then returning, so that the gRPC
    server and the version poller are shut down too (uvicorn re-raises the signal after its own
    shutdown, which would kill the process before that)."""
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self):
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return Server(config)


def main(argv):
    del argv
    logging.basicConfig(level=logging.INFO, format="[serving] %(message)s", stream=sys.stdout, force=True)
    if not os.path.isdir(FLAGS.model_base_path):
        print(f"error: --model_base_path {FLAGS.model_base_path!r} is not a directory", file=sys.stderr)
        return 1
    import uvicorn

    from keras_auxlt.runtime import initialize_devices
    from keras_auxlt.serving.grpc_service import make_server
    from keras_auxlt.serving.models import ModelRegistry
    from keras_auxlt.serving.predictor import BatchingOptions, Limits, Predictor, trace_header_check
    from keras_auxlt.serving.rest import make_app

    initialize_devices()
    batching = BatchingOptions(FLAGS.enable_batching, FLAGS.max_batch_size, FLAGS.batch_timeout_micros / 1e6)
    limits = Limits(FLAGS.max_concurrent_requests, FLAGS.max_queued_requests, FLAGS.request_timeout_seconds,
                    FLAGS.max_image_pixels)
    try:
        predictor = Predictor(None, batching, limits)
    except ValueError as e:
        print(f"error: --max_concurrent_requests / --max_queued_requests / --request_timeout_seconds: {e}",
              file=sys.stderr)
        return 1
    registry = ModelRegistry(FLAGS.model_name, FLAGS.model_base_path, FLAGS.file_system_poll_wait_seconds,
                             on_retire=predictor.retire)
    predictor.registry = registry
    registry.start()
    trace_header_check()
    if registry.served_version() is None:
        logging.getLogger("serving").warning("no loadable version under %s yet; waiting for one",
                                             FLAGS.model_base_path)
    try:
        rest_socket = bind(FLAGS.host, FLAGS.rest_port)
        grpc_server, grpc_port = make_server(registry, predictor, FLAGS.host, FLAGS.grpc_port, FLAGS.max_request_bytes,
                                             predictor.admission.capacity)
    except OSError as e:
        print(f"error: cannot listen on {FLAGS.host}: {e}", file=sys.stderr)
        return 1
    rest_port = rest_socket.getsockname()[1]
    config = uvicorn.Config(make_app(registry, predictor, FLAGS.max_request_bytes), log_level="warning",
                            access_log=False)
    print(f"[serving] ready: model {FLAGS.model_name} version {registry.served_version()}; "
          f"REST http://{FLAGS.host}:{rest_port}  gRPC {FLAGS.host}:{grpc_port}  "
          f"batching {'on' if batching.enabled else 'off'}; at most {limits.max_concurrent} requests at once, "
          f"{limits.max_queued} waiting, {limits.timeout_seconds:g} s each", flush=True)
    try:
        rest_server(config).run(sockets=[rest_socket])
    finally:
        grpc_server.stop(grace=1).wait()
        registry.stop()
        predictor.admission.close()
        if batching.enabled:
            stats = predictor.batching_stats()
            print(f"[serving] batching: {stats['requests']} requests in {stats['batches']} model calls, "
                  f"{stats['mean_batch_rows']:.2f} rows per call on average", flush=True)
        print("[serving] stopped", flush=True)
    return 0


def console():
    """The installed command (see pyproject.toml): the same main as `python -m` / the script."""
    launch(main, __doc__, {"model": ("model_base_path", "model_name", "file_system_poll_wait_seconds"),
                           "network": ("host", "rest_port", "grpc_port", "max_request_bytes"),
                           "batching": ("enable_batching", "max_batch_size", "batch_timeout_micros"),
                           "limits": ("max_concurrent_requests", "max_queued_requests", "request_timeout_seconds",
                                      "max_image_pixels")})


if __name__ == "__main__":
    console()
