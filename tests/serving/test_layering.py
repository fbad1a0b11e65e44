"""Serving stands on the export's metadata alone: importing every serving module (and the repository's serving
launchers) loads none of keras-auxlt's data, training or model code."""

import json
import subprocess
import sys

from tests.conftest import REPO_ROOT, repo_env

IMPORT_ALL = """
import importlib, json, pkgutil, sys
import keras_auxlt.serving as serving
for module in pkgutil.iter_modules(serving.__path__):
    importlib.import_module(f"keras_auxlt.serving.{module.name}")
import serving.client, serving.server  # the repository's launchers
print(json.dumps(sorted(name for name in sys.modules if name.startswith("keras_auxlt"))))
"""
FORBIDDEN = ("keras_auxlt.data", "keras_auxlt.training", "keras_auxlt.models")


def test_importing_every_serving_module_loads_no_data_training_or_model_module():
    done = subprocess.run([sys.executable, "-c", IMPORT_ALL], cwd=REPO_ROOT, env=repo_env(), capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert "keras_auxlt.serving.models" in loaded and "keras_auxlt.export.metadata" in loaded  # it did import them
    assert [name for name in loaded if name.startswith(FORBIDDEN)] == []
