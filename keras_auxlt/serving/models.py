"""Loaded model versions and the registry that keeps the highest one served.

Version policy as TF Serving's default (`latest { num_versions: 1 }`): the highest integer
directory under the base path is served. A poll thread looks for new versions every
`poll_seconds`; a new version is loaded beside the served one and swapped in only once it has
loaded, so a version that fails to load leaves the previous one serving (its failure shows in
the model status). Versions are never reloaded in place: export writes new version numbers.
"""

import logging
import os
import threading

import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from keras_auxlt.export.metadata import read_export_info
from keras_auxlt.serving.errors import invalid, not_found, unavailable

log = logging.getLogger("serving")

# ModelVersionStatus.State names (tensorflow_serving/apis/get_model_status.proto).
LOADING, AVAILABLE, END = "LOADING", "AVAILABLE", "END"


class Signature:
    """One serving signature: its callable, input specs and the SignatureDef proto (for metadata)."""

    def __init__(self, name, function, signature_def):
        self.name = name
        self.function = function
        self.signature_def = signature_def
        _, kwargs = function.structured_input_signature
        self.inputs = dict(kwargs)  # name -> tf.TensorSpec
        self.outputs = sorted(signature_def.outputs)

    def __call__(self, inputs):
        """{input name: ndarray} -> {output name: ndarray}."""
        tensors = {name: tf.convert_to_tensor(value, self.inputs[name].dtype) for name, value in inputs.items()}
        return {name: value.numpy() for name, value in self.function(**tensors).items()}


class ModelVersion:
    def __init__(self, name, version, path):
        self.name = name
        self.version = version
        self.path = path
        proto = saved_model_pb2.SavedModel()
        with open(os.path.join(path, "saved_model.pb"), "rb") as f:
            proto.ParseFromString(f.read())
        signature_defs = proto.meta_graphs[0].signature_def
        self.loaded = tf.saved_model.load(path)
        self.signatures = {name: Signature(name, function, signature_defs[name])
                           for name, function in self.loaded.signatures.items()}
        self.signature_defs = {name: signature_defs[name] for name in self.signatures}
        self.export_info = read_export_info(path)  # {} for exports made before it was written

    def signature(self, name):
        name = name or "serving_default"
        if name not in self.signatures:
            raise invalid(f'Serving signature name: "{name}" not found in signature def. '
                          f"Available: {', '.join(sorted(self.signatures))}")
        return self.signatures[name]


class VersionStatus:
    def __init__(self, state, error=""):
        self.state = state
        self.error = error


class ModelRegistry:
    """The versions of one model under `base_path`; thread-safe."""

    def __init__(self, name, base_path, poll_seconds=2.0, on_retire=None):
        self.name = name
        self.base_path = base_path
        self.poll_seconds = poll_seconds
        self.on_retire = on_retire  # called with the version number a newly loaded version replaces
        self._lock = threading.Lock()
        self._served = None  # ModelVersion
        self._status = {}  # version -> VersionStatus
        self._stop = threading.Event()
        self._thread = None

    # ---------------------------------------------------------------- versions on disk

    def versions_on_disk(self):
        if not os.path.isdir(self.base_path):
            return []
        return sorted(int(n) for n in os.listdir(self.base_path)
                      if n.isdigit() and os.path.isfile(os.path.join(self.base_path, n, "saved_model.pb")))

    def poll(self):
        """Load the highest version on disk if it is new; returns the served version number (or None)."""
        candidates = [v for v in self.versions_on_disk() if v not in self._status]
        served = self.served_version()
        if candidates and (served is None or candidates[-1] > served):
            self._load(candidates[-1])
        return self.served_version()

    def _load(self, version):
        with self._lock:
            self._status[version] = VersionStatus(LOADING)
        path = os.path.join(self.base_path, str(version))
        log.info("loading %s version %d from %s", self.name, version, path)
        try:
            model = ModelVersion(self.name, version, path)
        except Exception as e:  # anything a broken SavedModel can raise; the old version keeps serving
            log.error("version %d of %s failed to load: %s", version, self.name, e)
            with self._lock:
                self._status[version] = VersionStatus(END, f"failed to load: {type(e).__name__}: {e}")
            return
        with self._lock:
            old, self._served = self._served, model
            self._status[version] = VersionStatus(AVAILABLE)
            if old is not None:
                self._status[old.version] = VersionStatus(END)
        log.info("serving %s version %d", self.name, version)
        if old is not None and self.on_retire:
            self.on_retire(old.version)

    def start(self):
        """Load the highest version now, then poll in a daemon thread."""
        self.poll()
        self._thread = threading.Thread(target=self._poll_loop, name="version-poll", daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()

    def _poll_loop(self):
        while not self._stop.wait(self.poll_seconds):
            try:
                self.poll()
            except OSError as e:  # base path briefly unreadable: try again next time
                log.warning("polling %s: %s", self.base_path, e)

    # ---------------------------------------------------------------- lookups for requests

    def served_version(self):
        with self._lock:
            return None if self._served is None else self._served.version

    def get(self, model_name, version=None):
        """The ModelVersion a request names (version None = latest), or a 404 ServingError."""
        if model_name != self.name:
            raise not_found(f"Servable not found for request: {_request(model_name, version)}")
        with self._lock:
            served = self._served
        if served is None:
            raise unavailable(f"Servable not found for request: {_request(model_name, version)} "
                              f"(no version of {self.name} has loaded yet)")
        if version is not None and version != served.version:
            raise not_found(f"Servable not found for request: {_request(model_name, version)}")
        return served

    def status(self, model_name, version=None):
        """[(version, state, error message)] as GetModelStatus reports them."""
        if model_name != self.name:
            raise not_found(f"Could not find any versions of model {model_name}")
        with self._lock:
            items = sorted(self._status.items(), reverse=True)
        if version is not None:
            items = [(v, s) for v, s in items if v == version]
            if not items:
                raise not_found(f"Could not find version {version} of model {model_name}")
        if not items:
            raise not_found(f"Could not find any versions of model {model_name}")
        return [(v, s.state, s.error) for v, s in items]


def _request(model_name, version):
    return f"Latest({model_name})" if version is None else f"Specific({model_name}, {version})"

