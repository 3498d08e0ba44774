"""GitLab: verify the secret token and the signing token, name the event, and shape its template context.

Event names are GitLab's object_kind values (push, tag_push, merge_request, note, issue, work_item,
pipeline, build, deployment, release, wiki_page, feature_flag, emoji, milestone, vulnerability,
access_token, ...), so a route's `events` reads like the payload: "merge_request.merge" names
object_kind merge_request with object_attributes.action merge. Hooks without an object_kind
(group member and subgroup events) and system hooks are named by the body's event_name
(user_add_to_group, project_create, user_create, repository_update, ...).
Each event family is a module with an EVENTS table of EventSpec, as for GitHub.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from bridge import builds
from bridge.sources import standard_webhooks
from bridge.sources.auth import same
from bridge.sources.base import Decision, Inbound, Rejected, body_digest, parse_json_body, required_header
from bridge.sources.common import EventSpec, decide, obj, text
from bridge.sources.gitlab import admin, ci, code, issues, merge_requests, notes, project, security
from bridge.sources.gitlab.common import action_of, is_public, label_titles, project_of, project_path, user_of

TOKEN_HEADER, HOOK_HEADER = "X-Gitlab-Token", "X-Gitlab-Event"
AUTH_KEYS = ("secret", "signing_secret")
AUTH_FIX = 'GitLab routes need the webhook\'s secret token, its signing token, or both; fix: add secret: "${GITLAB_WEBHOOK_SECRET}"'
# Headers stored with an event so the worker can parse it again; never the token or the signature.
KEPT_HEADERS = (
    "Content-Type",
    "X-Gitlab-Event",
    "X-Gitlab-Event-UUID",
    "X-Gitlab-Instance",
    "X-Gitlab-Webhook-UUID",
    "Idempotency-Key",
    "webhook-id",
    "User-Agent",
)
# Delivery ids, most specific first: GitLab keeps Idempotency-Key (= webhook-id) across retries of one delivery.
# webhook-id comes first because the signature covers it: a signed delivery replayed within the
# timestamp window with a fresh Idempotency-Key must still be a duplicate.
DELIVERY_HEADERS = ("webhook-id", "Idempotency-Key", "X-Gitlab-Event-UUID")
SYSTEM_HOOK = "System Hook"
# event_type values GitLab gives the hooks of confidential issues and of internal notes or notes on confidential issues.
CONFIDENTIAL_HOOKS = ("confidential_issue", "confidential_note")
EVENT_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
EVENTS: dict[str, EventSpec] = {
    **code.EVENTS,
    **merge_requests.EVENTS,
    **notes.EVENTS,
    **issues.EVENTS,
    **ci.EVENTS,
    **project.EVENTS,
    **security.EVENTS,
    **admin.EVENTS,
}


def verify(inbound: Inbound, credentials: Mapping[str, str]) -> None:
    """The secret token (X-Gitlab-Token, constant time) and the signing token (Standard Webhooks): each the route sets must hold."""
    secret, key = credentials.get("secret"), credentials.get("signing_secret")
    if not secret and not key:
        raise Rejected(401, "this route has no secret or signing_secret, so it accepts no GitLab deliveries")
    if secret:
        token = inbound.headers.get(TOKEN_HEADER)
        if not token:
            raise Rejected(401, f"missing {TOKEN_HEADER} header; set the webhook's Secret token in GitLab to the route's secret")
        if not same(token, secret):
            raise Rejected(401, f"{TOKEN_HEADER} does not match the route's secret; check the webhook's Secret token in GitLab")
    if key:
        standard_webhooks.verify(inbound.headers, inbound.body, key)


def parse(headers: Mapping[str, str], raw: bytes) -> tuple[str, dict]:
    """Name the event from the body's object_kind (event_name for system hooks); X-Gitlab-Event must say it is a GitLab hook."""
    hook = required_header(headers, HOOK_HEADER)
    payload = parse_json_body(headers.get("Content-Type", ""), raw)
    kind, name = text(payload.get("object_kind")).strip(), text(payload.get("event_name")).strip()
    event = (name or kind) if hook == SYSTEM_HOOK else (kind or name)
    if not event:
        raise Rejected(400, f"body has neither object_kind nor event_name, so the {hook[:60]!r} cannot be named")
    if not EVENT_NAME.fullmatch(event):
        raise Rejected(400, f"object_kind or event_name {event[:60]!r} is not an event name (lower-case letters, digits and _)")
    return event, payload


def delivery_id(headers: Mapping[str, str], raw: bytes) -> str:
    """webhook-id (signed), else Idempotency-Key (GitLab sends the same value), else X-Gitlab-Event-UUID, else the body's hash."""
    return next((headers[name] for name in DELIVERY_HEADERS if headers.get(name)), None) or body_digest(raw)


def classify(event: str, payload: dict) -> Decision:
    """Pick the template for an event, or say why it is ignored."""
    spec = EVENTS.get(event)
    if spec is None:
        return Decision(None, f"GitLab event {event!r} is not rendered")
    return decide("gitlab", event, spec, action(spec, payload), payload)


def build(event: str, payload: dict) -> builds.Build | None:
    """A pipeline as a build, for "back to green" (bridge/builds.py); other events are not builds."""
    return ci.pipeline_build(payload) if event == "pipeline" else None


def action(spec: EventSpec | None, payload: dict) -> str | None:
    """The event's action: where its spec says, else object_attributes.action."""
    return spec.action(payload) if spec is not None and spec.action is not None else action_of(payload)


def context(event: str, payload: dict) -> dict:
    """The variables a GitLab template receives: the payload plus what is tedious to derive."""
    spec = EVENTS.get(event)
    base = {
        "event": event,
        "action": action(spec, payload),
        "payload": payload,
        "project": project_of(payload),
        "path": project_path(payload),
        "user": user_of(payload),
        "attributes": obj(payload, "object_attributes"),
    }
    return {**base, **(spec.context(payload) if spec else {})}


def facts(event: str, payload: dict) -> dict:
    """What routes filter on: action, project path, privacy, confidentiality, author, branch and labels."""
    spec = EVENTS.get(event)
    branch = spec.branch(payload) if spec else None
    return {
        "action": action(spec, payload),
        "repository": project_path(payload) or None,
        "private": not is_public(payload),
        "confidential": is_confidential(payload),
        "author": text(user_of(payload).get("username")) or None,
        "branch": text(branch) or None,
        "labels": label_titles(payload),
    }


def is_confidential(payload: dict) -> bool:
    """A confidential issue or work item, a confidential or internal note, a note on a confidential issue, or a reaction to any of them.

    GitLab.com's internal notes have been seen with no internal or confidential attribute at all, only
    event_type confidential_note (the hook GitLab chose for them), so the event_type counts too.
    """
    attributes, issue, note = obj(payload, "object_attributes"), obj(payload, "issue"), obj(payload, "note")
    flags = (attributes.get("confidential"), attributes.get("internal"), issue.get("confidential"), note.get("internal"), note.get("confidential"))
    return any(value is True for value in flags) or text(payload.get("event_type")) in CONFIDENTIAL_HOOKS
