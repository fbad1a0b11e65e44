"""Model status and metadata as TF Serving's protos, and their REST JSON forms (shared by both transports)."""

from google.protobuf import json_format
from tensorflow.core.protobuf import error_codes_pb2
from tensorflow_serving.apis import get_model_metadata_pb2, get_model_status_pb2

from keras_auxlt.serving.errors import invalid

SIGNATURE_DEF_FIELD = "signature_def"


def status_response(registry, model_name, version=None):
    response = get_model_status_pb2.GetModelStatusResponse()
    for number, state, error in registry.status(model_name, version):
        entry = response.model_version_status.add()
        entry.version = number
        entry.state = get_model_status_pb2.ModelVersionStatus.State.Value(state)
        entry.status.error_code = error_codes_pb2.UNKNOWN if error else error_codes_pb2.OK
        entry.status.error_message = error
    return response


def metadata_response(model, metadata_fields=(SIGNATURE_DEF_FIELD,)):
    unsupported = [f for f in metadata_fields if f != SIGNATURE_DEF_FIELD]
    if unsupported or not metadata_fields:
        raise invalid(f"Metadata field(s) {unsupported or '(none)'} not supported; only '{SIGNATURE_DEF_FIELD}'")
    response = get_model_metadata_pb2.GetModelMetadataResponse()
    response.model_spec.name = model.name
    response.model_spec.version.value = model.version
    signatures = get_model_metadata_pb2.SignatureDefMap()
    for name, signature_def in model.signature_defs.items():
        signatures.signature_def[name].CopyFrom(signature_def)
    response.metadata[SIGNATURE_DEF_FIELD].Pack(signatures)
    return response


def to_json(message):
    """A proto as TF Serving's REST JSON: proto field names, enum names, empty fields printed."""
    return json_format.MessageToDict(message, preserving_proto_field_name=True,
                                     always_print_fields_with_no_presence=True)


def metadata_json(model):
    response = metadata_response(model)
    signatures = get_model_metadata_pb2.SignatureDefMap()
    response.metadata[SIGNATURE_DEF_FIELD].Unpack(signatures)
    return {"model_spec": {"name": model.name, "signature_name": "", "version": str(model.version)},
            "metadata": {SIGNATURE_DEF_FIELD: to_json(signatures)}}
