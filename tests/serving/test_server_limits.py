"""The server under hostile input and load, on loopback: images whose headers declare huge sizes, or end
early, get a 400 / INVALID_ARGUMENT before anything is decoded and the server's memory stays put;
more requests than it takes get 429 / RESOURCE_EXHAUSTED; a request past its deadline gets 504; and a
soak of concurrent clients mixing good, bad and oversized requests answers every good one correctly
and every bad one with a 4xx, with bounded resident memory."""

import base64
import concurrent.futures
import random
import re
import threading

import grpc
import numpy as np
import pytest
import requests
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from keras_auxlt.export.exporter import saved_model_bound
from keras_auxlt.serving.process import ServerProcess
from tests import hostile_images
from tests.serving.conftest import MODEL

pytestmark = pytest.mark.large


@pytest.fixture(scope="module")
def server(export_base):
    server = ServerProcess(export_base / MODEL, MODEL, "--batch_timeout_micros=5000")
    yield server
    assert server.stop() == 0, server.output()[-3000:]


@pytest.fixture(scope="module")
def reference(export_base):
    return tf.saved_model.load(str(export_base / MODEL / "1")).signatures["serving_bytes"]


def resident_kib(server, field="VmRSS"):
    with open(f"/proc/{server.process.pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def predict_bytes(server, images, timeout=60):
    body = {"signature_name": "serving_bytes",
            "instances": [{"b64": base64.b64encode(data).decode("ascii")} for data in images]}
    return requests.post(f"http://{server.rest}/v1/models/{MODEL}:predict", json=body, timeout=timeout)


def grpc_predict_bytes(server, images):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = MODEL
    request.model_spec.signature_name = "serving_bytes"
    request.inputs["image_bytes"].CopyFrom(tf.make_tensor_proto(images))
    stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(server.grpc))
    return stub.Predict(request, timeout=60)


def good_image(seed=0):
    return hostile_images.encoded("PNG", 32, 32, seed=seed)


def assert_answers_correctly(server, reference, seed=0):
    response = predict_bytes(server, [good_image(seed)])
    assert response.status_code == 200, response.text
    expected = reference(image_bytes=tf.constant([good_image(seed)]))["logits"].numpy()
    actual = np.asarray(response.json()["predictions"][0]["logits"])[None]
    assert np.max(np.abs(actual - expected)) <= saved_model_bound(expected)


@pytest.mark.parametrize("fmt", hostile_images.FORMATS)
def test_an_image_declaring_20000_x_20000_pixels_gets_a_400_and_memory_stays_put(server, reference, fmt):
    data = hostile_images.png(20_000, 20_000, noisy_rows=6) if fmt == "PNG" else hostile_images.oversized(fmt)
    before = resident_kib(server)
    response = predict_bytes(server, [good_image(), data], timeout=30)
    assert response.status_code == 400, response.text
    assert (f"image_bytes[1] ({fmt}) declares 20000 x 20000 pixels (400000000 pixels to decode), over the limit "
            f"of {16 * 1024 * 1024} pixels") in response.json()["error"]
    with pytest.raises(grpc.RpcError) as raised:
        grpc_predict_bytes(server, [data])
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "image_bytes[0] (" + fmt + ") declares 20000 x 20000 pixels" in raised.value.details()
    assert resident_kib(server) - before < 256 * 1024  # decoding would take 1.2 GB
    assert_answers_correctly(server, reference)


@pytest.mark.parametrize("data, message", [
    (hostile_images.png(40, 30)[:20], r"image_bytes\[0\] \(PNG\): not decoded because it ends before"),
    (hostile_images.gif(40, 30)[:11], r"image_bytes\[0\] \(GIF\): not decoded because it ends before"),
    (hostile_images.bmp(40, 30)[:24], r"image_bytes\[0\] \(BMP\): not decoded because it ends before"),
    (hostile_images.encoded("JPEG")[:30], r"image_bytes\[0\] \(JPEG\): Invalid JPEG data"),
    (hostile_images.png(40, 30).replace(b"IHDR", b"IHDX"), r"\(PNG\): not decoded because its header is corrupt"),
    (hostile_images.gif_of_tiny_blocks(), r"\(GIF\): not decoded because its first GIF frame takes too many"),
])
def test_truncated_and_corrupt_headers_get_a_400(server, reference, data, message):
    response = predict_bytes(server, [data])
    assert response.status_code == 400, response.text
    assert re.search(message, response.json()["error"]), response.json()["error"]
    assert_answers_correctly(server, reference)


def test_the_server_takes_the_lower_of_its_own_and_the_exports_pixel_limit(export_base, reference):
    small = ServerProcess(export_base / MODEL, MODEL, "--max_image_pixels=1000")
    try:
        response = predict_bytes(small, [good_image()])
        assert response.status_code == 400
        assert "declares 32 x 32 pixels (1024 pixels to decode), over the limit of 1000" in response.json()["error"]
        assert predict_bytes(small, [hostile_images.encoded("PNG", 30, 30)]).status_code == 200
    finally:
        assert small.stop() == 0


def test_requests_beyond_the_servers_capacity_get_429_and_late_ones_504(export_base):
    busy = ServerProcess(export_base / MODEL, MODEL, "--max_concurrent_requests=1", "--max_queued_requests=0",
                         "--noenable_batching")
    try:
        batch = [hostile_images.encoded("PNG", 400, 400, seed=i) for i in range(16)]  # ~0.1 s of decoding each
        barrier = threading.Barrier(8)

        def one(_):
            barrier.wait()
            return predict_bytes(busy, batch)

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(one, range(8)))
        codes = sorted(r.status_code for r in responses)
        assert set(codes) == {200, 429}, codes
        refused = next(r for r in responses if r.status_code == 429)
        assert "The server is busy: 1 requests in flight, the limit is 1" in refused.json()["error"]
    finally:
        assert busy.stop() == 0
    late = ServerProcess(export_base / MODEL, MODEL, "--request_timeout_seconds=0.001")
    try:
        response = predict_bytes(late, [good_image()])
        assert response.status_code == 504 and "not answered within 0.001 s" in response.json()["error"]
        with pytest.raises(grpc.RpcError) as raised:
            grpc_predict_bytes(late, [good_image()])
        assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    finally:
        assert late.stop() == 0


def test_a_soak_of_good_bad_and_oversized_requests(server, reference):
    """24 clients x 12 requests on both transports: a third good (checked against the SavedModel), the
    rest malformed or hostile. No good request may fail, every bad one gets a 4xx, memory stays bounded."""
    goods = [good_image(seed) for seed in range(4)]
    expected = reference(image_bytes=tf.constant(goods))["logits"].numpy()
    bads = [hostile_images.png(20_000, 20_000), hostile_images.oversized("JPEG"), hostile_images.oversized("GIF"),
            hostile_images.gif(10, 10, 30_000, 30_000), hostile_images.oversized("BMP"), b"not an image",
            hostile_images.png(40, 30)[:20], hostile_images.gif_of_tiny_blocks(100_000)]
    before = resident_kib(server)
    failures = []

    def client(index):
        rng = random.Random(index)
        for _ in range(12):
            if rng.random() < 1 / 3:
                k = rng.randrange(len(goods))
                if rng.random() < 0.5:
                    response = predict_bytes(server, [goods[k]])
                    ok = response.status_code == 200
                    logits = np.asarray(response.json()["predictions"][0]["logits"]) if ok else None
                else:
                    try:
                        logits = tf.make_ndarray(grpc_predict_bytes(server, [goods[k]]).outputs["logits"])[0]
                        ok = True
                    except grpc.RpcError as e:
                        ok, logits = False, e.details()
                if not ok or np.max(np.abs(logits - expected[k])) > saved_model_bound(expected[k:k + 1]):
                    failures.append(f"good request {k} failed: {logits if not ok else 'wrong logits'}")
            else:
                data = rng.choice(bads)
                if rng.random() < 0.5:
                    status = predict_bytes(server, [data]).status_code
                    if not 400 <= status < 500:
                        failures.append(f"bad request answered {status}")
                else:
                    try:
                        grpc_predict_bytes(server, [data])
                        failures.append("bad gRPC request answered OK")
                    except grpc.RpcError as e:
                        if e.code() != grpc.StatusCode.INVALID_ARGUMENT:
                            failures.append(f"bad gRPC request answered {e.code()}")

    with concurrent.futures.ThreadPoolExecutor(24) as pool:
        list(pool.map(client, range(24)))
    assert failures == []
    assert resident_kib(server) - before < 1024 * 1024
    assert_answers_correctly(server, reference)
