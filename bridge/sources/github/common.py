"""What every GitHub event family shares beyond bridge/sources/common.py: thread ids and title edits."""

from __future__ import annotations

from collections.abc import Callable

from bridge.sources.common import Getter, dig, id_part, obj, text


def repo_name(payload: dict) -> str:
    """owner/repo of the event, or '' for organization-level events."""
    return text(dig("repository", "full_name")(payload))


def thread_of(kind: str, key: Getter) -> Callable[[dict], str | None]:
    """A stable external_thread_id: github:<owner>/<repo>:<kind>:<key>, or None without a repository or a key."""

    def thread(payload: dict) -> str | None:
        repo, value = id_part(repo_name(payload)), id_part(key(payload))
        return f"github:{repo}:{kind}:{value}" if repo and value else None

    return thread


def title_unchanged(event: str) -> Callable[[dict], str | None]:
    """A skip for `edited` actions that leave the title alone: body and base edits are noise."""

    def skip(payload: dict) -> str | None:
        if payload.get("action") == "edited" and "title" not in obj(payload, "changes"):
            return f"{event} action 'edited' without a title change is not shown"
        return None

    return skip
