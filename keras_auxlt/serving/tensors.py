"""Request and response tensors: TF Serving's JSON mapping (REST) and TensorProto (gRPC) <-> numpy.

REST, as TF Serving documents it: row format `{"instances": [...]}` (one item per batch row; an
item is the value of the only input or an object of named inputs) or columnar format
`{"inputs": value | {name: value}}`; binary strings as `{"b64": "..."}`. Responses mirror the
request: `{"predictions": [...]}` (one object of named outputs per row) or `{"outputs": {...}}`.
Output string tensors are UTF-8 text unless their name ends in `_bytes` (or they are not UTF-8),
then `{"b64": ...}`.
"""

import base64
import binascii

import numpy as np
import tensorflow as tf

from keras_auxlt.serving.errors import invalid


def check_inputs(inputs, signature):
    """Names, dtypes and shapes of {name: ndarray} against the signature; returns the batch size."""
    missing = sorted(set(signature.inputs) - set(inputs))
    unexpected = sorted(set(inputs) - set(signature.inputs))
    if missing or unexpected:
        raise invalid(f"Signature {signature.name!r} takes inputs {sorted(signature.inputs)}; "
                      f"missing {missing}, unexpected {unexpected}")
    sizes = set()
    for name, value in inputs.items():
        spec = signature.inputs[name]
        expected = spec.shape.as_list()
        if value.ndim != len(expected) or any(e is not None and e != d for e, d in zip(expected, value.shape)):
            shown = ["-1" if d is None else str(d) for d in expected]
            raise invalid(f"Input {name!r} of signature {signature.name!r} must have shape [{', '.join(shown)}]. "
                          f"Received shape {list(value.shape)}")
        sizes.add(value.shape[0] if value.ndim else 1)
    if len(sizes) > 1:
        raise invalid(f"Inputs of signature {signature.name!r} disagree on the batch size: {sorted(sizes)}")
    return sizes.pop()


# ------------------------------------------------------------------------------------------ REST


def parse_predict(body, signature):
    """(inputs {name: ndarray}, row_format) from a decoded JSON predict request body."""
    if not isinstance(body, dict):
        raise invalid("Request body must be a JSON object with 'instances' or 'inputs'")
    if ("instances" in body) == ("inputs" in body):
        raise invalid("Missing 'inputs' or 'instances' key" if "instances" not in body
                      else "Not both 'inputs' and 'instances' can be given")
    names = sorted(signature.inputs)
    if "instances" in body:
        rows = body["instances"]
        if not isinstance(rows, list) or not rows:
            raise invalid("'instances' must be a non-empty list")
        if all(isinstance(r, dict) and set(r) == set(names) and not _is_b64(r) for r in rows):
            columns = {name: [r[name] for r in rows] for name in names}
        elif len(names) == 1:
            columns = {names[0]: rows}
        else:
            raise invalid(f"Each instance must be an object with the inputs {names} of signature {signature.name!r}")
        return {name: to_array(value, signature.inputs[name], name) for name, value in columns.items()}, True
    columns = body["inputs"]
    if not (isinstance(columns, dict) and not _is_b64(columns)):
        if len(names) != 1:
            raise invalid(f"'inputs' must be an object with the inputs {names} of signature {signature.name!r}")
        columns = {names[0]: columns}
    unknown = sorted(set(columns) - set(names))
    if unknown:
        raise invalid(f"Unknown input(s) {unknown} for signature {signature.name!r}; it takes {names}")
    return {name: to_array(value, signature.inputs[name], name) for name, value in columns.items()}, False


def _is_b64(value):
    return isinstance(value, dict) and set(value) == {"b64"}


def to_array(value, spec, name):
    """A JSON value as an ndarray of the spec's dtype; 400 for ragged lists, wrong types or bad base64."""
    if spec.dtype == tf.string:
        return np.array(_decode_strings(value, name), dtype=object)
    try:
        array = np.asarray(value, dtype=spec.dtype.as_numpy_dtype)
    except (ValueError, TypeError) as e:
        raise invalid(f"Input {name!r} must be a rectangular nested list of numbers ({spec.dtype.name}): {e}")
    if array.dtype == object:
        raise invalid(f"Input {name!r} must be a rectangular nested list of numbers ({spec.dtype.name})")
    return array


def _decode_strings(value, name):
    if isinstance(value, list):
        return [_decode_strings(v, name) for v in value]
    if _is_b64(value):
        try:
            return base64.b64decode(value["b64"], validate=True)
        except (binascii.Error, TypeError, ValueError) as e:
            raise invalid(f"Input {name!r}: invalid base64 in {{'b64': ...}}: {e}")
    if isinstance(value, str):
        return value.encode("utf-8")
    raise invalid(f"Input {name!r} is a string tensor: give strings or {{'b64': '...'}} objects. "
                  f"Received {type(value).__name__}")


def to_json(array, name):
    """An output ndarray as nested JSON lists; strings as text, or {"b64"} for `*_bytes` or binary."""
    array = np.asarray(array)
    if array.dtype != object:
        return array.tolist()
    binary = name.endswith("_bytes")

    def encode(v):
        if isinstance(v, list):
            return [encode(x) for x in v]
        if not binary:
            try:
                return v.decode("utf-8")
            except UnicodeDecodeError:
                pass
        return {"b64": base64.b64encode(v).decode("ascii")}

    return encode(array.tolist())


def predict_response(outputs, row_format):
    names = sorted(outputs)
    if row_format:
        rows = [{name: to_json(outputs[name][i], name) for name in names} for i in range(len(outputs[names[0]]))]
        return {"predictions": [row[names[0]] for row in rows] if len(names) == 1 else rows}
    columns = {name: to_json(outputs[name], name) for name in names}
    return {"outputs": columns[names[0]] if len(names) == 1 else columns}


# ------------------------------------------------------------------------------------------ gRPC


def from_tensor_proto(proto, spec, name):
    if proto.dtype != spec.dtype.as_datatype_enum:
        raise invalid(f"Input {name!r} must be {spec.dtype.name}. Received {tf.dtypes.as_dtype(proto.dtype).name}")
    try:
        return tf.make_ndarray(proto)
    except (ValueError, TypeError) as e:
        raise invalid(f"Input {name!r}: malformed TensorProto: {e}")


def to_tensor_proto(array):
    return tf.make_tensor_proto(array)
