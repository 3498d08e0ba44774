"""Test controls under /_devflow/ (no auth) and the plain web page at /.

Control endpoints (JSON in, JSON out; none of them is recorded in the request log):

- ``POST /_devflow/faults`` queues a fault, body
  ``{"status": 503, "times": 3, "retry_after": "4", "delay": 0.5,
  "path": "/flows/acme/main/messages", "method": "POST", "body": {...}}``.
  Every key is optional, but ``status`` or ``delay`` must be given. The next
  ``times`` (default 1) API requests whose path starts with ``path`` (default:
  any API request, never ``/`` or ``/_devflow``) and whose method is ``method``
  (default: any) sleep ``delay`` seconds, then answer ``status`` with JSON
  ``body`` (default ``{"message": "devflow fault <status>"}``) and a
  ``Retry-After`` header when ``retry_after`` is given. Without ``status`` the
  request is served normally after the delay. Faults fire in FIFO order: the
  first queued fault that matches a request is used. A faulted request is
  logged but stores nothing. Answers 201 ``{"faults": [queued faults]}``.
- ``GET /_devflow/faults`` answers ``{"faults": [...]}``, each fault with its
  ``remaining`` uses; ``DELETE /_devflow/faults`` clears them.
- ``GET /_devflow/requests`` answers ``{"requests": [entry, ...]}`` in arrival
  order; an entry is ``{"seq", "method", "path", "query", "headers", "auth":
  {"kind": "token"|"password"|"flow_token"|null, "user_id", "valid"}, "json",
  "status", "message_id", "duplicate", "at"}``. ``Authorization`` (and
  ``Cookie``) headers are removed and any ``flow_token`` value reads ``"***"``.
- ``GET /_devflow/messages`` answers ``{"messages": [...], "duplicates": N}``:
  every stored message of every flow in arrival order, as the API shows it,
  plus ``org``, ``flow`` (the flow's parameterized name), ``flow_id``,
  ``duplicates`` (repeats of its uuid) and ``sent_thread`` (the ``thread``
  object that message carried).
- ``POST /_devflow/reset`` clears messages, threads, requests, faults and the
  duplicate count (users and flows stay); answers ``{"ok": true}``.
- ``GET /_devflow/health`` answers ``{"ok": true}``.
"""

from __future__ import annotations

import json

from flask import Flask, g, jsonify, request

from .page import page
from .server import ApiError, validation_error
from .validation import Errors

MAX_DELAY = 60.0


def _body() -> dict:
    try:
        body = json.loads(request.get_data(cache=True) or b"{}")
    except ValueError:
        raise ApiError(400, "Problems parsing JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "Body should be a JSON object")
    return body


def _number(errors: Errors, body: dict, key: str, kind: type, low: float, high: float):
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        errors.add(key, f"must be a number between {low} and {high}")
        return None
    if kind is int and value != int(value):
        errors.add(key, "must be an integer")
    return kind(value)


def _fault(body: dict) -> dict:
    errors = Errors()
    fault = {
        "status": _number(errors, body, "status", int, 100, 599),
        "times": _number(errors, body, "times", int, 1, 10**6) or 1,
        "delay": _number(errors, body, "delay", float, 0, MAX_DELAY),
        "retry_after": body.get("retry_after"),
        "path": body.get("path"),
        "method": body.get("method"),
        "body": body.get("body"),
    }
    if fault["status"] is None and fault["delay"] is None and "status" not in errors:
        errors.add("status", "status or delay is required")
    if fault["retry_after"] is not None and not isinstance(fault["retry_after"], (str, int)):
        errors.add("retry_after", "must be a string or an integer")
    if fault["path"] is not None and not (isinstance(fault["path"], str) and fault["path"].startswith("/")):
        errors.add("path", "must be a path starting with /")
    if fault["method"] is not None:
        fault["method"] = str(fault["method"]).upper()
    if errors:
        raise validation_error(errors)
    return fault


def add_fault():
    """POST /_devflow/faults"""
    g.state.add_fault(_fault(_body()))
    return jsonify({"faults": g.state.faults()}), 201


def list_faults():
    """GET /_devflow/faults"""
    return jsonify({"faults": g.state.faults()})


def clear_faults():
    """DELETE /_devflow/faults"""
    g.state.clear_faults()
    return jsonify({"faults": []})


def list_requests():
    """GET /_devflow/requests"""
    return jsonify({"requests": g.state.requests()})


def list_all_messages():
    """GET /_devflow/messages"""
    return jsonify(g.state.all_messages())


def reset():
    """POST /_devflow/reset"""
    g.state.reset()
    return jsonify({"ok": True})


def health():
    """GET /_devflow/health"""
    return jsonify({"ok": True})


CONTROL_ROUTES = (
    ("/_devflow/faults", "POST", add_fault),
    ("/_devflow/faults", "GET", list_faults),
    ("/_devflow/faults", "DELETE", clear_faults),
    ("/_devflow/requests", "GET", list_requests),
    ("/_devflow/messages", "GET", list_all_messages),
    ("/_devflow/reset", "POST", reset),
    ("/_devflow/health", "GET", health),
    ("/", "GET", page),
)


def register(app: Flask) -> None:
    """Add the control routes and the page to the app."""
    for rule, method, view in CONTROL_ROUTES:
        app.add_url_rule(rule, endpoint=f"devflow.{view.__name__}", view_func=view, methods=[method])
