"""Issues (also confidential issues and incidents) and work items (tasks, epics, objectives, ...).

Shown by default: opened, closed and reopened.
Hidden (a route names them, e.g. "issue.update"): updates with a new title, new labels or new
assignees.
Ignored: updates that change none of those (descriptions, due dates, weights, time tracking).
Confidential: confidential issues and work items (GitLab's "Confidential Issue Hook") reach only
routes with `confidential: true`.
Threads: gitlab:<namespace>/<project>:issue:<iid>, for work items too (they share the issues'
numbers); group-level work items (epics) have no project and arrive as chat messages.
"""

from __future__ import annotations

from bridge.sources.common import EventSpec, actions, dig, obj, text
from bridge.sources.gitlab.common import changed, label_change, names, people, thread_of, with_url

ISSUE_THREAD = thread_of("issue", dig("object_attributes", "iid"))
UPDATES = ("title", "labels", "assignees")


def update_kind(payload: dict) -> str | None:
    """What an "update" did people follow: renamed, labeled or assigned; None for anything else."""
    kinds = {"title": "renamed", "labels": "labeled", "assignees": "assigned"}
    return next((kinds[key] for key in UPDATES if changed(payload, key)), None)


def quiet_update(event: str):
    """A skip for updates that change nothing people follow."""

    def skip(payload: dict) -> str | None:
        if dig("object_attributes", "action")(payload) == "update" and update_kind(payload) is None:
            return f"{event} action 'update' without a title, label or assignee change is not shown"
        return None

    return skip


def issue_context(payload: dict) -> dict:
    """The issue (with its URL), its type, what an update changed, and the people for thread fields."""
    attributes = obj(payload, "object_attributes")
    action = text(attributes.get("action"))
    assignees = changed(payload, "assignees")
    before = set(names(assignees.get("previous")))
    return {
        "issue": with_url(attributes, payload, "issues"),
        "kind": text(attributes.get("type")) or "Issue",
        "state": update_kind(payload) if action == "update" else action,
        "added": [name for name in names(assignees.get("current")) if name not in before],
        **label_change(payload),
        "people": people(payload, attributes),
    }


EVENTS = {
    "issue": EventSpec(
        shown=actions("open", "close", "reopen"), hidden=actions("update"), thread=ISSUE_THREAD, context=issue_context, skip=quiet_update("issue")
    ),
    "work_item": EventSpec(
        shown=actions("open", "close", "reopen"), hidden=actions("update"), thread=ISSUE_THREAD, context=issue_context, skip=quiet_update("work_item")
    ),
}
