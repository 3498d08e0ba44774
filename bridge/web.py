"""The web side: /hooks/<route> accepts, verifies, dedupes, stores and queues; health probes and /metrics.

Nothing here loads Celery or kombu: the accept script queues the task message bridge/broker.py builds.
"""

from __future__ import annotations

import logging
from typing import Any, NamedTuple

import redis
from flask import Blueprint, Response, current_app, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from werkzeug.exceptions import BadRequest, ClientDisconnected, HTTPException, RequestEntityTooLarge, RequestTimeout

from bridge import broker, metrics, sequence
from bridge.config import Route
from bridge.groupcommit import GroupCommit, Interrupted
from bridge.sources import Inbound, Rejected, source_for
from bridge.store import Event, NotQueued, new_event_id

log = logging.getLogger(__name__)
bp = Blueprint("hooks", __name__)
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def error(status: int, message: str, **extra):
    """Every refusal is JSON saying what was wrong."""
    return jsonify({"error": message, "status": status, **extra}), status


class Hook(NamedTuple):
    """What receiving on one route needs, worked out once per app rather than on every webhook."""

    route: Route
    source: Any
    methods: tuple[str, ...]
    credentials: dict[str, str]


@bp.record_once
def _hooks(state) -> None:
    """One Hook per configured route, made when the app takes this blueprint (its config is fixed by then)."""
    routes = state.app.extensions["hookdock"].config.routes
    # Some senders may be set to PUT (Grafana's contact point); a source says so with METHODS.
    hooks = {}
    for name, route in routes.items():
        source = source_for(name, route)
        hooks[name] = Hook(route, source, tuple(getattr(source, "METHODS", ("POST",))), route.credentials())
    state.app.extensions["hookdock.hooks"] = hooks
    # Webhooks arriving together are stored and queued in one round trip (bridge/groupcommit.py), each by its own script call.
    state.app.extensions["hookdock.accepts"] = GroupCommit(state.app.extensions["hookdock"].store.accept_many)


@bp.route("/hooks/<route_name>", methods=ANY_METHOD)
def receive(route_name: str):
    """Accept one webhook: answer in milliseconds, do the work in the worker."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup rather than one per use
    hook = app.extensions["hookdock.hooks"].get(route_name)
    if hook is None:
        return error(404, f"no route named {route_name!r}")
    route, source, methods = hook.route, hook.source, hook.methods
    # An unknown route's name and an unverified event's name stay out of the labels: a stranger would choose them.
    g.webhook = labels = {"route": route_name, "source": route.source}
    if request.method not in methods:
        response, status = error(405, f"webhooks are delivered with {' or '.join(methods)}")
        response.headers["Allow"] = ", ".join(methods)
        return response, status
    raw = read_body()
    headers = request.headers
    try:
        source.verify(Inbound(headers, raw, request.args), hook.credentials)
        name, _ = source.parse(headers, raw)
    except Rejected as exc:
        return error(exc.status, exc.message)
    labels["event"] = name
    event = Event(
        new_event_id(),
        route_name,
        route.source,
        name,
        source.delivery_id(headers, raw),
        {h: value for h in source.KEPT_HEADERS if (value := headers.get(h)) is not None},
        raw,
    )
    try:
        accepted = app.extensions["hookdock.accepts"].submit((event, broker.task_message(broker.PROCESS_EVENT, [event.id], sequence.HEADER)))
    except NotQueued:
        log.exception("could not queue event %s", event.id)
        return error(503, "the event could not be queued; please retry")
    except (redis.RedisError, Interrupted):
        log.exception("could not reach Redis for event %s", event.id)
        return error(503, "the event could not be stored; please retry")
    labels["counted"] = True  # by the accept script, in the same round trip
    if accepted.earlier is not None:
        return jsonify({"duplicate": True, "event": accepted.earlier}), 200
    # Stored and queued in that one round trip: there is no window in which a task could be missing.
    # Written out rather than through jsonify, whose encoder and provider cost more than the rest of the answer (the id is hex).
    return app.response_class(f'{{"event": "{event.id}"}}\n', 202, mimetype="application/json")


@bp.after_request
def count_refusal(response):
    """Count a webhook the accept script did not (refused, or not stored): one Redis call, off the accepted path."""
    labels = g.get("webhook", {})
    if request.endpoint == "hooks.receive" and not labels.get("counted"):
        labels = {k: v for k, v in labels.items() if k != "counted"}
        metrics.count(current_app.extensions["hookdock"].store.redis, metrics.RECEIVED, status=response.status_code, **labels)
    return response


class UnreadableBody(BadRequest):
    """The server could not read the body as HTTP frames it (a malformed chunk, a cut-off stream).

    gunicorn closes such a connection after the answer: where the next request would start is unknown.
    """


def read_body() -> bytes:
    """The whole body, or 413 past MAX_CONTENT_LENGTH and 400 when it cannot be read: never a part of it."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    # One byte more than allowed tells a chunked body over the limit from one exactly at it;
    # with the limit itself, werkzeug would stop reading there and hand over the first part.
    request.max_content_length = limit + 1
    try:
        raw = request.get_data(cache=False)
    except ClientDisconnected as exc:
        # werkzeug reports any failed read as a disconnect; a timeout means the client stalled (gunicorn.conf.py).
        if isinstance(exc.__context__, TimeoutError):
            raise RequestTimeout("the request body stopped arriving before it was complete") from None
        raise
    except HTTPException:
        raise
    except Exception as exc:  # the server's own reader refused the framing, e.g. a chunk size of "zz"
        raise UnreadableBody(f"the request body could not be read: {exc}") from None
    if len(raw) > limit:
        raise RequestEntityTooLarge()
    announced = request.content_length
    if announced is not None and len(raw) != announced:
        # The client closed its side early: what arrived is only the first part of what it meant to send.
        raise UnreadableBody(f"the body ended after {len(raw)} of the {announced} bytes its Content-Length announced")
    return raw


@bp.route("/healthz")
def healthz():
    """Liveness: the process answers."""
    return jsonify({"ok": True})


@bp.route("/readyz")
def readyz():
    """Readiness: Redis answers, so events can be accepted."""
    try:
        current_app.extensions["hookdock"].store.ping()
    except Exception as exc:  # any failure to reach Redis means not ready
        return error(503, f"redis is not reachable: {type(exc).__name__}")
    return jsonify({"ok": True})


@bp.route("/metrics")
def metrics_page():
    """Prometheus text format: every process's counters from Redis (bridge/metrics.py), gauges read now."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(metrics.RedisCollector(current_app.extensions["hookdock"].store.redis))
    try:
        text = generate_latest(registry)
    except redis.RedisError as exc:
        return error(503, f"redis is not reachable: {type(exc).__name__}")
    return Response(text, content_type=CONTENT_TYPE_LATEST)


@bp.app_errorhandler(HTTPException)
def http_error(exc: HTTPException):
    """Flask's own refusals (404, 405, 413, ...) as JSON too."""
    messages = {413: f"body is larger than the limit of {current_app.config.get('MAX_CONTENT_LENGTH')} bytes"}
    code = exc.code or 500
    return error(code, messages.get(code, exc.description or exc.name))
