"""Top-k classes of image files from a model server (TF Serving or `python -m serving.server`).

    python -m serving.client --server localhost:8501 --model cifar10_lt cat.jpg ship.png
    python -m serving.client --server localhost:8500 --model cifar10_lt --grpc cat.jpg

`auxlt-client` once installed. The library call is keras_auxlt.serving.client.classify.
"""

import sys

from absl import app, flags

from keras_auxlt.commands.launch import launch
from keras_auxlt.serving.client import ClientError, classify


def define_flags():
    """Command-line flags, defined only when run as a program."""
    flags.DEFINE_string("server", "localhost:8501", "host:port of the REST API (or of gRPC with --grpc).")
    flags.DEFINE_string("model", None, "Model name.", required=True)
    flags.DEFINE_integer("version", 0, "Model version (0: the latest).")
    flags.DEFINE_bool("grpc", False, "Use gRPC instead of REST.")


def main(argv):
    FLAGS = flags.FLAGS
    paths = argv[1:]
    if not paths:
        raise app.UsageError("give one or more image files")
    try:
        results = classify(paths, FLAGS.server, FLAGS.model, FLAGS.grpc, FLAGS.version or None)
    except ClientError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    for path, top in zip(paths, results):
        print(f"{path}: " + ", ".join(f"{name} {prob:.3f}" for name, prob in top))
    return 0


def console():
    """The installed command (see pyproject.toml): the same main as `python -m serving.client`."""
    define_flags()
    launch(main, __doc__, {"server": ("server", "model", "version", "grpc")})


if __name__ == "__main__":
    console()
