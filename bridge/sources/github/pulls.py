"""Pull requests (and later their reviews, review comments and review threads)."""
from __future__ import annotations

from bridge.sources.github.common import EventSpec, actions, dig, thread_of

PULL_THREAD = thread_of("pull", dig("pull_request", "number"))


def pull_request_context(payload: dict) -> dict:
    """The pull request, and its state with "merged" told apart from "closed"."""
    pr = payload.get("pull_request") or {}
    merged = payload.get("action") == "closed" and bool(pr.get("merged"))
    return {"pull_request": pr, "merged": merged, "state": "merged" if merged else payload.get("action")}


EVENTS = {
    "pull_request": EventSpec(
        shown=actions("opened", "reopened", "closed", "ready_for_review", "converted_to_draft"),
        thread=PULL_THREAD, context=pull_request_context, branch=dig("pull_request", "base", "ref")),
}
