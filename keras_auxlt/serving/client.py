"""Client for the model server (TF Serving or `python -m serving.server`): top-k classes of image files.

`classify(paths_or_bytes, server=..., model=..., use_grpc=False)` returns one list of (class name,
probability) pairs per image, most probable first. Images go to the `serving_bytes` signature as encoded
files (JPEG, PNG, ...): the server decodes and resizes them. The command (`python -m serving.client`,
`auxlt-client`) is keras_auxlt/commands/client.py.
"""

import base64

import numpy as np

BYTES_SIGNATURE = "serving_bytes"
BYTES_INPUT = "image_bytes"
TIMEOUT_SECONDS = 60


class ClientError(Exception):
    """The server refused the request or could not be reached; the message says which and why."""


def _read(image):
    if isinstance(image, bytes):
        return image
    try:
        with open(image, "rb") as f:
            return f.read()
    except OSError as e:
        raise ClientError(f"cannot read image {image}: {e}") from e


def _top_k(outputs):
    classes = np.asarray(outputs["classes"])
    probs = np.asarray(outputs["probs"], np.float64)
    names = outputs["class_names"]
    return [[(str(names[i][j]), float(probs[i][c])) for j, c in enumerate(row)] for i, row in enumerate(classes)]


def predict_rest(images, server, model, version=None):
    import requests

    url = f"http://{server}/v1/models/{model}" + (f"/versions/{version}" if version else "") + ":predict"
    body = {"signature_name": BYTES_SIGNATURE,
            "instances": [{"b64": base64.b64encode(_read(i)).decode("ascii")} for i in images]}
    try:
        response = requests.post(url, json=body, timeout=TIMEOUT_SECONDS)
    except requests.RequestException as e:
        raise ClientError(f"cannot reach {url}: {e}") from e
    try:
        content = response.json()
    except ValueError:
        raise ClientError(f"{url}: HTTP {response.status_code}, not a JSON answer: {response.text[:200]!r}")
    if response.status_code != 200:
        raise ClientError(f"{url}: HTTP {response.status_code}: {content.get('error', content)}")
    rows = content["predictions"]
    return {name: [row[name] for row in rows] for name in ("classes", "probs", "class_names")}


def predict_grpc(images, server, model, version=None):
    import grpc
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = BYTES_SIGNATURE
    if version:
        request.model_spec.version.value = int(version)
    request.inputs[BYTES_INPUT].CopyFrom(tf.make_tensor_proto([_read(i) for i in images], dtype=tf.string))
    with grpc.insecure_channel(server) as channel:
        try:
            response = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(
                request, timeout=TIMEOUT_SECONDS)
        except grpc.RpcError as e:
            raise ClientError(f"{server}: gRPC {e.code().name}: {e.details()}") from e
    outputs = {name: tf.make_ndarray(response.outputs[name]) for name in ("classes", "probs", "class_names")}
    outputs["class_names"] = [[n.decode("utf-8") for n in row] for row in outputs["class_names"]]
    return outputs


def classify(images, server="localhost:8501", model="model", use_grpc=False, version=None):
    """[(class name, probability), ...] per image (file path or encoded bytes), most probable first."""
    if not images:
        raise ClientError("no images given")
    predict = predict_grpc if use_grpc else predict_rest
    return _top_k(predict(list(images), server, model, version))
