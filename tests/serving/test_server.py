"""The local server against TF Serving's REST and gRPC contracts: every endpoint and request format,
predictions equal to the SavedModel called in-process, each bad input answered with a 4xx (gRPC
status) while the server keeps serving, version hot-reload, and a clean stop."""

import base64
import os
import re
import shutil
import subprocess
import sys
import time

import grpc
import numpy as np
import pytest
import requests
import tensorflow as tf
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from keras_auxlt.export.exporter import saved_model_bound
from keras_auxlt.serving.client import ClientError, classify
from keras_auxlt.serving.process import ServerProcess
from tests.conftest import REPO_ROOT as REPO
from tests.conftest import pil_decoded
from tests.serving.conftest import MODEL

MAX_BATCH = 16
MAX_BYTES = 2_000_000


@pytest.fixture(scope="module")
def server(export_base):
    server = ServerProcess(export_base / MODEL, MODEL, f"--max_batch_size={MAX_BATCH}",
                           f"--max_request_bytes={MAX_BYTES}", "--file_system_poll_wait_seconds=0.3",
                           "--batch_timeout_micros=5000")
    yield server
    code = server.stop()
    assert code == 0, server.output()[-3000:]
    assert "[serving] stopped" in server.output()


@pytest.fixture(scope="module")
def reference(export_base):
    """The exported SavedModel's signatures, called in this process."""
    return tf.saved_model.load(str(export_base / MODEL / "1")).signatures


@pytest.fixture(scope="module")
def jpegs(cifar_test_jpegs):
    return cifar_test_jpegs[:6]


def pixels(jpegs):
    return pil_decoded(jpegs).astype(np.float32)


def b64(data):
    return {"b64": base64.b64encode(data).decode("ascii")}


def rest(server, path, body=None, data=None):
    url = f"http://{server.rest}/v1/models/{path}"
    if body is None and data is None:
        return requests.get(url, timeout=60)
    return requests.post(url, json=body, data=data, timeout=60)


def assert_logits_close(actual, expected):
    expected = np.asarray(expected)
    assert np.max(np.abs(np.asarray(actual) - expected)) <= saved_model_bound(expected)


def prediction_stub(server):
    return prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(server.grpc))


# ------------------------------------------------------------------------------------------ status, metadata


def test_model_status_over_rest_and_grpc(server):
    expected = {"model_version_status": [{"version": "1", "state": "AVAILABLE",
                                          "status": {"error_code": "OK", "error_message": ""}}]}
    assert rest(server, MODEL).json() == expected
    assert rest(server, f"{MODEL}/versions/1").json() == expected
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = MODEL
    response = model_service_pb2_grpc.ModelServiceStub(grpc.insecure_channel(server.grpc)).GetModelStatus(request)
    [status] = response.model_version_status
    assert status.version == 1 and status.state == get_model_status_pb2.ModelVersionStatus.AVAILABLE


def test_metadata_lists_both_predict_signatures(server, export_base):
    from tensorflow.core.protobuf import saved_model_pb2

    body = rest(server, f"{MODEL}/metadata").json()
    assert body["model_spec"] == {"name": MODEL, "signature_name": "", "version": "1"}
    signatures = body["metadata"]["signature_def"]["signature_def"]
    assert set(signatures) == {"serving_default", "serving_bytes"}
    assert {s["method_name"] for s in signatures.values()} == {"tensorflow/serving/predict"}
    assert signatures["serving_bytes"]["inputs"]["image_bytes"]["dtype"] == "DT_STRING"
    assert rest(server, f"{MODEL}/versions/1/metadata").json() == body

    request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    request.model_spec.name = MODEL
    response = prediction_stub(server).GetModelMetadata(request)
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    response.metadata["signature_def"].Unpack(signature_map)
    saved = saved_model_pb2.SavedModel()
    saved.ParseFromString((export_base / MODEL / "1" / "saved_model.pb").read_bytes())
    for name in ("serving_default", "serving_bytes"):
        assert signature_map.signature_def[name] == saved.meta_graphs[0].signature_def[name]
    assert response.model_spec.version.value == 1


# ------------------------------------------------------------------------------------------ predict


def test_rest_row_and_columnar_formats_match_the_saved_model(server, reference, jpegs):
    images = pixels(jpegs)
    expected = reference["serving_default"](images=tf.constant(images))
    rows = rest(server, f"{MODEL}:predict", {"instances": images.tolist()}).json()["predictions"]
    assert len(rows) == len(jpegs) and set(rows[0]) == {"logits", "probs", "classes", "class_names"}
    assert_logits_close([r["logits"] for r in rows], expected["logits"])
    assert [r["classes"] for r in rows] == expected["classes"].numpy().tolist()
    assert [r["class_names"] for r in rows] == expected["class_names"].numpy().astype(str).tolist()
    named = rest(server, f"{MODEL}/versions/1:predict",
                 {"signature_name": "serving_default", "instances": [{"images": i} for i in images.tolist()]})
    assert_logits_close([r["logits"] for r in named.json()["predictions"]], expected["logits"])
    columns = rest(server, f"{MODEL}:predict", {"inputs": {"images": images.tolist()}}).json()["outputs"]
    assert_logits_close(columns["logits"], expected["logits"])
    np.testing.assert_allclose(columns["probs"], expected["probs"].numpy(), atol=1e-6)
    bare = rest(server, f"{MODEL}:predict", {"inputs": images[:1].tolist()}).json()["outputs"]
    assert_logits_close(bare["logits"], expected["logits"][:1])


def test_rest_b64_jpeg_bytes_match_the_saved_model(server, reference, jpegs):
    expected = reference["serving_bytes"](image_bytes=tf.constant(jpegs))
    rows = rest(server, f"{MODEL}:predict",
                {"signature_name": "serving_bytes", "instances": [b64(j) for j in jpegs]}).json()["predictions"]
    assert_logits_close([r["logits"] for r in rows], expected["logits"])
    columns = rest(server, f"{MODEL}:predict",
                   {"signature_name": "serving_bytes", "inputs": {"image_bytes": [b64(j) for j in jpegs]}})
    assert_logits_close(columns.json()["outputs"]["logits"], expected["logits"])


def test_grpc_predict_matches_the_saved_model(server, reference, jpegs):
    images = pixels(jpegs)
    request = predict_pb2.PredictRequest()
    request.model_spec.name = MODEL
    request.inputs["images"].CopyFrom(tf.make_tensor_proto(images))
    response = prediction_stub(server).Predict(request, timeout=60)
    expected = reference["serving_default"](images=tf.constant(images))
    assert_logits_close(tf.make_ndarray(response.outputs["logits"]), expected["logits"])
    assert response.model_spec.version.value == 1 and response.model_spec.signature_name == "serving_default"

    request = predict_pb2.PredictRequest()
    request.model_spec.name = MODEL
    request.model_spec.signature_name = "serving_bytes"
    request.model_spec.version.value = 1
    request.inputs["image_bytes"].CopyFrom(tf.make_tensor_proto(jpegs, dtype=tf.string))
    request.output_filter.append("class_names")
    response = prediction_stub(server).Predict(request, timeout=60)
    assert list(response.outputs) == ["class_names"]
    expected = reference["serving_bytes"](image_bytes=tf.constant(jpegs))
    np.testing.assert_array_equal(tf.make_ndarray(response.outputs["class_names"]),
                                  expected["class_names"].numpy())


def test_client_library_and_command_line_over_rest_and_grpc(server, reference, jpegs, tmp_path):
    expected = reference["serving_bytes"](image_bytes=tf.constant(jpegs[:2]))
    names = expected["class_names"].numpy().astype(str)
    probs = expected["probs"].numpy()
    for use_grpc, address in ((False, server.rest), (True, server.grpc)):
        results = classify(jpegs[:2], server=address, model=MODEL, use_grpc=use_grpc)
        for i, top in enumerate(results):
            assert [name for name, _ in top] == names[i].tolist()
            np.testing.assert_allclose([p for _, p in top], np.sort(probs[i])[::-1], atol=1e-5)
    paths = []
    for i, data in enumerate(jpegs[:2]):
        paths.append(tmp_path / f"image{i}.jpg")
        paths[-1].write_bytes(data)
    for extra in ([], ["--grpc"]):
        address = server.grpc if extra else server.rest
        done = subprocess.run([sys.executable, "-m", "serving.client", f"--server={address}", f"--model={MODEL}",
                               *extra, *map(str, paths)], cwd=REPO, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        lines = done.stdout.strip().splitlines()
        assert lines[0].startswith(f"{paths[0]}: {names[0][0]} ") and lines[1].startswith(f"{paths[1]}: {names[1][0]} ")
    with pytest.raises(ClientError, match=r"HTTP 404: Servable not found for request: Latest\(nope\)"):
        classify(jpegs[:1], server=server.rest, model="nope")
    with pytest.raises(ClientError, match="gRPC NOT_FOUND"):
        classify(jpegs[:1], server=server.grpc, model="nope", use_grpc=True)


def test_concurrent_requests_are_all_answered_correctly(server, reference, jpegs):
    from concurrent.futures import ThreadPoolExecutor

    images = pixels(jpegs)
    expected = reference["serving_default"](images=tf.constant(images))["logits"].numpy()

    def one(i):
        k = i % len(images)
        body = rest(server, f"{MODEL}:predict", {"instances": images[k:k + 1].tolist()}).json()
        return k, body["predictions"][0]["logits"]

    with ThreadPoolExecutor(8) as pool:
        for k, logits in pool.map(one, range(48)):
            assert_logits_close([logits], expected[k:k + 1])


# ------------------------------------------------------------------------------------------ bad input


def one_image():
    return np.zeros((1, 32, 32, 3)).tolist()


@pytest.mark.parametrize("path, body, data, status, message", [
    (f"{MODEL}:predict", None, b'{"instances": [1, 2', 400, "JSON Parse error"),
    (f"{MODEL}:predict", {"signature_name": "serving_default"}, None, 400, "Missing 'inputs' or 'instances' key"),
    (f"{MODEL}:predict", {"instances": one_image(), "inputs": one_image()}, None, 400,
     "Not both 'inputs' and 'instances'"),
    (f"{MODEL}:predict", {"instances": [[1.0, 2.0]]}, None, 400,
     r"Input 'images' of signature 'serving_default' must have shape \[-1, 32, 32, 3\]. Received shape \[1, 2\]"),
    (f"{MODEL}:predict", {"instances": [[[["a", "b", "c"]] * 32] * 32]}, None, 400,
     "Input 'images' must be a rectangular nested list of numbers"),
    (f"{MODEL}:predict", {"instances": [[[[1, 2]] * 32] * 31 + [[[1, 2, 3]] * 32]]}, None, 400,
     "Input 'images' must be a rectangular nested list of numbers"),
    (f"{MODEL}:predict", {"signature_name": "serving_bytes", "instances": [{"b64": "not base64!"}]}, None, 400,
     r"Input 'image_bytes': invalid base64"),
    (f"{MODEL}:predict", {"signature_name": "serving_bytes", "instances": [b64(b"this is not an image")]}, None, 400,
     r"image_bytes\[0\] is not a JPEG, PNG, GIF or BMP image \(unrecognised header\)"),
    (f"{MODEL}:predict", {"signature_name": "serving_bytes", "instances": [7]}, None, 400,
     "Input 'image_bytes' is a string tensor"),
    (f"{MODEL}:predict", {"signature_name": "nope", "instances": one_image()}, None, 400,
     'Serving signature name: "nope" not found in signature def'),
    ("nope:predict", {"instances": one_image()}, None, 404, r"Servable not found for request: Latest\(nope\)"),
    (f"{MODEL}/versions/9:predict", {"instances": one_image()}, None, 404,
     r"Servable not found for request: Specific\(tiny, 9\)"),
    (f"{MODEL}/versions/one:predict", {"instances": one_image()}, None, 400, "Version must be a positive integer"),
    (f"{MODEL}/versions/9", None, None, 404, "Could not find version 9 of model tiny"),
    (f"{MODEL}:explode", {"instances": one_image()}, None, 404, r"Malformed request: POST /v1/models/tiny:explode"),
    (f"{MODEL}:classify", {"examples": []}, None, 400, "classify is not supported"),
    (f"{MODEL}:predict", {"instances": np.zeros((MAX_BATCH + 1, 32, 32, 3)).tolist()}, None, 400,
     f"Batch size {MAX_BATCH + 1} exceeds the maximum of {MAX_BATCH} rows"),
    (f"{MODEL}:predict", None, b"[" + b"0," * MAX_BYTES + b"0]", 413, f"exceeds the limit of {MAX_BYTES} bytes"),
])
def test_rest_bad_input_gets_a_4xx_and_the_server_keeps_serving(server, path, body, data, status, message):
    response = rest(server, path, body, data)
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"] == "application/json"
    assert set(response.json()) == {"error"}
    assert re.search(message, response.json()["error"]), response.json()["error"]
    assert rest(server, f"{MODEL}:predict", {"instances": one_image()}).status_code == 200


def test_an_unknown_path_gets_a_json_404(server):
    response = requests.get(f"http://{server.rest}/v2/whatever", timeout=30)
    assert response.status_code == 404 and "Malformed request: GET /v2/whatever" in response.json()["error"]


def grpc_request(signature="serving_default", name=MODEL, tensor=None, input_name="images"):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = name
    request.model_spec.signature_name = signature
    request.inputs[input_name].CopyFrom(tensor if tensor is not None else
                                        tf.make_tensor_proto(np.zeros((1, 32, 32, 3), np.float32)))
    return request


@pytest.mark.parametrize("request_factory, code, message", [
    (lambda: grpc_request(tensor=tf.make_tensor_proto(np.zeros((1, 32, 32, 3), np.uint8))),
     grpc.StatusCode.INVALID_ARGUMENT, "Input 'images' must be float32. Received uint8"),
    (lambda: grpc_request(tensor=tf.make_tensor_proto(np.zeros((1, 16, 16, 3), np.float32))),
     grpc.StatusCode.INVALID_ARGUMENT, r"must have shape \[-1, 32, 32, 3\]"),
    (lambda: grpc_request(name="nope"), grpc.StatusCode.NOT_FOUND, "Servable not found"),
    (lambda: grpc_request(signature="nope"), grpc.StatusCode.INVALID_ARGUMENT, 'signature name: "nope" not found'),
    (lambda: grpc_request(input_name="pixels"), grpc.StatusCode.INVALID_ARGUMENT, "Unknown input 'pixels'"),
    (lambda: grpc_request("serving_bytes", tensor=tf.make_tensor_proto([b"junk"]), input_name="image_bytes"),
     grpc.StatusCode.INVALID_ARGUMENT, r"image_bytes\[0\] is not a JPEG, PNG, GIF or BMP image"),
    (lambda: grpc_request(tensor=tf.make_tensor_proto(np.zeros((MAX_BATCH + 1, 32, 32, 3), np.float32))),
     grpc.StatusCode.INVALID_ARGUMENT, f"Batch size {MAX_BATCH + 1} exceeds"),
    (lambda: grpc_request(tensor=tf.make_tensor_proto(np.zeros((20, 100, 100, 3), np.float32))),  # 2.4 MB
     grpc.StatusCode.RESOURCE_EXHAUSTED, ""),
])
def test_grpc_bad_input_gets_the_matching_status_and_the_server_keeps_serving(server, request_factory, code,
                                                                              message):
    with pytest.raises(grpc.RpcError) as raised:
        prediction_stub(server).Predict(request_factory(), timeout=60)
    assert raised.value.code() == code
    assert re.search(message, raised.value.details()), raised.value.details()
    assert prediction_stub(server).Predict(grpc_request(), timeout=60).outputs["logits"].tensor_shape.dim[0].size == 1


# ------------------------------------------------------------------------------------------ versions


def wait_for(predicate, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("condition not reached in time")


def states(server):
    return {s["version"]: (s["state"], s["status"]["error_message"])
            for s in rest(server, MODEL).json()["model_version_status"]}


def test_a_new_version_is_picked_up_and_a_broken_one_leaves_the_old_serving(server, export_base, jpegs):
    # Version 2: the same model, published the way export does (complete directory renamed into place).
    staging = export_base / MODEL / ".staging-2"
    shutil.copytree(export_base / MODEL / "1", staging)
    os.rename(staging, export_base / MODEL / "2")
    wait_for(lambda: states(server).get("2", ("",))[0] == "AVAILABLE")
    assert states(server)["1"][0] == "END"
    response = prediction_stub(server).Predict(grpc_request(), timeout=60)
    assert response.model_spec.version.value == 2
    assert rest(server, f"{MODEL}/versions/1:predict", {"instances": one_image()}).status_code == 404

    # Version 3 is broken: it fails to load, its status says so, version 2 keeps serving.
    broken = export_base / MODEL / ".staging-3"
    broken.mkdir()
    (broken / "saved_model.pb").write_bytes(b"not a saved model")
    os.rename(broken, export_base / MODEL / "3")
    wait_for(lambda: "3" in states(server))
    wait_for(lambda: states(server)["3"][0] == "END")
    assert "failed to load" in states(server)["3"][1]
    assert states(server)["2"] == ("AVAILABLE", "")
    body = rest(server, f"{MODEL}:predict", {"signature_name": "serving_bytes", "instances": [b64(jpegs[0])]})
    assert body.status_code == 200 and len(body.json()["predictions"]) == 1
    assert rest(server, f"{MODEL}/metadata").json()["model_spec"]["version"] == "2"
