"""TF Serving's JSON mapping: request parsing (row / columnar, b64) and response shaping."""

import base64

import numpy as np
import pytest
import tensorflow as tf

from keras_auxlt.serving.errors import ServingError
from keras_auxlt.serving.tensors import parse_predict, predict_response, to_json


class FakeSignature:
    name = "sig"

    def __init__(self, **inputs):
        self.inputs = inputs


IMAGES = FakeSignature(images=tf.TensorSpec([None, 2, 2, 3], tf.float32))
TWO = FakeSignature(a=tf.TensorSpec([None], tf.int32), b=tf.TensorSpec([None], tf.string))


def test_row_format_single_input_plain_or_named():
    rows = np.arange(24, dtype=np.float32).reshape(2, 2, 2, 3)
    for instances in (rows.tolist(), [{"images": r} for r in rows.tolist()]):
        inputs, row_format = parse_predict({"instances": instances}, IMAGES)
        assert row_format and inputs["images"].dtype == np.float32
        np.testing.assert_array_equal(inputs["images"], rows)


def test_columnar_format_and_b64_strings():
    body = {"inputs": {"a": [1, 2], "b": [{"b64": base64.b64encode(b"\x00\xff").decode()}, "text"]}}
    inputs, row_format = parse_predict(body, TWO)
    assert not row_format
    assert inputs["a"].dtype == np.int32 and inputs["b"].tolist() == [b"\x00\xff", b"text"]


def test_row_format_with_several_inputs_needs_objects():
    inputs, _ = parse_predict({"instances": [{"a": 1, "b": "x"}, {"a": 2, "b": "y"}]}, TWO)
    assert inputs["a"].tolist() == [1, 2]
    with pytest.raises(ServingError, match=r"Each instance must be an object with the inputs \['a', 'b'\]"):
        parse_predict({"instances": [1, 2]}, TWO)


@pytest.mark.parametrize("body, message", [
    ([1, 2], "Request body must be a JSON object"),
    ({"instances": []}, "'instances' must be a non-empty list"),
    ({"inputs": {"pixels": [1]}}, r"Unknown input\(s\) \['pixels'\]"),
])
def test_malformed_bodies(body, message):
    with pytest.raises(ServingError, match=message) as raised:
        parse_predict(body, IMAGES)
    assert raised.value.http_status == 400


def test_responses_are_shaped_like_tf_servings():
    outputs = {"logits": np.array([[1.0, np.nan], [0.5, 2.0]], np.float32),
               "class_names": np.array([[b"cat"], [b"dog"]], dtype=object)}
    rows = predict_response(outputs, row_format=True)["predictions"]
    assert rows[1] == {"logits": [0.5, 2.0], "class_names": ["dog"]} and np.isnan(rows[0]["logits"][1])
    columns = predict_response(outputs, row_format=False)["outputs"]
    assert columns["class_names"] == [["cat"], ["dog"]]
    single = predict_response({"y": np.array([3, 4])}, row_format=True)
    assert single == {"predictions": [3, 4]}


def test_bytes_outputs_and_binary_strings_are_base64():
    assert to_json(np.array([b"\x89PNG"], dtype=object), "thumbnail_bytes") == [{"b64": "iVBORw=="}]
    assert to_json(np.array([b"\xff\xfe"], dtype=object), "name") == [{"b64": "//4="}]
    assert to_json(np.array([b"plain"], dtype=object), "name") == ["plain"]
