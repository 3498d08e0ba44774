"""Merge requests: opened, reopened, closed, merged, updated and approved.

Shown by default: merge requests opened, reopened, closed and merged; updates that mark a draft
ready or make it a draft, or ask someone new to review (someone is asked to act); a reviewer's
approval (action "approval").
Hidden (a route names them, e.g. "merge_request.update"): updates with new commits (oldrev
present), a new title, new labels or new assignees; "approved" (GitLab sends it beside the last
"approval" once all required approvals are in, so showing both would say it twice);
"unapproval" and "unapproved" (an approval taken back).
Ignored: updates that change none of those (descriptions, milestones, time tracking, or nothing:
GitLab sends updates with empty changes).
Every event about a merge request goes to its thread, gitlab:<namespace>/<project>:mr:<iid>.
"""

from __future__ import annotations

from bridge.sources.common import EventSpec, actions, dig, obj, text, text_at
from bridge.sources.gitlab.common import changed, label_change, names, people, thread_of, with_url

MR_THREAD = thread_of("mr", dig("object_attributes", "iid"))
TARGET_BRANCH = text_at("object_attributes", "target_branch")
# What an update changed, most telling first; the first three are shown by default, the rest only on request.
SHOWN_CHANGES = ("ready", "draft", "review_requested")


def update_kind(payload: dict) -> str | None:
    """What an "update" did: ready, draft, review_requested, commits, renamed, labeled, assigned; None for anything else."""
    draft, added_reviewers = changed(payload, "draft"), new_names(payload, "reviewers")
    kinds = [
        ("ready", draft.get("previous") is True and draft.get("current") is False),
        ("draft", draft.get("previous") is False and draft.get("current") is True),
        ("review_requested", bool(added_reviewers)),
        ("commits", bool(text(dig("object_attributes", "oldrev")(payload)))),
        ("renamed", bool(changed(payload, "title"))),
        ("labeled", bool(changed(payload, "labels"))),
        ("assigned", bool(new_names(payload, "assignees"))),
    ]
    return next((kind for kind, applies in kinds if applies), None)


def new_names(payload: dict, key: str) -> list[str]:
    """Usernames in changes.<key>.current that were not in previous: reviewers asked, assignees added."""
    change = changed(payload, key)
    before = set(names(change.get("previous")))
    return [name for name in names(change.get("current")) if name not in before]


def is_update(payload: dict) -> bool:
    """True for GitLab's catch-all "update" action."""
    return dig("object_attributes", "action")(payload) == "update"


def shown_update(payload: dict) -> bool:
    """An update that asks someone to act: a draft marked ready or made a draft, or a new reviewer."""
    return is_update(payload) and update_kind(payload) in SHOWN_CHANGES


def quiet_update(payload: dict) -> str | None:
    """Updates that change nothing people follow."""
    if is_update(payload) and update_kind(payload) is None:
        return "merge_request action 'update' without new commits or a title, draft, reviewer, label or assignee change is not shown"
    return None


def merge_request_context(payload: dict) -> dict:
    """The merge request (with its URL), what an update changed, and the people for thread fields."""
    attributes = obj(payload, "object_attributes")
    action = text(attributes.get("action"))
    return {
        "merge_request": with_url(attributes, payload, "merge_requests"),
        "state": update_kind(payload) if action == "update" else action,
        "added": new_names(payload, "reviewers") or new_names(payload, "assignees"),
        **label_change(payload),
        "people": people(payload, attributes),
    }


EVENTS = {
    "merge_request": EventSpec(
        shown=actions("open", "reopen", "close", "merge", "approval"),
        hidden=actions("update", "approved", "unapproval", "unapproved"),
        thread=MR_THREAD,
        context=merge_request_context,
        skip=quiet_update,
        shown_if=shown_update,
        branch=TARGET_BRANCH,
    ),
}
