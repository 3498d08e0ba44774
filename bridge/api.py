"""The admin API under /api/: inspect deliveries and events, replay them, behind a bearer token."""

from __future__ import annotations

import hmac

from flask import Blueprint, current_app, jsonify, request

from bridge import admin, current_services
from bridge.pipeline import failure_reason
from bridge.preview import preview, route_for_source
from bridge.sources.base import Rejected, parse_json_body
from bridge.web import error, read_body

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.before_request
def require_token():
    """Every call needs Authorization: Bearer <admin_token>; without a configured token the API is off."""
    configured = current_app.extensions["hookdock"].config.admin_token
    if configured is None:
        return error(404, "the admin API is off; set admin_token in the configuration to turn it on")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), configured.get_secret_value().encode()):
        response, status = error(401, "send Authorization: Bearer <admin_token>")
        response.headers["WWW-Authenticate"] = 'Bearer realm="hookdock"'
        return response, status
    return None


@bp.errorhandler(admin.NotFound)
def not_found(exc: admin.NotFound):
    return error(404, str(exc))


@bp.errorhandler(admin.Refused)
def refused(exc: admin.Refused):
    return error(409, str(exc))


@bp.errorhandler(ValueError)
def bad_value(exc: ValueError):
    return error(400, str(exc))


@bp.get("/deliveries")
def list_deliveries():
    """Recent deliveries, newest first: ?failed=1, ?route=R, ?limit=N."""
    services = current_services()
    found = services.store.list_deliveries(
        failed=request.args.get("failed") in ("1", "true"), route=request.args.get("route"), limit=request.args.get("limit", 100, type=int)
    )
    return jsonify({"deliveries": [vars(d) for d in found]})


@bp.get("/deliveries/<delivery_id>")
def show_delivery(delivery_id: str):
    """One delivery with every attempt."""
    return jsonify(admin.delivery_view(current_services(), delivery_id))


@bp.get("/events/<event_id>")
def show_event(event_id: str):
    """One event's record (without its body) and its deliveries."""
    return jsonify(admin.event_view(current_services(), event_id))


@bp.get("/events")
def list_events():
    """Recent events, newest first, with what became of each: ?failed=1, ?route=R, ?limit=N."""
    failed = request.args.get("failed") in ("1", "true")
    found = admin.events_view(current_services(), failed, request.args.get("route"), request.args.get("limit", 100, type=int))
    return jsonify({"events": found})


@bp.post("/replay/<item_id>")
def replay_one(item_id: str):
    """Queue an event or one delivery again, rendered with today's templates."""
    return jsonify(admin.replay(current_services(), item_id)), 202


@bp.post("/replay")
def replay_failed():
    """Queue every failure again: ?failed=1 (required), ?since=2h or an ISO time."""
    if request.args.get("failed") not in ("1", "true"):
        return error(400, "say which items to replay: POST /api/replay?failed=1[&since=2h], or POST /api/replay/<id>")
    queued = admin.replay_failed(current_services(), admin.parse_since(request.args.get("since")))
    return jsonify({"replayed": queued}), 202


@bp.post("/preview")
def preview_payload():
    """The requests a pasted payload would cause: ?source=github&event=push[&route=R]; sends nothing."""
    services = current_services()
    source, event = request.args.get("source", ""), request.args.get("event", "")
    if not (source and event):
        return error(400, "give ?source=<source>&event=<event name> and the payload as the JSON body")
    try:
        # The same reading and parsing as /hooks/<route>: size limit, whole chunked bodies, depth limit.
        payload = parse_json_body(request.headers.get("Content-Type", ""), read_body())
    except Rejected as exc:
        return error(exc.status, f"the body must be the webhook payload: {exc.message}")
    try:
        route = route_for_source(services, source, request.args.get("route"))
    except KeyError as exc:
        return error(404, exc.args[0])
    try:
        return jsonify(preview(services, route, event, payload))
    except Exception as exc:  # a template error or a payload of an unexpected shape
        return error(422, failure_reason(exc))
