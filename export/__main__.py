"""python -m export --model_dir RUN --export_base DIR --model_name NAME [--version N] [--noonnx]"""

from keras_auxlt.export.cli import console

console()
