"""Comments (GitLab's notes) on commits, merge requests, issues and snippets.

Shown by default: comments created.
Ignored: comment edits (action "update"), and system notes ("added 1 commit", "changed the
description"), which repeat what other events say.
Confidential: internal notes and every comment on a confidential issue reach only routes with
`confidential: true` (facts.confidential; the route key defaults to false), because a chat flow
usually has a wider audience than the project's members.
Threads: comments on a merge request go to its thread (gitlab:<namespace>/<project>:mr:<iid>),
on an issue to :issue:<iid>; comments on commits and snippets arrive as chat messages.
"""

from __future__ import annotations

from bridge.sources.common import EventSpec, actions, dig, obj, text, text_at
from bridge.sources.gitlab.common import action_of, people, thread_of, with_url

# noteable_type -> the payload key holding the commented thing, and the words for it.
NOTEABLES = {"MergeRequest": "merge_request", "Issue": "issue", "Commit": "commit", "Snippet": "snippet"}
MR_THREAD = thread_of("mr", dig("merge_request", "iid"))
ISSUE_THREAD = thread_of("issue", dig("issue", "iid"))


def noteable(payload: dict) -> str:
    """What was commented on: merge_request, issue, commit, snippet, or '' for another type."""
    return NOTEABLES.get(text(dig("object_attributes", "noteable_type")(payload)), "")


def note_thread(payload: dict) -> str | None:
    """The merge request's or issue's thread; None for commits and snippets."""
    kind = noteable(payload)
    return MR_THREAD(payload) if kind == "merge_request" else ISSUE_THREAD(payload) if kind == "issue" else None


def system_note(payload: dict) -> str | None:
    """GitLab writes system notes for changes other events report."""
    return "system notes repeat what other events say" if dig("object_attributes", "system")(payload) is True else None


def note_action(payload: dict) -> str:
    """object_attributes.action; GitLab sent none before it sent edits too, when every note hook was a new comment."""
    return action_of(payload) or "create"


def is_internal(payload: dict) -> bool:
    """An internal note: flagged so, or sent as a confidential_note about something that is not a confidential issue."""
    note, issue = obj(payload, "object_attributes"), obj(payload, "issue")
    flagged = note.get("internal") is True or note.get("confidential") is True
    return flagged or (text(payload.get("event_type")) == "confidential_note" and issue.get("confidential") is not True)


def note_context(payload: dict) -> dict:
    """The note, what it is on (with its URL), and the people for thread fields."""
    kind = noteable(payload)
    target = obj(payload, kind) if kind else {}
    if kind in ("merge_request", "issue"):
        target = with_url(target, payload, f"{kind}s")
    return {
        "note": obj(payload, "object_attributes"),
        "internal": is_internal(payload),
        "noteable": kind,
        "target": target,
        "merge_request": target if kind == "merge_request" else {},
        "issue": target if kind == "issue" else {},
        # A comment's payload tells only the item's first assignee (the deprecated `assignee`).
        "people": people({"assignees": [target.get("assignee")]}),
    }


EVENTS = {
    "note": EventSpec(
        shown=actions("create"),
        thread=note_thread,
        context=note_context,
        skip=system_note,
        branch=text_at("merge_request", "target_branch"),
        action=note_action,
    ),
}
