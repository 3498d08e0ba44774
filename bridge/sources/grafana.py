"""Grafana Alerting's webhook contact point: Alertmanager's payload with Grafana's links and values, on the same group model.

A route checks one of two schemes, chosen by its `auth` key, and refuses the other:
- token (the default): the route's secret as `Authorization: Bearer <secret>` (the contact point's
  Authentication Header Credentials) or as the Basic Authentication Password;
- signature: the contact point's HMAC Signature with the route's secret: `X-Grafana-Alerting-Signature` holds the
  hex HMAC-SHA256 of the body, or of "<timestamp>:<body>" when Grafana also sends
  `X-Grafana-Alerting-Timestamp` (set Timestamp Header to that name): then the timestamp must be within
  5 minutes of this server's clock, so a captured delivery cannot be replayed later.
"""

from __future__ import annotations

from collections.abc import Mapping

from bridge import alerts
from bridge.sources import auth
from bridge.sources.base import Decision, Inbound, Rejected, body_digest, parse_json_body
from bridge.sources.common import text

SIGNATURE_HEADER, TIMESTAMP_HEADER = "X-Grafana-Alerting-Signature", "X-Grafana-Alerting-Timestamp"
# The documented default header; Grafana's code signs into this older name when the Header field is left empty.
FALLBACK_SIGNATURE_HEADER = "X-Grafana-Alert-Signature"
AUTH_KEYS = ("secret",)
AUTH_MODES = ("token", "signature")
AUTH_FIX = (
    "Grafana routes need a secret, set in the contact point as Authorization credentials, basic auth password or HMAC secret; "
    'fix: add secret: "${GRAFANA_WEBHOOK_SECRET}" (and auth: signature for the HMAC signature)'
)
KEPT_HEADERS = ("Content-Type", "User-Agent")
# The contact point's HTTP Method is POST or PUT.
METHODS = ("POST", "PUT")
EVENT = "alert"
TEMPLATE = "grafana/alert.txt"


def verify(inbound: Inbound, credentials: Mapping[str, str], now: float | None = None) -> None:
    """The scheme the route chose, and only that one."""
    secret = auth.require(credentials, "secret", "Grafana")
    if credentials.get("auth") != "signature":
        auth.authorization_secret(inbound.headers, secret, "Grafana")
        return
    signature = inbound.headers.get(SIGNATURE_HEADER, "") or inbound.headers.get(FALLBACK_SIGNATURE_HEADER, "")
    if not signature:
        raise Rejected(401, f"missing {SIGNATURE_HEADER} header; this route checks signatures (auth: signature): set the contact point's HMAC secret")
    stamp = inbound.headers.get(TIMESTAMP_HEADER, "")
    if not stamp:
        auth.body_hmac(signature, secret, inbound.body, SIGNATURE_HEADER)
        return
    if not (stamp.isascii() and stamp.isdigit()):
        raise Rejected(401, f"{TIMESTAMP_HEADER} must be whole seconds since 1970")
    auth.recent(int(stamp), TIMESTAMP_HEADER, now)
    auth.body_hmac(signature, secret, stamp.encode("ascii") + b":" + inbound.body, SIGNATURE_HEADER)


def parse(headers: Mapping[str, str], raw: bytes) -> tuple[str, dict]:
    """Every notification is an "alert" event."""
    return EVENT, parse_json_body(headers.get("Content-Type", ""), raw)


def delivery_id(headers: Mapping[str, str], raw: bytes) -> str:
    """Grafana sends no id: the body's hash (a repeat whose values changed is a new delivery)."""
    return body_digest(raw)


def extras(raw: dict) -> dict:
    """What Grafana adds to an alert: silence, dashboard and panel links, and the values that fired it."""
    return {
        "silence_url": text(raw.get("silenceURL")),
        "dashboard_url": text(raw.get("dashboardURL")),
        "panel_url": text(raw.get("panelURL")),
        "values": alerts.values_text(raw.get("values")) or text(raw.get("valueString")),
    }


def group(event: str, payload: dict) -> alerts.Group | None:
    """The alert group of a notification."""
    return alerts.group_of("grafana", payload, extras)


def classify(event: str, payload: dict) -> Decision:
    """Firing and resolved groups, each in its group's thread."""
    return alerts.classify(group(event, payload), TEMPLATE)


def context(event: str, payload: dict) -> dict:
    """The group, as every alert template reads it, and the notification itself."""
    return {"event": event, "payload": payload, **alerts.context(group(event, payload))}


def facts(event: str, payload: dict) -> dict:
    """The group's state and its alerts' labels."""
    return alerts.facts(group(event, payload))
