"""Code events: pushes, branches and tags, commit comments and releases.

Shown by default: every push (commits capped at five, force pushes, branches and tags created
or deleted); commit comments created; releases published (a pre-release says so).
Hidden (a route names them, e.g. "release.released"): releases released, prereleased,
unpublished and deleted. GitHub sends released or prereleased alongside published for the same
release, so showing them by default would say it twice; released alone also marks a
pre-release promoted to a full release, which is why a route may want it.
Hidden too: create and delete, because a push with created or deleted set says the same for
every branch and tag (GitHub sends both for each new ref); a route may name "create" or "delete".
Ignored: pushes to merge-queue branches; releases created (a draft was saved) and edited.
Threads: pushes go to github:<owner>/<repo>:branch:<name>, releases to :release:<id>;
commit comments and tag pushes arrive as chat messages.
"""

from __future__ import annotations

from bridge.sources.common import EventSpec, actions, branch_of_ref, dig, item, items, split_ref, text
from bridge.sources.github.common import thread_of

MERGE_QUEUE_PREFIX = "refs/heads/gh-readonly-queue/"


def ref_branch(payload: dict) -> str | None:
    """create and delete name a branch in ref when ref_type is branch."""
    return text(payload.get("ref")) or None if payload.get("ref_type") == "branch" else None


def push_context(payload: dict) -> dict:
    """The ref as kind and short name, and the commits."""
    ref_type, ref_name = split_ref(payload.get("ref"))
    return {"ref_type": ref_type, "ref_name": ref_name, "commits": items(payload.get("commits"))}


def push_noise(payload: dict) -> str | None:
    """Merge queues push temporary branches for every queued pull request."""
    return "pushes to merge-queue branches are noise" if text(payload.get("ref")).startswith(MERGE_QUEUE_PREFIX) else None


EVENTS = {
    "push": EventSpec(thread=thread_of("branch", branch_of_ref), context=push_context, skip=push_noise, branch=branch_of_ref),
    # push already reports every new and deleted branch and tag: these repeat it, so only on request.
    "create": EventSpec(shown=actions(), hidden=actions(""), branch=ref_branch),
    "delete": EventSpec(shown=actions(), hidden=actions(""), branch=ref_branch),
    "commit_comment": EventSpec(shown=actions("created"), context=item("comment")),
    "release": EventSpec(
        shown=actions("published"),
        hidden=actions("released", "prereleased", "unpublished", "deleted"),
        thread=thread_of("release", dig("release", "id")),
        context=item("release"),
    ),
}
