"""Prometheus Alertmanager's webhook receiver (payload version 4): one thread per alert group, chat once per episode.

Alertmanager cannot sign: the route's secret arrives as `Authorization: Bearer <secret>`
(webhook_config's http_config.authorization.credentials) or as the password of HTTP Basic
(http_config.basic_auth). Alertmanager sends no delivery id, so a byte-identical notification (a retry,
or a repeat in which nothing changed) is acknowledged as a duplicate: it would tell the thread nothing new.
"""

from __future__ import annotations

from collections.abc import Mapping

from bridge import alerts
from bridge.sources import auth
from bridge.sources.base import Decision, Inbound, body_digest, parse_json_body

AUTH_KEYS = ("secret",)
AUTH_FIX = (
    "Alertmanager routes need a secret, sent by Alertmanager as http_config: {authorization: {credentials: <secret>}}; "
    'fix: add secret: "${ALERTMANAGER_WEBHOOK_TOKEN}"'
)
KEPT_HEADERS = ("Content-Type", "User-Agent")
EVENT = "alert"
TEMPLATE = "alertmanager/alert.txt"


def verify(inbound: Inbound, credentials: Mapping[str, str]) -> None:
    """The route's secret as a bearer token or a basic-auth password, compared in constant time."""
    auth.authorization_secret(inbound.headers, auth.require(credentials, "secret", "Alertmanager"), "Alertmanager")


def parse(headers: Mapping[str, str], raw: bytes) -> tuple[str, dict]:
    """Every notification is an "alert" event; firing or resolved is in the body."""
    return EVENT, parse_json_body(headers.get("Content-Type", ""), raw)


def delivery_id(headers: Mapping[str, str], raw: bytes) -> str:
    """Alertmanager sends no id: the body's hash."""
    return body_digest(raw)


def group(event: str, payload: dict) -> alerts.Group | None:
    """The alert group of a notification."""
    return alerts.group_of("alertmanager", payload)


def classify(event: str, payload: dict) -> Decision:
    """Firing and resolved groups, each in its group's thread."""
    return alerts.classify(group(event, payload), TEMPLATE)


def context(event: str, payload: dict) -> dict:
    """The group, as every alert template reads it, and the notification itself."""
    return {"event": event, "payload": payload, **alerts.context(group(event, payload))}


def facts(event: str, payload: dict) -> dict:
    """The group's state and its alerts' labels."""
    return alerts.facts(group(event, payload))
