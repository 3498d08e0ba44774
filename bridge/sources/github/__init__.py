"""GitHub: verify X-Hub-Signature-256, name the event, and shape its template context.

Each event family (code, pulls, issues, ci, repo, security) is a module with an EVENTS table of EventSpec.
"""

from __future__ import annotations

from collections.abc import Mapping

from bridge import builds
from bridge.sources import auth
from bridge.sources.base import Decision, Inbound, Rejected, body_digest, parse_json_body, required_header
from bridge.sources.common import EventSpec, decide, items, obj, text
from bridge.sources.github import ci, code, issues, pulls, repo, security

SIGNATURE_HEADER = "X-Hub-Signature-256"
AUTH_KEYS = ("secret",)
AUTH_FIX = 'GitHub routes need the webhook secret; fix: add secret: "${GITHUB_WEBHOOK_SECRET}"'
# Headers stored with an event so the worker can parse it again; never the signature.
KEPT_HEADERS = ("Content-Type", "X-GitHub-Event", "X-GitHub-Delivery", "X-GitHub-Hook-ID", "User-Agent")
EVENTS: dict[str, EventSpec] = {**code.EVENTS, **pulls.EVENTS, **issues.EVENTS, **ci.EVENTS, **repo.EVENTS, **security.EVENTS}
LABELLED_ITEMS = ("pull_request", "issue", "discussion")


def verify(inbound: Inbound, credentials: Mapping[str, str]) -> None:
    """Check the HMAC-SHA256 of the raw body in constant time; fail closed either way round."""
    secret, signature = auth.require(credentials, "secret", "GitHub"), inbound.headers.get(SIGNATURE_HEADER)
    if not signature:
        raise Rejected(401, f"missing {SIGNATURE_HEADER} header; set the webhook's secret in GitHub")
    algorithm, _, digest = signature.partition("=")
    if algorithm != "sha256" or not digest:
        raise Rejected(401, f"{SIGNATURE_HEADER} must look like sha256=<hex digest>")
    if not auth.same(digest, auth.hmac_hex(secret, inbound.body)):
        raise Rejected(401, f"{SIGNATURE_HEADER} does not match the body; check that GitHub and the route share the same secret")


def parse(headers: Mapping[str, str], raw: bytes) -> tuple[str, dict]:
    """Name the event from X-GitHub-Event and parse a JSON or form-encoded body."""
    return required_header(headers, "X-GitHub-Event"), parse_json_body(headers.get("Content-Type", ""), raw, form_field="payload")


def delivery_id(headers: Mapping[str, str], raw: bytes) -> str:
    """GitHub's X-GitHub-Delivery GUID, or the body's hash when a proxy dropped it."""
    return headers.get("X-GitHub-Delivery") or body_digest(raw)


def classify(event: str, payload: dict) -> Decision:
    """Pick the template for an event, or say why it is ignored."""
    spec = EVENTS.get(event)
    if spec is None:
        return Decision(None, f"GitHub event {event!r} is not rendered")
    return decide("github", event, spec, action_of(payload), payload)


def action_of(payload: dict) -> str | None:
    """GitHub says what happened in the payload's top-level action."""
    return payload.get("action") if isinstance(payload.get("action"), str) else None


def build(event: str, payload: dict) -> builds.Build | None:
    """A workflow run as a build, for "back to green"; other events are not builds."""
    return ci.workflow_build(payload) if event == "workflow_run" else None


def context(event: str, payload: dict) -> dict:
    """The variables a GitHub template receives: the payload plus what is tedious to derive."""
    base = {
        "event": event,
        "action": payload.get("action"),
        "payload": payload,
        "repository": obj(payload, "repository"),
        "sender": obj(payload, "sender"),
    }
    spec = EVENTS.get(event)
    return {**base, **(spec.context(payload) if spec else {})}


def facts(event: str, payload: dict) -> dict:
    """What routes filter on: action, repository, privacy, author, branch and labels."""
    repository = obj(payload, "repository")
    item = next((payload[k] for k in LABELLED_ITEMS if isinstance(payload.get(k), dict)), None)
    spec = EVENTS.get(event)
    branch = spec.branch(payload) if spec else None
    return {
        "action": text(payload.get("action")) or None,
        "repository": text(repository.get("full_name")) or None,
        "private": repository.get("private") is True,
        "author": text(obj(payload, "sender").get("login")) or None,
        "branch": text(branch) or None,
        "labels": [text(label.get("name")) for label in items(item.get("labels")) if isinstance(label, dict)] if item is not None else None,
    }
