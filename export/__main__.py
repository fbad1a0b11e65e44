"""python -m export --model_dir RUN --export_base DIR --model_name NAME [--version N] [--noonnx]"""

from keras_auxlt.commands.export import console

console()
