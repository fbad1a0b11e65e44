"""What an export records about itself, readable without TensorFlow: the limits of its `serving_bytes`
signature and `assets/export.json`. Serving reads exports through this module only (it never imports the
data, training or model code), and flag modules import its constants."""

import json
import os

DEFAULT_OPSET = 17  # of the ONNX file
DEFAULT_MAX_PIXELS = 16 * 1024 * 1024  # 16 megapixels (4096 x 4096): larger images are refused undecoded
EXPORT_INFO_FILE = "export.json"  # in the SavedModel's assets/: the limits and facts the export was made with


def read_export_info(saved_model_dir):
    """The export info of a SavedModel version directory ({} for exports made before it existed)."""
    path = os.path.join(saved_model_dir, "assets", EXPORT_INFO_FILE)
    if not os.path.isfile(path):
        return {}
    with open(path) as f:
        return json.load(f)
