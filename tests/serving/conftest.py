"""The export every serving test module serves: the tiny trained run, as `python -m export` writes it
(one per module, which may add versions to it)."""

import pytest

from keras_auxlt.export.exporter import ExportOptions, export_run

MODEL = "tiny"


@pytest.fixture(scope="module")
def export_base(trained_run, tmp_path_factory):
    base = tmp_path_factory.mktemp("serving_exports")
    export_run(ExportOptions(model_dir=trained_run, export_base=str(base), model_name=MODEL, onnx=False,
                             verify_images=8), log=lambda *_: None)
    return base
