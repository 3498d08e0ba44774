"""Flask app factory of devflow: strict request checks, auth, faults and the request log."""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time

from flask import Flask, g, jsonify, request
from werkzeug.exceptions import HTTPException

from . import chats
from .models import Auth
from .state import DevflowState

log = logging.getLogger(__name__)

REALM = 'Basic realm="devflow"'
BODY_METHODS = {"POST", "PUT", "PATCH"}
HIDDEN_HEADERS = {"authorization", "proxy-authorization", "cookie"}
REDACTED = "***"


class ApiError(Exception):
    """An error answer: status, JSON message, optional field errors and headers."""

    def __init__(self, status: int, message: str, errors: dict | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.errors, self.headers = status, message, errors, headers or {}


def validation_error(errors: dict) -> ApiError:
    """Return the 400 answer for field problems."""
    return ApiError(400, "Validation error", dict(errors))


def is_api_path(path: str) -> bool:
    """Tell whether a path is part of the Flowdock API (not the page or the test controls)."""
    return path not in ("/", "/favicon.ico") and not path.startswith("/_devflow")


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """Decode Basic credentials; UTF-8 per RFC 7617, Latin-1 for clients that still use it."""
    scheme, _, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        raw = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        decoded = raw.decode("latin-1")
    username, sep, password = decoded.partition(":")
    return (username, password) if sep or username else None


def _read_json() -> dict | None:
    """Parse the body strictly (no NaN/Infinity); raise 400 like Flowdock does."""
    data = request.get_data(cache=True)
    try:
        body = json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "Problems parsing JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "Body should be a JSON object")
    return body


def _reject_constant(name: str):
    raise ValueError(name)


def _try_json() -> dict | None:
    # Only for the log and for finding a flow token; the strict check comes later.
    try:
        return _read_json() if request.get_data(cache=True) else None
    except (ApiError, HTTPException):
        return None


def _resolve_auth(state: DevflowState, body: dict | None) -> Auth:
    creds = parse_basic(request.headers.get("Authorization"))
    if creds is not None:
        return state.authenticate(*creds)
    token = (body or {}).get("flow_token") or request.args.get("flow_token")
    if token is not None:
        return Auth("flow_token", None, state.flow_for_token(token) is not None)
    return Auth()


def _log_entry(body: dict | None) -> dict:
    query = request.args.to_dict()
    for key in ("flow_token", *chats.SECRET_QUERY):
        if key in query:
            query[key] = REDACTED
    if body is not None and "flow_token" in body:
        body = dict(body, flow_token=REDACTED)
    headers = {k: v for k, v in request.headers.items() if k.lower() not in HIDDEN_HEADERS}
    return {
        "method": request.method,
        "path": chats.public_path(request.path),
        "query": query,
        "headers": headers,
        "auth": g.auth.public(),
        "json": body,
        "status": None,
        "message_id": None,
        "duplicate": False,
        "at": int(time.time() * 1000),
    }


def _fault_response(fault: dict):
    if fault.get("delay"):
        time.sleep(fault["delay"])
    if fault.get("status") is None:
        return None  # a delay-only fault slows the request, then it is served normally
    body = fault.get("body")
    if body is None:
        body = {"message": f"devflow fault {fault['status']}"}
    response = jsonify(body)
    response.status_code = fault["status"]
    if fault.get("retry_after") is not None:
        response.headers["Retry-After"] = str(fault["retry_after"])
    return response


def _check_request():
    """Enforce the transport rules of the contract before any view runs."""
    if "Accept" not in request.headers or request.accept_mimetypes.quality("application/json") <= 0:
        raise ApiError(406, "Accept: application/json is required")
    if request.method in BODY_METHODS:
        if request.mimetype != "application/json":
            raise ApiError(415, "Content-Type: application/json is required")
        g.body = _read_json()


def _begin():
    g.api = is_api_path(request.path)
    if not g.api:
        return None
    state: DevflowState = g.state
    body = _try_json()
    g.body = body or {}
    g.auth = _resolve_auth(state, body)
    g.log_entry = state.record_request(_log_entry(body))
    fault = state.faults.take(request.method, request.path)
    if fault is not None:
        g.faulted = True
        response = _fault_response(fault)
        if response is not None:
            return response
    if request.routing_exception is None and not chats.is_chat_request():
        _check_request()
    return None


def _finish(response):
    if getattr(g, "api", False):
        auth: Auth = g.auth
        if auth.valid and auth.user is not None:
            response.headers["Flowdock-User"] = str(auth.user.id)
        g.state.finish_request(g.log_entry, status=response.status_code)
    return response


def _api_error(error: ApiError):
    payload = {"message": error.message}
    if error.errors is not None:
        payload["errors"] = error.errors
    response = jsonify(payload)
    response.status_code = error.status
    response.headers.update(error.headers)
    return response


def _http_error(error: HTTPException):
    response = jsonify({"message": error.name})
    response.status_code = error.code or 500
    for key, value in error.get_headers():
        if key.lower() != "content-type":
            response.headers[key] = value
    return response


def _crash(error: Exception):
    log.exception("devflow: unhandled error")
    return _api_error(ApiError(500, "Internal server error"))


def create_devflow_app(state: DevflowState | None = None) -> Flask:
    """Build the devflow Flask app around a state (defaults when none is given)."""
    from . import api, controls  # imported here: both modules import this one

    app = Flask(__name__)
    app.json.sort_keys = False
    app.config["MAX_CONTENT_LENGTH"] = 8 * 1024 * 1024
    app.extensions["devflow"] = state if state is not None else DevflowState.with_defaults()
    app.before_request(lambda: setattr(g, "state", app.extensions["devflow"]))
    app.before_request(_begin)
    app.after_request(_finish)
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _crash)
    api.register(app)
    chats.register(app)
    controls.register(app)
    return app
