"""Issues, issue comments (also those on pull requests), discussions and discussion comments.

Shown by default: issues opened, closed (completed or not planned), reopened and transferred;
comments created on issues and pull requests; discussions created, answered, closed and
reopened; discussion comments created.
Hidden (a route names them, e.g. "issues.labeled"): issues renamed (edited with a title change),
assigned, labeled and milestoned; discussions renamed, labeled and moved to another category.
Ignored: every other action (unassigned, unlabeled, demilestoned, locked, pinned, deleted,
unanswered, comment edits and deletions) and edits that leave the title alone.
Threads: github:<owner>/<repo>:issue:<number>, :discussion:<number>; GitHub calls a pull request
an issue in `issues` and `issue_comment` events, and those go to its :pull:<number> thread.
"""

from __future__ import annotations

from bridge.sources.common import EventSpec, actions, dig, obj
from bridge.sources.github.common import thread_of, title_unchanged

ISSUE_THREAD = thread_of("issue", dig("issue", "number"))
PULL_THREAD = thread_of("pull", dig("issue", "number"))
DISCUSSION_THREAD = thread_of("discussion", dig("discussion", "number"))


def is_pull(payload: dict) -> bool:
    """True when the "issue" is a pull request: only those carry issue.pull_request."""
    return bool(dig("issue", "pull_request")(payload))


def issue_thread(payload: dict) -> str | None:
    """The pull request's thread for a pull request, else the issue's."""
    return (PULL_THREAD if is_pull(payload) else ISSUE_THREAD)(payload)


def issue_context(payload: dict) -> dict:
    """The issue, whether it is a pull request, and (if so) the pull request as far as the issue tells it."""
    issue = obj(payload, "issue")
    pull = is_pull(payload)
    # The issue form of a pull request has no branches, and says merged only through merged_at.
    as_pull = {**issue, "merged": bool(obj(issue, "pull_request").get("merged_at"))} if pull else {}
    return {"issue": issue, "is_pull": pull, "pull_request": as_pull}


def issue_comment_context(payload: dict) -> dict:
    """issue_context and the comment."""
    return {**issue_context(payload), "comment": obj(payload, "comment")}


def discussion_context(payload: dict) -> dict:
    """The discussion, and the comment for comment events."""
    return {"discussion": payload.get("discussion") or {}, "comment": obj(payload, "comment")}


EVENTS = {
    "issues": EventSpec(
        shown=actions("opened", "reopened", "closed", "transferred"),
        hidden=actions("edited", "assigned", "labeled", "milestoned"),
        thread=issue_thread,
        context=issue_context,
        skip=title_unchanged("issues"),
    ),
    "issue_comment": EventSpec(shown=actions("created"), thread=issue_thread, context=issue_comment_context),
    "discussion": EventSpec(
        shown=actions("created", "answered", "closed", "reopened"),
        hidden=actions("edited", "labeled", "category_changed"),
        thread=DISCUSSION_THREAD,
        context=discussion_context,
        skip=title_unchanged("discussion"),
    ),
    "discussion_comment": EventSpec(shown=actions("created"), thread=DISCUSSION_THREAD, context=discussion_context),
}
