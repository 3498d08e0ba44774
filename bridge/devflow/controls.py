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
- ``PUT /_devflow/faults/random`` sets the one random-fault profile, body
  ``{"seed": 7, "error": 0.05, "throttle": 0.03, "timeout": 0.01,
  "timeout_delay": 3, "retry_after": "1", "error_statuses": [500, 502, 503, 504],
  "path": "/flows/", "method": "POST"}``. Each API request that no queued
  fault matches (and that matches ``path`` and ``method``, if given) draws
  once: with chance ``error`` it answers a 5xx from ``error_statuses``, with
  chance ``throttle`` a 429 with ``Retry-After: retry_after``, with chance
  ``timeout`` it sleeps ``timeout_delay`` seconds (make it longer than the
  client's timeout) and is then served normally, as a slow server would: the
  client has given up, the message is stored anyway, and the client's retry
  must be dropped by its ``uuid``. The chances add up to at most 1; ``seed``
  (default: a random one, reported) makes the draws repeat for the same
  sequence of requests. Answers 200 ``{"random": profile}``.
  ``GET /_devflow/faults/random`` answers ``{"random": profile or null}``, the
  profile with ``drawn``: the requests it saw and the faults of each kind it
  drew. ``DELETE /_devflow/faults/random`` removes it.
- ``GET /_devflow/faults`` answers ``{"faults": [...]}``, each queued fault
  with its ``remaining`` uses; ``DELETE /_devflow/faults`` clears them and the
  random profile.
- ``GET /_devflow/requests`` answers ``{"requests": [entry, ...]}`` in arrival
  order; an entry is ``{"seq", "method", "path", "query", "headers", "auth":
  {"kind": "token"|"password"|"flow_token"|null, "user_id", "valid"}, "json",
  "status", "message_id", "duplicate", "at"}``. ``Authorization`` (and
  ``Cookie``) headers are removed and any ``flow_token`` value reads ``"***"``.
- ``GET /_devflow/messages[?since_id=N]`` answers ``{"messages": [...], "duplicates": N}``:
  every stored message of every flow (with an id above ``since_id``, if given) in arrival order, as the API shows it,
  plus ``org``, ``flow`` (the flow's parameterized name), ``flow_id``,
  ``duplicates`` (repeats of its uuid) and ``sent_thread`` (the ``thread``
  object that message carried).
- ``GET /_devflow/chats[?since_id=N]`` answers ``{"arrivals": [...]}``: every
  request the other chats (chats.py: Slack, Mattermost, Teams, Discord, Matrix,
  Zulip) accepted, oldest first, each ``{"id", "service", "where", "message_id",
  "thread", "json", "updates", "at"}``: ``where`` is the channel, room or
  ``stream > topic``, ``thread`` the root it replied under, ``updates`` the
  bodies of later edits (Slack chat.update, Mattermost patch).
- ``POST /_devflow/reset`` clears messages, arrivals, threads, requests, faults (queued
  and random) and the duplicate count (users and flows stay); answers ``{"ok": true}``.
- ``GET /_devflow/health`` answers ``{"ok": true}``.
"""

from __future__ import annotations

import json
import secrets

from flask import Flask, g, jsonify, request

from .faults import RandomProfile
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


def _chance(errors: Errors, body: dict, key: str) -> float:
    return _number(errors, body, key, float, 0, 1) or 0.0


def _statuses(errors: Errors, body: dict) -> list[int] | None:
    value = body.get("error_statuses")
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(s, int) and not isinstance(s, bool) and 500 <= s <= 599 for s in value):
        errors.add("error_statuses", "must be a non-empty list of statuses between 500 and 599")
    return value


def _random_profile(body: dict) -> RandomProfile:
    errors = Errors()
    chances = {kind: _chance(errors, body, kind) for kind in ("error", "throttle", "timeout")}
    seed = body.get("seed", secrets.randbelow(2**32))
    if isinstance(seed, bool) or not isinstance(seed, int):
        errors.add("seed", "must be an integer")
    delay = _number(errors, body, "timeout_delay", float, 0, MAX_DELAY)
    if chances["timeout"] and delay is None and "timeout_delay" not in errors:
        errors.add("timeout_delay", "is required with timeout: seconds, longer than the client's timeout")
    if sum(chances.values()) > 1:
        for kind in (k for k, chance in chances.items() if chance):
            errors.add(kind, "error, throttle and timeout must add up to at most 1")
    retry_after = body.get("retry_after", "1")
    if isinstance(retry_after, bool) or not isinstance(retry_after, (str, int)):
        errors.add("retry_after", "must be a string or an integer")
    statuses = _statuses(errors, body)
    path, method = body.get("path"), body.get("method")
    if path is not None and not (isinstance(path, str) and path.startswith("/")):
        errors.add("path", "must be a path starting with /")
    unknown = set(body) - {"seed", "error", "throttle", "timeout", "timeout_delay", "retry_after", "error_statuses", "path", "method"}
    for key in sorted(unknown):
        errors.add(key, "is not a random-fault setting")
    if errors:
        raise validation_error(errors)
    profile = RandomProfile(seed, **chances, retry_after=str(retry_after), timeout_delay=delay, path=path, method=str(method).upper() if method else None)
    if statuses:
        profile.error_statuses = statuses
    return profile


def add_fault():
    """POST /_devflow/faults"""
    g.state.faults.add(_fault(_body()))
    return jsonify({"faults": g.state.faults.queued()}), 201


def list_faults():
    """GET /_devflow/faults"""
    return jsonify({"faults": g.state.faults.queued()})


def clear_faults():
    """DELETE /_devflow/faults"""
    g.state.faults.clear()
    return jsonify({"faults": []})


def set_random_faults():
    """PUT /_devflow/faults/random"""
    g.state.faults.set_random(_random_profile(_body()))
    return jsonify({"random": g.state.faults.random()})


def show_random_faults():
    """GET /_devflow/faults/random"""
    return jsonify({"random": g.state.faults.random()})


def clear_random_faults():
    """DELETE /_devflow/faults/random"""
    g.state.faults.set_random(None)
    return jsonify({"random": None})


def list_requests():
    """GET /_devflow/requests"""
    return jsonify({"requests": g.state.requests()})


def list_all_messages():
    """GET /_devflow/messages"""
    since_id = request.args.get("since_id", "0")
    if not since_id.isdigit():
        raise validation_error({"since_id": ["must be a whole number"]})
    return jsonify(g.state.all_messages(int(since_id)))


def list_chat_arrivals():
    """GET /_devflow/chats"""
    since_id = request.args.get("since_id", "0")
    if not since_id.isdigit():
        raise validation_error({"since_id": ["must be a whole number"]})
    return jsonify({"arrivals": g.state.arrivals(int(since_id))})


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
    ("/_devflow/faults/random", "PUT", set_random_faults),
    ("/_devflow/faults/random", "GET", show_random_faults),
    ("/_devflow/faults/random", "DELETE", clear_random_faults),
    ("/_devflow/requests", "GET", list_requests),
    ("/_devflow/messages", "GET", list_all_messages),
    ("/_devflow/chats", "GET", list_chat_arrivals),
    ("/_devflow/reset", "POST", reset),
    ("/_devflow/health", "GET", health),
    ("/", "GET", page),
)


def register(app: Flask) -> None:
    """Add the control routes and the page to the app."""
    for rule, method, view in CONTROL_ROUTES:
        app.add_url_rule(rule, endpoint=f"devflow.{view.__name__}", view_func=view, methods=[method])
