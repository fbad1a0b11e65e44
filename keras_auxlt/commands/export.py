"""python -m export --model_dir RUN --export_base DIR --model_name NAME [--version N] [--noonnx]"""

import sys

from absl import flags, logging

from keras_auxlt.commands.launch import launch
from keras_auxlt.export.metadata import DEFAULT_MAX_PIXELS, DEFAULT_OPSET
from keras_auxlt.run_files import CHECKPOINT_CHOICES, CHECKPOINT_HELP

flags.DEFINE_string("model_dir", None, "Run directory written by train.py.", required=True)
flags.DEFINE_string("export_base", None,
                    "Export base directory; the model goes to <export_base>/<model_name>/<version>.", required=True)
flags.DEFINE_string("model_name", None, "Model name (TF Serving's model name and base path directory).", required=True)
flags.DEFINE_integer("version", 0, "Version number; 0 = one past the highest existing version. Never overwrites.")
flags.DEFINE_enum("checkpoint", "auto", list(CHECKPOINT_CHOICES), CHECKPOINT_HELP)
flags.DEFINE_bool("onnx", True, "Also write <export_base>/<model_name>-<version>.onnx.")
flags.DEFINE_integer("opset", DEFAULT_OPSET, "ONNX opset.")
flags.DEFINE_integer("top_k", 5,
                     "Classes returned by the `classes` / `class_names` outputs (capped at the class count).")
flags.DEFINE_string("backbone", "", "If set, refuse a checkpoint with another backbone.")
flags.DEFINE_integer("num_classes", 0, "If set, refuse a checkpoint with another class count.")
flags.DEFINE_integer("verify_images", 64, "Test-split images used to check the exports against the Keras model.")
flags.DEFINE_integer("max_image_pixels", DEFAULT_MAX_PIXELS,
                     "serving_bytes refuses an image whose header declares more pixels, before decoding it; "
                     "recorded in the SavedModel's assets/export.json.")
flags.DEFINE_string("temperature", "auto", "probs = softmax(logits / T). auto: the temperature train.py fitted on the "
                    "run's validation split (metrics.json), when the checkpoint exported is the one it evaluated; "
                    "none: T = 1, the raw softmax; or a positive number.")
FLAGS = flags.FLAGS


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)  # tf2onnx reports every graph rewrite at INFO
    from keras_auxlt.export.errors import ExportError
    from keras_auxlt.export.exporter import ExportOptions, export_run
    from keras_auxlt.runtime import initialize_devices

    initialize_devices()
    options = ExportOptions(
        model_dir=FLAGS.model_dir, export_base=FLAGS.export_base, model_name=FLAGS.model_name, version=FLAGS.version,
        checkpoint=FLAGS.checkpoint, onnx=FLAGS.onnx, opset=FLAGS.opset, top_k=FLAGS.top_k, backbone=FLAGS.backbone,
        num_classes=FLAGS.num_classes, verify_images=FLAGS.verify_images,
        max_image_pixels=FLAGS.max_image_pixels, temperature=FLAGS.temperature)
    try:
        result = export_run(options)
    except ExportError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(result.summary())
    return 0


def console():
    """The installed command (see pyproject.toml): the same main as `python -m` / the script."""
    launch(main, __doc__, {"run": ("model_dir", "checkpoint", "backbone", "num_classes"),
                           "output": ("export_base", "model_name", "version", "onnx", "opset", "top_k",
                                      "max_image_pixels", "temperature"),
                           "evaluation": ("verify_images",)})


if __name__ == "__main__":
    console()
