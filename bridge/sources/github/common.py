"""What every GitHub event family shares: the event spec, thread ids, refs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

Getter = Callable[[dict], object]


@dataclass(frozen=True)
class EventSpec:
    """How one GitHub event is shown; the template is github/<event>.txt (and .thread.json)."""

    # Actions rendered by default; None when the event has no action or every action is shown.
    shown: frozenset[str] | None = None
    # Actions rendered only when a route's `events` names them ("pull_request.labeled").
    hidden: frozenset[str] = frozenset()
    # The Flowdock thread the event belongs to (flow-token targets), or None.
    thread: Callable[[dict], str | None] | None = None
    # Variables the template receives beyond event, action, payload, repository and sender.
    context: Callable[[dict], dict] = field(default=lambda payload: {})
    # A reason to ignore this particular payload (noise), or None.
    skip: Callable[[dict], str | None] = field(default=lambda payload: None)
    # A reason this payload is routine: it goes into its thread (flow-token targets), not to chat.
    routine: Callable[[dict], str | None] = field(default=lambda payload: None)
    # The branch the event is about, for routes' `branches` filter.
    branch: Getter = field(default=lambda payload: None)


def actions(*names: str) -> frozenset[str]:
    """A set of action names."""
    return frozenset(names)


def text(value: object) -> str:
    """A payload string, or '' for anything else (a field may be null, missing or of another type)."""
    return value if isinstance(value, str) else ""


def id_part(value: object) -> str | None:
    """A string or a whole number that may go into a thread id, else None (never 'None' or a repr)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) and value.strip() else None


def repo_name(payload: dict) -> str:
    """owner/repo of the event, or '' for organization-level events."""
    return text(dig("repository", "full_name")(payload))


def thread_of(kind: str, key: Getter) -> Callable[[dict], str | None]:
    """A stable external_thread_id: github:<owner>/<repo>:<kind>:<key>, or None without a repository or a key."""

    def thread(payload: dict) -> str | None:
        repo, value = id_part(repo_name(payload)), id_part(key(payload))
        return f"github:{repo}:{kind}:{value}" if repo and value else None

    return thread


def dig(*path: str) -> Getter:
    """payload[a][b]..., or None where any step is missing."""

    def get(payload: dict) -> object:
        value: object = payload
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        return value

    return get


def obj(payload: dict, *path: str) -> dict:
    """The object at payload[a][b]..., or {} where it is missing or not an object."""
    value = dig(*path)(payload)
    return value if isinstance(value, dict) else {}


def text_at(*path: str) -> Callable[[dict], str]:
    """The string at payload[a][b]..., or ''."""
    get = dig(*path)
    return lambda payload: text(get(payload))


def items(value: object) -> list:
    """A payload list, or [] for anything else."""
    return value if isinstance(value, list) else []


def split_ref(ref: object) -> tuple[str, str]:
    """refs/heads/x -> ('branch', 'x'); refs/tags/y -> ('tag', 'y'); anything else -> ('ref', ref)."""
    ref = text(ref)
    for prefix, kind in (("refs/heads/", "branch"), ("refs/tags/", "tag")):
        if ref.startswith(prefix):
            return kind, ref[len(prefix) :]
    return "ref", ref


def branch_of_ref(payload: dict) -> str | None:
    """The branch of a refs/heads/... ref, else None."""
    kind, name = split_ref(payload.get("ref"))
    return name if kind == "branch" else None


def item(name: str) -> Callable[[dict], dict]:
    """The context of events about one payload object: that object under its own name."""
    return lambda payload: {name: obj(payload, name)}


def title_unchanged(event: str) -> Callable[[dict], str | None]:
    """A skip for `edited` actions that leave the title alone: body and base edits are noise."""

    def skip(payload: dict) -> str | None:
        if payload.get("action") == "edited" and "title" not in obj(payload, "changes"):
            return f"{event} action 'edited' without a title change is not shown"
        return None

    return skip
