"""GitHub: verify X-Hub-Signature-256, name the event, and shape its template context."""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping

from bridge.sources.base import Decision, Rejected, body_digest, parse_json_body

SIGNATURE_HEADER = "X-Hub-Signature-256"
# Pull request and issue actions shown by default; the rest are noise in a chat.
PULL_REQUEST_ACTIONS = {"opened", "reopened", "closed", "ready_for_review", "converted_to_draft"}
ISSUE_ACTIONS = {"opened", "reopened", "closed"}
MERGE_QUEUE_PREFIX = "refs/heads/gh-readonly-queue/"
# Headers stored with an event so the worker can parse it again; never the signature.
KEPT_HEADERS = ("Content-Type", "X-GitHub-Event", "X-GitHub-Delivery", "X-GitHub-Hook-ID", "User-Agent")


def verify(headers: Mapping[str, str], raw: bytes, secret: str | None) -> None:
    """Check the HMAC-SHA256 of the raw body in constant time; fail closed either way round."""
    signature = headers.get(SIGNATURE_HEADER)
    if not secret:
        raise Rejected(401, "this route has no secret, so it accepts no GitHub deliveries")
    if not signature:
        raise Rejected(401, f"missing {SIGNATURE_HEADER} header; set the webhook's secret in GitHub")
    algorithm, _, digest = signature.partition("=")
    if algorithm != "sha256" or not digest:
        raise Rejected(401, f"{SIGNATURE_HEADER} must look like sha256=<hex digest>")
    expected = hmac.new(secret.encode("utf-8"), raw, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode("ascii"), digest.encode("utf-8", "replace")):
        raise Rejected(401, f"{SIGNATURE_HEADER} does not match the body; check that GitHub and the route share the same secret")


def parse(headers: Mapping[str, str], raw: bytes) -> tuple[str, dict]:
    """Name the event from X-GitHub-Event and parse a JSON or form-encoded body."""
    event = headers.get("X-GitHub-Event", "").strip()
    if not event:
        raise Rejected(400, "missing X-GitHub-Event header")
    return event, parse_json_body(headers.get("Content-Type", ""), raw, form_field="payload")


def delivery_id(headers: Mapping[str, str], raw: bytes) -> str:
    """GitHub's X-GitHub-Delivery GUID, or the body's hash when a proxy dropped it."""
    return headers.get("X-GitHub-Delivery") or body_digest(raw)


def thread_id(payload: dict, kind: str, key: object) -> str:
    """A stable external_thread_id: github:<owner>/<repo>:<kind>:<key>."""
    return f"github:{(payload.get('repository') or {}).get('full_name', '')}:{kind}:{key}"


def _render(event: str) -> Callable[[dict], Decision]:
    return lambda payload: Decision(f"github/{event}.txt")


def _by_action(event: str, shown: set[str], kind: str, item: str) -> Callable[[dict], Decision]:
    """Render the actions in `shown` into the item's thread, ignore the others with a reason."""

    def decide(payload: dict) -> Decision:
        action = payload.get("action")
        if action in shown:
            return Decision(f"github/{event}.txt", thread=thread_id(payload, kind, (payload.get(item) or {}).get("number")))
        return Decision(None, f"{event} action {action!r} is not shown by default")

    return decide


def _push(payload: dict) -> Decision:
    ref = payload.get("ref", "")
    if ref.startswith(MERGE_QUEUE_PREFIX):
        return Decision(None, "pushes to merge-queue branches are noise")
    branch = ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None
    return Decision("github/push.txt", thread=thread_id(payload, "branch", branch) if branch else None)


CLASSIFIERS: dict[str, Callable[[dict], Decision]] = {
    "ping": _render("ping"),
    "push": _push,
    "pull_request": _by_action("pull_request", PULL_REQUEST_ACTIONS, "pull", "pull_request"),
    "issues": _by_action("issues", ISSUE_ACTIONS, "issue", "issue"),
}


def classify(event: str, payload: dict) -> Decision:
    """Pick the template for an event, or say why it is ignored."""
    decide = CLASSIFIERS.get(event)
    if decide is None:
        return Decision(None, f"GitHub event {event!r} is not rendered")
    return decide(payload)


def _ref(payload: dict) -> dict:
    """Split refs/heads/x and refs/tags/y into a kind and a short name."""
    ref = payload.get("ref", "")
    for prefix, kind in (("refs/heads/", "branch"), ("refs/tags/", "tag")):
        if ref.startswith(prefix):
            return {"ref_type": kind, "ref_name": ref[len(prefix):]}
    return {"ref_type": "ref", "ref_name": ref}


def _push_context(payload: dict) -> dict:
    return {**_ref(payload), "commits": payload.get("commits") or []}


def _pull_request_context(payload: dict) -> dict:
    pr = payload.get("pull_request") or {}
    merged = payload.get("action") == "closed" and bool(pr.get("merged"))
    return {"pull_request": pr, "merged": merged, "state": "merged" if merged else payload.get("action")}


def _no_extras(payload: dict) -> dict:
    return {}


CONTEXTS: dict[str, Callable[[dict], dict]] = {
    "push": _push_context,
    "pull_request": _pull_request_context,
    "issues": lambda payload: {"issue": payload.get("issue") or {}},
}


def context(event: str, payload: dict) -> dict:
    """The variables a GitHub template receives: the payload plus what is tedious to derive."""
    base = {
        "event": event,
        "action": payload.get("action"),
        "payload": payload,
        "repository": payload.get("repository") or {},
        "sender": payload.get("sender") or {},
    }
    return {**base, **CONTEXTS.get(event, _no_extras)(payload)}
