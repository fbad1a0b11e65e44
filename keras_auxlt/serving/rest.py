"""TF Serving's REST API on Starlette:

    GET  /v1/models/NAME[/versions/V]              model version status
    GET  /v1/models/NAME[/versions/V]/metadata     signature defs
    POST /v1/models/NAME[/versions/V]:predict      row ("instances") or columnar ("inputs") format

Errors answer `{"error": "..."}` with a 4xx status, as TF Serving does.
"""

import contextlib
import json
import logging
import re

import anyio.to_thread
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from keras_auxlt.serving import protos
from keras_auxlt.serving.errors import ServingError, invalid, not_found, too_large
from keras_auxlt.serving.tensors import parse_predict, predict_response

log = logging.getLogger("serving")
PATH = re.compile(r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>[^/:]+))?(?P<verb>/metadata|:[a-z]+)?$")


def json_response(content, status=200):
    # TF Serving's JSON allows NaN / Infinity tokens (its docs, "JSON conformance").
    return Response(json.dumps(content, allow_nan=True), status_code=status, media_type="application/json")


def make_app(registry, predictor, max_request_bytes):
    async def models(request: Request):
        try:
            return await _dispatch(request)
        except ServingError as e:
            return json_response({"error": e.message}, e.http_status)
        except Exception as e:  # noqa: BLE001 — a bug must not take the server down; say what happened
            log.exception("internal error on %s %s", request.method, request.url.path)
            return json_response({"error": f"Internal error: {type(e).__name__}: {e}"}, 500)

    async def _dispatch(request):
        match = PATH.match(request.url.path)
        if not match:
            raise not_found(f"Malformed request: {request.method} {request.url.path}")
        name, verb = match["name"], match["verb"] or ""
        version = _version(match["version"])
        if request.method == "GET" and verb == "":
            return json_response(protos.to_json(protos.status_response(registry, name, version)))
        if request.method == "GET" and verb == "/metadata":
            return json_response(protos.metadata_json(registry.get(name, version)))
        if request.method == "POST" and verb == ":predict":
            return json_response(await run_in_threadpool(_predict, name, version, await _read_json(request)))
        if request.method == "POST" and verb in (":classify", ":regress"):
            raise invalid(f"{verb[1:]} is not supported: this model exports predict signatures only")
        raise not_found(f"Malformed request: {request.method} {request.url.path}")

    def _predict(name, version, body):
        signature_name = body.get("signature_name", "") if isinstance(body, dict) else ""
        if not isinstance(signature_name, str):
            raise invalid("'signature_name' must be a string")
        model = registry.get(name, version)
        inputs, row_format = parse_predict(body, model.signature(signature_name))
        _, _, outputs = predictor.predict(name, model.version, signature_name, inputs)
        return predict_response(outputs, row_format)

    async def _read_json(request):
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_request_bytes:
            raise too_large(f"Request body of {declared} bytes exceeds the limit of {max_request_bytes} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_request_bytes:
                raise too_large(f"Request body exceeds the limit of {max_request_bytes} bytes")
        try:
            return json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise invalid(f"JSON Parse error: {e}")

    async def unknown(request: Request):
        return json_response({"error": f"Malformed request: {request.method} {request.url.path}"}, 404)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        # Predict requests block a worker thread each; give every request the predictor admits a thread,
        # so that its limits (429 when full, the request deadline) decide, not anyio's default of 40.
        anyio.to_thread.current_default_thread_limiter().total_tokens = predictor.admission.capacity + 8
        yield

    methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
    return Starlette(routes=[Route("/v1/models/{path:path}", models, methods=methods),
                             Route("/{path:path}", unknown, methods=methods)], lifespan=lifespan)


def _version(text):
    if text is None:
        return None
    if not text.isdigit():
        raise invalid(f"Version must be a positive integer. Received: {text!r}")
    return int(text)
