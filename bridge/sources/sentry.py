"""Sentry's integration-platform webhooks: issues, issue and metric alerts, errors and comments, one thread per Sentry issue.

Sentry-Hook-Resource names the event, the body's `action` its action. Sentry signs with the integration's
client secret: Sentry-Hook-Signature is the hex HMAC-SHA256 of the body. Sentry-Hook-Timestamp is not
part of what Sentry signs, so it cannot stop a replay on its own; a delivery whose timestamp is more than
5 minutes from this server's clock is still refused (a stale capture sent again as it was), and each
Request-ID is accepted once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from bridge.sources import auth
from bridge.sources.base import Decision, Inbound, Rejected, body_digest, parse_json_body, required_header
from bridge.sources.common import EventSpec, actions, decide, id_part, obj, route_facts, text

RESOURCE_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, ID_HEADER = "Sentry-Hook-Resource", "Sentry-Hook-Signature", "Sentry-Hook-Timestamp", "Request-ID"
AUTH_KEYS = ("secret",)
AUTH_FIX = 'Sentry routes need the integration\'s client secret; fix: add secret: "${SENTRY_CLIENT_SECRET}"'
KEPT_HEADERS = ("Content-Type", RESOURCE_HEADER, ID_HEADER, "User-Agent")
# An issue's status as a thread shows it (Sentry's "archived" is its older "ignored").
STATUS_COLORS = {"unresolved": "red", "resolved": "green", "ignored": "grey", "archived": "grey"}


def issue_thread(issue_id: object) -> str | None:
    """The thread of one Sentry issue, whichever resource speaks of it."""
    number = id_part(issue_id)
    return f"sentry:issue:{number}" if number else None


def metric_thread(payload: dict) -> str | None:
    """A metric alert's incident has no issue: its thread is the incident's."""
    number = id_part(obj(payload, "data", "metric_alert").get("id"))
    return f"sentry:incident:{number}" if number else None


def without(key: str):
    """A skip for payloads whose data lacks the object the message is about."""
    return lambda payload: None if obj(payload, "data", key) else f"the payload's data has no {key} to tell"


def routine_unless(*shown: str):
    """Actions other than these go to the thread only."""
    return lambda payload: None if text(payload.get("action")) in shown else f"Sentry {text(payload.get('action'))} is routine"


EVENTS: dict[str, EventSpec] = {
    "issue": EventSpec(
        shown=actions("created", "resolved", "unresolved", "archived", "ignored"),
        hidden=actions("assigned"),
        thread=lambda p: issue_thread(obj(p, "data", "issue").get("id")),
        skip=without("issue"),
        # An archived issue is quiet by choice: its thread turns grey, chat is not told.
        routine=routine_unless("created", "resolved", "unresolved"),
    ),
    "event_alert": EventSpec(shown=actions("triggered"), thread=lambda p: issue_thread(obj(p, "data", "event").get("issue_id"))),
    "metric_alert": EventSpec(shown=actions("critical", "warning", "resolved"), thread=metric_thread),
    # Every error event of every issue: noise unless a route names error.created.
    "error": EventSpec(shown=actions(), hidden=actions("created"), thread=lambda p: issue_thread(obj(p, "data", "error").get("issue_id"))),
    "comment": EventSpec(
        shown=actions("created"),
        hidden=actions("updated", "deleted"),
        thread=lambda p: issue_thread(obj(p, "data").get("issue_id")),
        routine=lambda p: "a comment",
    ),
}
IGNORED = {"installation": "installation: Sentry tells the integration it was installed or removed; nothing to tell"}


def verify(inbound: Inbound, credentials: Mapping[str, str], now: float | None = None) -> None:
    """Sentry-Hook-Signature is the body's hex HMAC-SHA256 under the client secret; a stale timestamp is refused."""
    secret = auth.require(credentials, "secret", "Sentry")
    signature = inbound.headers.get(SIGNATURE_HEADER, "")
    if not signature:
        raise Rejected(401, f"missing {SIGNATURE_HEADER} header; Sentry signs every integration webhook with its client secret")
    stamp = inbound.headers.get(TIMESTAMP_HEADER, "").strip()
    if stamp:
        try:
            sent = float(stamp)
        except ValueError:
            sent = math.nan
        # float() also reads "nan" and "inf": no time at all, and nan would pass every comparison below.
        if not math.isfinite(sent):
            raise Rejected(401, f"{TIMESTAMP_HEADER} is not a number of seconds since 1970")
        auth.recent(sent, TIMESTAMP_HEADER, now)
    auth.body_hmac(signature, secret, inbound.body, SIGNATURE_HEADER)


def parse(headers: Mapping[str, str], raw: bytes) -> tuple[str, dict]:
    """The event from Sentry-Hook-Resource, the payload from the JSON body."""
    return required_header(headers, RESOURCE_HEADER), parse_json_body(headers.get("Content-Type", ""), raw)


def delivery_id(headers: Mapping[str, str], raw: bytes) -> str:
    """Request-ID, else the body's hash."""
    given = headers.get(ID_HEADER, "").strip()
    return f"sentry:{given}" if given else body_digest(raw)


def classify(event: str, payload: dict) -> Decision:
    """A table of resources; installation and unknown ones are not shown."""
    if event in IGNORED:
        return Decision(None, IGNORED[event])
    spec = EVENTS.get(event)
    if spec is None:
        return Decision(None, f"Sentry resource {event!r} is not rendered")
    return decide("sentry", event, spec, text(payload.get("action")) or None, payload)


def project_of(event: str, data: dict) -> str:
    """The project's slug or name, wherever this resource keeps it."""
    issue = obj(data, "issue")
    return text(obj(issue, "project").get("slug")) or text(obj(issue, "project").get("name")) or text(data.get("project_slug"))


def context(event: str, payload: dict) -> dict:
    """The resource's object under its own name, the actor, and the issue's status colour."""
    data = obj(payload, "data")
    issue = obj(data, "issue")
    return {
        "event": event,
        "payload": payload,
        "action": text(payload.get("action")),
        "actor": obj(payload, "actor"),
        "issue": issue,
        "alert": obj(data, "event") or obj(data, "error"),
        "metric": obj(data, "metric_alert"),
        "data": data,
        "project": project_of(event, data),
        "status_color": STATUS_COLORS.get(text(issue.get("status")), "grey"),
    }


def facts(event: str, payload: dict) -> dict:
    """The action, the project (as the repository), the actor, and the level as a label."""
    data = obj(payload, "data")
    level = text(obj(data, "issue").get("level")) or text((obj(data, "event") or obj(data, "error")).get("level"))
    actor = obj(payload, "actor")
    return route_facts(
        text(payload.get("action")) or None,
        project_of(event, data) or None,
        text(actor.get("name")) if text(actor.get("type")) == "user" else None,
        labels=[f"level={level}"] if level else None,
    )
