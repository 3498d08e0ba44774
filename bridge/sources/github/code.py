"""Code events: pushes (and later branches, tags, releases and commit comments)."""
from __future__ import annotations

from bridge.sources.github.common import EventSpec, branch_of_ref, split_ref, thread_of

MERGE_QUEUE_PREFIX = "refs/heads/gh-readonly-queue/"


def push_context(payload: dict) -> dict:
    """The ref as kind and short name, and the commits."""
    ref_type, ref_name = split_ref(payload.get("ref"))
    return {"ref_type": ref_type, "ref_name": ref_name, "commits": payload.get("commits") or []}


def push_noise(payload: dict) -> str | None:
    """Merge queues push temporary branches for every queued pull request."""
    return "pushes to merge-queue branches are noise" if (payload.get("ref") or "").startswith(MERGE_QUEUE_PREFIX) else None


EVENTS = {
    "push": EventSpec(thread=thread_of("branch", branch_of_ref), context=push_context, skip=push_noise, branch=branch_of_ref),
}
