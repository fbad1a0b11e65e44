"""Request errors with the HTTP status and gRPC code TF Serving would answer with."""

import grpc


class ServingError(Exception):
    """A request the server refuses; the server goes on serving."""

    def __init__(self, message, http_status=400, grpc_code=grpc.StatusCode.INVALID_ARGUMENT):
        super().__init__(message)
        self.message = message
        self.http_status = http_status
        self.grpc_code = grpc_code


def invalid(message):
    return ServingError(message, 400, grpc.StatusCode.INVALID_ARGUMENT)


def not_found(message):
    return ServingError(message, 404, grpc.StatusCode.NOT_FOUND)


def too_large(message):
    return ServingError(message, 413, grpc.StatusCode.RESOURCE_EXHAUSTED)


def unavailable(message):
    return ServingError(message, 503, grpc.StatusCode.UNAVAILABLE)


def overloaded(message):
    return ServingError(message, 429, grpc.StatusCode.RESOURCE_EXHAUSTED)


def deadline_exceeded(message):
    return ServingError(message, 504, grpc.StatusCode.DEADLINE_EXCEEDED)
