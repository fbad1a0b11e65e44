"""TF Serving's gRPC API: PredictionService (Predict, GetModelMetadata) and ModelService (GetModelStatus),
on the message and service definitions of the `tensorflow-serving-api` package."""

import logging
from concurrent import futures

import grpc
from tensorflow_serving.apis import model_service_pb2_grpc, predict_pb2, prediction_service_pb2_grpc

from keras_auxlt.serving import protos
from keras_auxlt.serving.errors import ServingError, invalid
from keras_auxlt.serving.tensors import from_tensor_proto, to_tensor_proto

log = logging.getLogger("serving")


def _version(model_spec):
    return model_spec.version.value if model_spec.HasField("version") else None


def _guarded(method):
    """Turn ServingError into the matching status code, and anything else into INTERNAL, never a crash."""

    def wrapper(self, request, context):
        try:
            return method(self, request, context)
        except ServingError as e:
            context.abort(e.grpc_code, e.message)
        except Exception as e:  # noqa: BLE001
            log.exception("internal error in %s", method.__name__)
            context.abort(grpc.StatusCode.INTERNAL, f"Internal error: {type(e).__name__}: {e}")

    wrapper.__name__ = method.__name__
    return wrapper


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, registry, predictor):
        self.registry = registry
        self.predictor = predictor

    @_guarded
    def Predict(self, request, context):  # noqa: N802 (gRPC method name)
        spec = request.model_spec
        model = self.registry.get(spec.name, _version(spec))
        signature = model.signature(spec.signature_name)
        inputs = {}
        for name, proto in request.inputs.items():
            if name not in signature.inputs:
                raise invalid(f"Unknown input {name!r} for signature {signature.name!r}; it takes "
                              f"{sorted(signature.inputs)}")
            inputs[name] = from_tensor_proto(proto, signature.inputs[name], name)
        unknown = sorted(set(request.output_filter) - set(signature.outputs))
        if unknown:
            raise invalid(f"output_filter names unknown outputs {unknown}; signature {signature.name!r} has "
                          f"{signature.outputs}")
        _, _, outputs = self.predictor.predict(spec.name, model.version, spec.signature_name, inputs)
        response = predict_pb2.PredictResponse()
        response.model_spec.name = model.name
        response.model_spec.version.value = model.version
        response.model_spec.signature_name = signature.name
        for name in request.output_filter or outputs:
            response.outputs[name].CopyFrom(to_tensor_proto(outputs[name]))
        return response

    @_guarded
    def GetModelMetadata(self, request, context):  # noqa: N802
        model = self.registry.get(request.model_spec.name, _version(request.model_spec))
        return protos.metadata_response(model, tuple(request.metadata_field))


class ModelService(model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, registry):
        self.registry = registry

    @_guarded
    def GetModelStatus(self, request, context):  # noqa: N802
        return protos.status_response(self.registry, request.model_spec.name, _version(request.model_spec))


def make_server(registry, predictor, host, port, max_request_bytes, max_requests):
    """A started grpc.Server on host:port (port 0 picks a free one; the bound port is returned). It handles
    up to `max_requests` RPCs at once and refuses more with RESOURCE_EXHAUSTED, so that no request waits
    unbounded in gRPC's own queue before the predictor's limits see it."""
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=max_requests, thread_name_prefix="grpc"),
                         options=[("grpc.max_receive_message_length", max_request_bytes)],
                         maximum_concurrent_rpcs=max_requests)
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(PredictionService(registry, predictor), server)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelService(registry), server)
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot bind gRPC to {host}:{port}")
    server.start()
    return server, bound
