"""Any JSON (or form) webhook, rendered by templates the route's owner writes; configured per route by its `generic:` block.

A route of `source: generic` names its chat template, optionally a thread template (an id per item) and where the
event name and the delivery id are (a header or a JSON path), and chooses one authentication scheme, failing closed:
- hmac: `signature.header` holds `<prefix><HMAC-SHA256 of the raw body under secret>`, hex or base64 (Gitea and
  Forgejo: X-Gitea-Signature / X-Forgejo-Signature, hex; GitHub-style senders: X-Hub-Signature-256 with prefix
  "sha256="; Bitbucket Server: X-Hub-Signature, prefix "sha256="). Senders that sign anything but the body alone
  (Stripe signs "<t>.<body>" in Stripe-Signature; Slack signs "v0:<t>:<body>") are not covered by this scheme;
- standard_webhooks: webhook-id / webhook-timestamp / webhook-signature under signing_secret (bridge/sources/standard_webhooks.py);
- token: the route's secret as `Authorization: Bearer <secret>` or `?token=<secret>`.
The module offers for_route(route), which gives the route's source object; the functions below serve config checks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bridge.sources import auth, standard_webhooks
from bridge.sources.base import Decision, Inbound, Rejected, body_digest, parse_json_body
from bridge.sources.common import route_facts
from bridge.sources.generic.settings import SECRET_KEY, GenericSettings, Where
from bridge.sources.generic.signing import check_signature
from bridge.sources.generic.threads import render_thread

AUTH_KEYS = ("secret", "signing_secret")
AUTH_FIX = 'generic routes need the secret their auth scheme checks; fix: add secret: "${WEBHOOK_SECRET}" (signing_secret for auth: standard_webhooks)'
KEPT_HEADERS = ("Content-Type", "User-Agent")
DEFAULT_EVENT = "webhook"


def route_problem(route: Any) -> tuple[tuple, str] | None:
    """A generic route has a generic block whose scheme finds its secret; (key path under the route, fix) otherwise."""
    settings: GenericSettings | None = route.generic
    if settings is None:
        return ("generic",), "generic routes need a generic: block; fix: add generic: {template: <name>.txt, auth: hmac|standard_webhooks|token, ...}"
    wanted = SECRET_KEY[settings.auth]
    if wanted not in route.credentials():
        return (wanted,), f'auth: {settings.auth} checks the route\'s {wanted}; fix: add {wanted}: "${{WEBHOOK_SECRET}}"'
    other = next((key for key in AUTH_KEYS if key != wanted and key in route.credentials()), None)
    if other:
        return (other,), f"auth: {settings.auth} does not read {other}; fix: remove it, or choose the auth scheme that uses it"
    return None


def value_at(payload: object, path: str) -> object:
    """payload at a dotted path ("commits.0.id"), or None where a step is missing."""
    value = payload
    for step in path.split("."):
        if isinstance(value, dict):
            value = value.get(step)
        elif isinstance(value, list) and step.isdigit() and int(step) < len(value):
            value = value[int(step)]
        else:
            return None
    return value


def as_name(value: object) -> str:
    """A header's or payload's text or whole number as a name; '' for anything else."""
    if isinstance(value, bool):
        return ""
    return str(value).strip() if isinstance(value, (str, int)) else ""


class GenericSource:
    """The source interface of one generic route, from its settings."""

    def __init__(self, route_name: str, settings: GenericSettings):
        self.route_name, self.settings = route_name, settings
        headers = [where.header for where in (settings.event, settings.id) if where is not None and where.header]
        self.KEPT_HEADERS = tuple(dict.fromkeys((*KEPT_HEADERS, *headers)))

    def verify(self, inbound: Inbound, credentials: Mapping[str, str]) -> None:
        """The route's one scheme; any other is refused."""
        scheme = self.settings.auth
        secret = auth.require(credentials, SECRET_KEY[scheme], "webhook")
        if scheme == "standard_webhooks":
            standard_webhooks.verify(inbound.headers, inbound.body, secret)
        elif scheme == "token":
            auth.bearer_or_query_token(inbound.headers, inbound.query, secret, "the sender")
        else:
            assert self.settings.signature is not None  # settings refuse hmac without it
            check_signature(self.settings.signature, inbound.headers, inbound.body, secret)

    def parse(self, headers: Mapping[str, str], raw: bytes) -> tuple[str, dict]:
        """The payload, and the event name from where the route says (else "webhook")."""
        payload = parse_json_body(headers.get("Content-Type", ""), raw, self.settings.form_field)
        where = self.settings.event
        if where is None:
            return DEFAULT_EVENT, payload
        name = as_name(headers.get(where.header, "") if where.header else value_at(payload, where.path or ""))
        if not name:
            raise Rejected(
                400,
                f"no event name in the {'header ' + where.header if where.header else 'body at ' + str(where.path)}, where this route's generic.event looks",
            )
        return name, payload

    def delivery_id(self, headers: Mapping[str, str], raw: bytes) -> str:
        """The sender's id from where the route says, else the body's hash."""
        where: Where | None = self.settings.id
        given = ""
        if where is not None and where.header:
            given = as_name(headers.get(where.header, ""))
        elif where is not None and where.path:
            try:
                given = as_name(value_at(parse_json_body(headers.get("Content-Type", ""), raw, self.settings.form_field), where.path))
            except Rejected:
                given = ""
        return f"generic:{given}" if given else body_digest(raw)

    def classify(self, event: str, payload: dict) -> Decision:
        """Every event renders the route's template, in the thread its thread template names (if any)."""
        thread = render_thread(self.settings.thread, self.context(event, payload)) if self.settings.thread else ""
        return Decision(self.settings.template, thread=f"{self.route_name}:{thread}" if thread else None)

    def context(self, event: str, payload: dict) -> dict:
        """What the route's templates receive: the event name and the payload."""
        return {"event": event, "payload": payload}

    def facts(self, event: str, payload: dict) -> dict:
        """The payload's action, if it has one, for `events: [name.action]`; the other filters have nothing to read."""
        return route_facts(as_name(payload.get("action")) or None)


def for_route(route_name: str, route: Any) -> GenericSource:
    """The source object of one generic route."""
    return GenericSource(route_name, route.generic)
