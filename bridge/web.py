"""The web side: /hooks/<route> accepts, verifies, dedupes, stores and queues; health probes and /metrics.

Nothing here loads Celery or kombu: the accept script queues the task message bridge/broker.py builds.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from typing import Any, NamedTuple

import redis
from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from werkzeug.exceptions import BadRequest, ClientDisconnected, HTTPException, RequestEntityTooLarge, RequestTimeout
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Request

from bridge import broker, metrics, sequence
from bridge.config import Route
from bridge.groupcommit import GroupCommit, Interrupted
from bridge.sources import Inbound, Rejected, source_for
from bridge.store import Event, NotQueued, new_event_id

log = logging.getLogger(__name__)
bp = Blueprint("hooks", __name__)
ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
HOOKS_PATH = "/hooks/"
# Where the fast lane leaves Flask what take() raised, so that Flask answers that error instead of taking the webhook again.
RAISED = "hookdock.raised"
STATUS_LINES = {code: f"{code} {HTTP_STATUS_CODES[code]}" for code in HTTP_STATUS_CODES}


def refusal(status: int, message: str) -> dict:
    """What a refusal's JSON body says: what was wrong, and the status."""
    return {"error": message, "status": status}


def error(status: int, message: str, **extra):
    """Every refusal is JSON saying what was wrong."""
    return jsonify({**refusal(status, message), **extra}), status


class Hook(NamedTuple):
    """What receiving on one route needs, worked out once per app rather than on every webhook."""

    route: Route
    source: Any
    methods: tuple[str, ...]
    credentials: dict[str, str]


@bp.record_once
def _hooks(state) -> None:
    """One Hook per configured route, made when the app takes this blueprint (its config is fixed by then)."""
    app = state.app
    routes = app.extensions["hookdock"].config.routes
    # Some senders may be set to PUT (Grafana's contact point); a source says so with METHODS.
    hooks = {}
    for name, route in routes.items():
        source = source_for(name, route)
        hooks[name] = Hook(route, source, tuple(getattr(source, "METHODS", ("POST",))), route.credentials())
    app.extensions["hookdock.hooks"] = hooks
    # Webhooks arriving together are stored and queued in one round trip (bridge/groupcommit.py), each by its own script call.
    app.extensions["hookdock.accepts"] = GroupCommit(app.extensions["hookdock"].store.accept_many)
    app.wsgi_app = FastLane(app, app.wsgi_app)


class Answer(NamedTuple):
    """What a verified, parsed or refused webhook is answered, and the labels it is counted under."""

    status: int
    body: dict
    labels: dict
    # The accept script counted it in the same round trip; anything else is counted after the answer.
    counted: bool = False


def take(app, hook: Hook, route_name: str, headers, raw: bytes, args) -> Answer:
    """Verify, parse, store and queue one webhook whose body has been read: the answer, whichever way it is served."""
    # An unknown route's name and an unverified event's name stay out of the labels: a stranger would choose them.
    labels = {"route": route_name, "source": hook.route.source}
    source = hook.source
    try:
        source.verify(Inbound(headers, raw, args), hook.credentials)
        # Only the name is kept: a parsed payload held while the webhook waits for Redis was half of what it held in memory.
        name = source.parse(headers, raw)[0]
    except Rejected as exc:
        return Answer(exc.status, refusal(exc.status, exc.message), labels)
    labels["event"] = name
    event = Event(
        new_event_id(),
        route_name,
        hook.route.source,
        name,
        source.delivery_id(headers, raw),
        {h: value for h in source.KEPT_HEADERS if (value := headers.get(h)) is not None},
        raw,
    )
    try:
        accepted = app.extensions["hookdock.accepts"].submit((event, broker.task_message(broker.PROCESS_EVENT, [event.id], sequence.HEADER)))
    except NotQueued:
        log.exception("could not queue event %s", event.id)
        return Answer(503, refusal(503, "the event could not be queued; please retry"), labels)
    except (redis.RedisError, Interrupted):
        log.exception("could not reach Redis for event %s", event.id)
        return Answer(503, refusal(503, "the event could not be stored; please retry"), labels)
    if accepted.earlier is not None:
        return Answer(200, {"duplicate": True, "event": accepted.earlier}, labels, counted=True)
    # Stored and queued in that one round trip: there is no window in which a task could be missing.
    return Answer(202, {"event": event.id}, labels, counted=True)


@bp.route("/hooks/<route_name>", methods=ANY_METHOD)
def receive(route_name: str):
    """Accept one webhook the fast lane left to Flask: an unknown route or method, an unusual body, or an error."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup rather than one per use
    hook = app.extensions["hookdock.hooks"].get(route_name)
    if hook is None:
        return error(404, f"no route named {route_name!r}")
    g.webhook = {"route": route_name, "source": hook.route.source}
    if request.method not in hook.methods:
        response, status = error(405, f"webhooks are delivered with {' or '.join(hook.methods)}")
        response.headers["Allow"] = ", ".join(hook.methods)
        return response, status
    if (raised := request.environ.get(RAISED)) is not None:
        # take() may have stored and queued it before failing: a second take would run the accept script again.
        raise raised
    answer = take(app, hook, route_name, request.headers, read_body(), request.args)
    g.webhook = {**answer.labels, "counted": answer.counted}
    return jsonify(answer.body), answer.status


class FastLane:
    """Serves the usual webhook without Flask's request machinery, which cost more than storing and queueing it.

    Only a POST (or a route's own method) to a configured route whose body's length is announced and within the
    limit takes this lane; everything else, and anything that fails in it before an answer, goes to Flask, with the
    body handed back as read (and what take() raised, to be raised there), so that every refusal is worded, counted
    and logged in one place (receive above).
    """

    def __init__(self, app: Flask, flask_wsgi_app: Callable) -> None:
        self.app = app
        self.flask = flask_wsgi_app
        self.hooks: dict[str, Hook] = app.extensions["hookdock.hooks"]

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        name = path[len(HOOKS_PATH) :]
        if not name.isascii():
            # PATH_INFO holds the URL's bytes as Latin-1 (PEP 3333); Flask's routing reads them as UTF-8, as this does.
            name = name.encode("latin-1").decode(errors="replace")
        hook = self.hooks.get(name) if path.startswith(HOOKS_PATH) else None
        # isdigit() alone takes "²", a Latin-1 byte a server other than gunicorn may pass on, which int() refuses.
        length = environ.get("CONTENT_LENGTH", "")
        if (
            hook is None
            or environ.get("REQUEST_METHOD") not in hook.methods
            or not (length.isascii() and length.isdigit())
            or "HTTP_TRANSFER_ENCODING" in environ
        ):
            return self.flask(environ, start_response)
        length = int(length)
        if length > self.app.config["MAX_CONTENT_LENGTH"]:
            return self.flask(environ, start_response)
        try:
            raw = environ["wsgi.input"].read(length)
        except Exception as exc:  # a stalled or broken body: Flask words the refusal (408, 400) as it always has
            environ["wsgi.input"] = Unreadable(exc)
            return self.flask(environ, start_response)
        if len(raw) != length:
            environ["wsgi.input"] = io.BytesIO(raw)
            return self.flask(environ, start_response)
        incoming = Request(environ)  # werkzeug's own, for headers and query arguments parsed as Flask parses them
        try:
            answer = take(self.app, hook, name, incoming.headers, raw, incoming.args)
        except Exception as exc:  # a bug: Flask answers, counts and logs this very error as any other request's (a JSON 500)
            environ[RAISED] = exc
            environ["wsgi.input"] = io.BytesIO(raw)
            return self.flask(environ, start_response)
        if not answer.counted:
            metrics.count(self.app.extensions["hookdock"].store.redis, metrics.RECEIVED, status=answer.status, **answer.labels)
        # Written as jsonify writes it, so both lanes answer the same bytes.
        body = (json.dumps(answer.body, separators=(",", ":"), sort_keys=self.app.json.sort_keys) + "\n").encode()
        start_response(STATUS_LINES[answer.status], [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


class Unreadable(io.RawIOBase):
    """A request body whose reading failed: it fails again, the same way, for Flask's reader."""

    def __init__(self, error: Exception):
        self.error = error

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        raise self.error


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
