"""The console's pages: events, one event, replays, preview and health, all through bridge.admin and bridge.preview."""

from __future__ import annotations

import json
import math

from flask import flash, redirect, render_template, request, url_for

from bridge import admin, current_services
from bridge.console import bp
from bridge.pipeline import failure_reason
from bridge.preview import preview
from bridge.sources import SOURCES, Rejected, source_for

PAGE_SIZE = 50


def refused(why: str, status: int):
    """A page saying what was wrong, with the status an API would answer."""
    return render_template("console/refused.html", why=why), status


@bp.errorhandler(admin.NotFound)
def not_found(exc: admin.NotFound):
    """An event or delivery that is not stored (or has expired): a 404 page naming it."""
    return refused(str(exc), 404)


@bp.get("/console/")
def home():
    """The console opens on its events page."""
    return redirect(url_for("console.events"))


def time_arg(name: str, default: float) -> float:
    """A time field of the filter form: 30m, 2h, 7d or an ISO time (as `replay --since` reads it)."""
    return admin.parse_since(request.args.get(name)) if request.args.get(name) else default


@bp.get("/console/events")
def events():
    """Events, newest first, filtered by route, source, event, outcome and time; 50 to a page."""
    services = current_services()
    try:
        wanted = admin.EventFilter(
            route=request.args.get("route", ""),
            source=request.args.get("source", ""),
            event=request.args.get("event", "").strip(),
            outcome=request.args.get("outcome", ""),
            since=time_arg("since", 0.0),
            until=time_arg("until", math.inf),
        )
    except ValueError as exc:
        return refused(str(exc).replace("--since", "time"), 400)
    before = request.args.get("before", type=float)
    if before is not None and not math.isfinite(before):  # nan or inf would reach Redis as a score range it refuses
        return refused(f"before={request.args['before']!r} is not a time: follow the pages' own Older link", 400)
    rows, next_before = admin.events_page(services, wanted, before, PAGE_SIZE)
    kept = {k: v for k, v in request.args.items() if k != "before" and v}
    return render_template(
        "console/events.html",
        rows=rows,
        args=kept,
        next_url=url_for("console.events", **kept, before=repr(next_before)) if next_before is not None else None,
        first_url=url_for("console.events", **kept) if before is not None else None,
        routes=sorted(services.config.routes),
        sources=sorted(SOURCES),
        outcomes=admin.OUTCOMES,
    )


@bp.get("/console/events/<event_id>")
def event(event_id: str):
    """One event: masked headers, the payload, why it was ignored or failed, its messages and every attempt."""
    return render_template("console/event.html", event=admin.event_page(current_services(), event_id))


@bp.route("/console/replay/<item_id>", methods=["GET", "POST"])
def replay(item_id: str):
    """GET asks for confirmation; POST queues the event or delivery again through admin.replay."""
    services = current_services()
    event_id = item_id.partition(".")[0]
    if request.method == "GET":
        return render_template("console/confirm_replay.html", item_id=item_id, event=admin.event_page(services, event_id))
    try:
        done = admin.replay(services, item_id)
    except admin.Refused as exc:
        flash(str(exc), "error")
    else:
        flash(f"Replayed {done['replayed']}: queued for {', '.join(done['targets']) or 'processing'}.", "ok")
    return redirect(url_for("console.event", event_id=event_id))


@bp.route("/console/replay-failed", methods=["GET", "POST"])
def replay_failed():
    """GET lists what failed since a time and asks for confirmation; POST replays all of it through admin.replay_failed."""
    services = current_services()
    given = request.values.get("since", "1h")
    try:
        since = admin.parse_since(given)
    except ValueError as exc:
        return refused(str(exc).replace("--since", "since"), 400)
    if request.method == "GET":
        failed_events, dead_letters = services.store.failed_since(since)
        return render_template("console/confirm_replay_failed.html", since=given, failed_events=failed_events, dead_letters=dead_letters)
    queued = admin.replay_failed(services, since)
    flash(f"Replayed {len(queued)} failures since {given}: {', '.join(queued) or 'nothing was left to replay'}.", "ok")
    return redirect(url_for("console.events", outcome="queued"))


@bp.get("/console/health")
def health():
    """Dead letters per route and target, the oldest failure, the queue, workers and each target's pace."""
    return render_template("console/health.html", health=admin.health_view(current_services()))


def preview_input(services) -> tuple[str, str, dict]:
    """Route, event name and payload from the form: a stored event's, or pasted ones; raises ValueError saying what is missing."""
    form = request.form
    if form.get("event_id", "").strip():
        stored = services.store.load_event(form["event_id"].strip())
        if stored is None:
            raise ValueError(f"no stored event {form['event_id'].strip()!r} (it may have expired)")
        route = form.get("route") or stored.route
        name, payload = source_for(route, services.config.routes[route]).parse(stored.headers, stored.body)
        return route, form.get("event", "").strip() or name, payload
    route, name = form.get("route", ""), form.get("event", "").strip()
    if route not in services.config.routes or not name:
        raise ValueError("choose a route and give the event name (for example push), or give a stored event's id")
    try:
        payload = json.loads(form.get("payload", ""))
    except ValueError as exc:
        raise ValueError(f"the payload is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise ValueError("the payload must be a JSON object, as a webhook's body is")
    return route, name, payload


@bp.route("/console/preview", methods=["GET", "POST"])
def preview_page():
    """Paste a payload or pick a stored event, choose route and event, and see the exact requests and how they would look."""
    services = current_services()
    result, problem = None, None
    if request.method == "POST":
        try:
            route, name, payload = preview_input(services)
            result = preview(services, route, name, payload)
        except (ValueError, KeyError, Rejected) as exc:
            problem = getattr(exc, "message", None) or str(exc)
        except Exception as exc:  # a template error or a payload of an unexpected shape, worded as the pipeline words it
            problem = failure_reason(exc)
    form = request.form if request.method == "POST" else {"event_id": request.args.get("event_id", "")}
    return render_template("console/preview.html", routes=sorted(services.config.routes), form=form, result=result, problem=problem), 422 if problem else 200
