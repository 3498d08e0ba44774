"""Code events: pushes and tag pushes.

Shown by default: every push (commits capped at five, with "and N more" counted from
total_commits_count, since GitLab sends at most twenty), branches created or deleted; tags
pushed or deleted.
Threads: pushes go to gitlab:<namespace>/<project>:branch:<name>; tag pushes arrive as chat messages.
"""

from __future__ import annotations

from bridge.sources.common import EventSpec, branch_of_ref, items, split_ref, text, whole
from bridge.sources.gitlab.common import is_zero, project_of, thread_of


def ref_context(payload: dict) -> dict:
    """The ref as kind and short name, whether it was created or deleted, the commits and their true count."""
    ref_type, ref_name = split_ref(payload.get("ref"))
    commits = items(payload.get("commits"))
    total = whole(payload.get("total_commits_count"))
    web_url, before, after = text(project_of(payload).get("web_url")), text(payload.get("before")), text(payload.get("after"))
    compare = f"{web_url}/-/compare/{before}...{after}" if web_url and before and after and not is_zero(before) and not is_zero(after) else ""
    return {
        "ref_type": ref_type,
        "ref_name": ref_name,
        "commits": commits,
        "total": total if total is not None and total >= len(commits) else len(commits),
        "created": is_zero(before),
        "deleted": is_zero(after),
        "compare_url": compare,
    }


EVENTS = {
    "push": EventSpec(thread=thread_of("branch", branch_of_ref), context=ref_context, branch=branch_of_ref),
    "tag_push": EventSpec(context=ref_context),
}
