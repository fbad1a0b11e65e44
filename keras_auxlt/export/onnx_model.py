"""ONNX export of the image-tensor path (bytes decoding stays outside ONNX), via tf2onnx.

    input   images  float32 [batch, S, S, 3]  raw pixels in [0, 255], NHWC (the batch axis dynamic, named `batch`)
    outputs logits  float32 [batch, C]
            probs   float32 [batch, C]        softmax of logits / T (metadata `temperature`; 1: raw softmax)

Metadata (`metadata_props`): class_names (JSON list, index = class id), image_size, input
layout, the source run and checkpoint, and the keras-auxlt export format version.
"""

import json

import numpy as np
import tensorflow as tf

from keras_auxlt.export.metadata import DEFAULT_OPSET as DEFAULT_OPSET  # the exporter's default, kept TensorFlow-free
from keras_auxlt.export.signatures import IMAGES_INPUT

ONNX_OUTPUTS = ("logits", "probs")
BATCH_AXIS = "batch"  # the name of the dynamic first axis of the input and outputs (tf2onnx would leave unk__NNN)


def convert(primary_model, image_size, opset, metadata, temperature=1.0):
    """The primary model as an ONNX ModelProto with `metadata` (str -> str) attached, its probabilities at
    `temperature`; checked."""
    import onnx
    import tf2onnx

    @tf.function(input_signature=[tf.TensorSpec([None, image_size, image_size, 3], tf.float32, IMAGES_INPUT)])
    def predict(images):
        logits = tf.cast(primary_model(images, training=False), tf.float32)
        return {"logits": logits, "probs": tf.nn.softmax(logits / temperature, axis=-1)}

    proto, _ = tf2onnx.convert.from_function(predict, input_signature=predict.input_signature, opset=opset)
    for value in [*proto.graph.input, *proto.graph.output]:
        batch = value.type.tensor_type.shape.dim[0]
        batch.ClearField("dim_value")
        batch.dim_param = BATCH_AXIS
    onnx.helper.set_model_props(proto, {key: str(value) for key, value in metadata.items()})
    onnx.checker.check_model(proto)
    return proto


def metadata(class_names, image_size, source, temperature=1.0):
    return {"class_names": json.dumps(list(class_names)), "image_size": str(image_size),
            "input": f"{IMAGES_INPUT}: float32 [N, {image_size}, {image_size}, 3] raw RGB pixels in [0, 255], NHWC",
            "outputs": "logits: float32 [N, C]; probs: float32 [N, C], softmax(logits / temperature)",
            "temperature": repr(float(temperature)), "source": source, "producer": "keras-auxlt export"}


def session(path_or_bytes):
    import onnxruntime

    return onnxruntime.InferenceSession(path_or_bytes, providers=["CPUExecutionProvider"])


def run(sess, images):
    """{output name: array} for a float32 image batch."""
    outputs = sess.run(list(ONNX_OUTPUTS), {IMAGES_INPUT: np.asarray(images, np.float32)})
    return dict(zip(ONNX_OUTPUTS, outputs))


def class_names_of(sess):
    return json.loads(sess.get_modelmeta().custom_metadata_map["class_names"])
