"""What every source's event families share: the event spec, the decision it leads to, and safe payload access."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from bridge.sources.base import Decision

Getter = Callable[[dict], object]


@dataclass(frozen=True)
class EventSpec:
    """How one event is shown; the template is <source>/<event>.txt (and .thread.json)."""

    # Actions rendered by default; None when the event has no action or every action is shown.
    shown: frozenset[str] | None = None
    # Actions rendered only when a route's `events` names them ("pull_request.labeled").
    hidden: frozenset[str] = frozenset()
    # The thread the event belongs to (for chats that thread: an item's thread or topic), or None.
    thread: Callable[[dict], str | None] | None = None
    # Variables the template receives beyond what the source gives every template.
    context: Callable[[dict], dict] = field(default=lambda payload: {})
    # A reason to ignore this particular payload (noise), or None.
    skip: Callable[[dict], str | None] = field(default=lambda payload: None)
    # A reason this payload is routine: it goes into its thread (flow-token targets), not to chat.
    routine: Callable[[dict], str | None] = field(default=lambda payload: None)
    # The branch the event is about, for routes' `branches` filter.
    branch: Getter = field(default=lambda payload: None)
    # The event's action when it is not where the source usually keeps it; None: the source's default.
    action: Callable[[dict], str | None] | None = None
    # True when this payload is shown although its action is hidden (GitLab's "update" that marks a draft ready).
    shown_if: Callable[[dict], bool] = field(default=lambda payload: False)


def decide(source: str, event: str, spec: EventSpec, action: str | None, payload: dict) -> Decision:
    """Render <source>/<event>.txt for an action the spec shows, or hides until a route names it; else say why not."""
    noise = spec.skip(payload)
    if noise:
        return Decision(None, noise)
    template, thread = f"{source}/{event}.txt", spec.thread(payload) if spec.thread else None
    if spec.shown is None or action in spec.shown or spec.shown_if(payload):
        routine = spec.routine(payload)
        return Decision(template, f"{routine}; it goes to the thread only" if routine else "", thread, chat=not routine)
    if (action or "") in spec.hidden:  # "" stands for an event without actions
        named = f"{event} action {action!r}" if action else event
        return Decision(template, f"{named} is shown only when a route's events names it", thread, hidden=True)
    return Decision(None, f"{event} action {action!r} is not shown" if action else f"{event} without an action is not shown")


def actions(*names: str) -> frozenset[str]:
    """A set of action names."""
    return frozenset(names)


def route_facts(
    action: str | None = None, repository: str | None = None, author: str | None = None, branch: str | None = None, labels: list[str] | None = None
) -> dict:
    """What route filters read (bridge/routing.py) from a source whose events are not a repository's: never private; None where unknown."""
    return {"action": action, "repository": repository, "private": False, "author": author, "branch": branch, "labels": labels}


def text(value: object) -> str:
    """A payload string, or '' for anything else (a field may be null, missing or of another type)."""
    return value if isinstance(value, str) else ""


def whole(value: object) -> int | None:
    """A payload's whole number, or None for anything else (JSON's true and false are not numbers)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def id_part(value: object) -> str | None:
    """A string or a whole number that may go into a thread id, else None (never 'None' or a repr)."""
    if (number := whole(value)) is not None:
        return str(number)
    return value if isinstance(value, str) and value.strip() else None


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


def seconds_between(start: object, end: object) -> int | None:
    """Whole seconds from one ISO time ("Z" allowed) to another, or None when either is missing or unreadable."""
    try:
        later, earlier = (datetime.fromisoformat(str(t).replace("Z", "+00:00")) for t in (end, start))
        return max(0, int((later - earlier).total_seconds()))
    except (TypeError, ValueError):
        return None


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
