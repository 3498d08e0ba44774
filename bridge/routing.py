"""Route filters: which events a route lets through, and the reason when it drops one."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from bridge.config import Route
from bridge.sources import Decision


@lru_cache(maxsize=1024)
def compiled(pattern: str) -> re.Pattern:
    """* and ? are the only wildcards, so "*[bot]" means names ending in [bot]."""
    return re.compile(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".") + r"\Z")


def matches(value: str | None, patterns: list[str]) -> bool:
    """True when value matches one of the wildcard patterns (case-sensitive, like GitHub names)."""
    return value is not None and any(compiled(pattern).match(value) for pattern in patterns)


def names(name: str, patterns: list[str]) -> bool:
    """True when a pattern names "event.action" or its event; an event without actions is "event." too."""
    return matches(name, patterns) or matches(name.split(".")[0], patterns) or ("." not in name and matches(name + ".", patterns))


def _events(route: Route, name: str, decision: Decision, facts: dict) -> str | None:
    if route.events is None or names(name, route.events):
        return None
    return f"events: {name} matches none of {', '.join(route.events)}"


def _exclude_events(route: Route, name: str, decision: Decision, facts: dict) -> str | None:
    return f"exclude_events: {name} is excluded" if names(name, route.exclude_events) else None


def _hidden(route: Route, name: str, decision: Decision, facts: dict) -> str | None:
    """Noise needs a pattern that names it: "pull_request.labeled", "pull_request.*", or "create" itself."""
    if not decision.hidden:
        return None
    return None if asks_for(route, name) else decision.reason


def asks_for(route: Route, name: str) -> bool:
    """True when the route's `events` names this event by a pattern that is not a bare wildcard: it asked for it."""
    explicit = [p for p in route.events or [] if "." in p or not any(c in p for c in "*?")]
    return matches(name, explicit) or ("." not in name and matches(name + ".", explicit))


def full_name(event: str, facts: dict) -> str:
    """What route filters match: "event.action", or the event alone."""
    return f"{event}.{facts['action']}" if facts.get("action") else event


def _repositories(route: Route, name: str, decision: Decision, facts: dict) -> str | None:
    if route.repositories is None or matches(facts["repository"], route.repositories):
        return None
    return f"repositories: {facts['repository']} matches none of {', '.join(route.repositories)}"


def _private(route: Route, name: str, decision: Decision, facts: dict) -> str | None:
    return "private: events from private repositories are off" if facts["private"] and not route.private else None


def _confidential(route: Route, name: str, decision: Decision, facts: dict) -> str | None:
    return "confidential: confidential issues and notes are off" if facts.get("confidential") and not route.confidential else None


def _authors(route: Route, name: str, decision: Decision, facts: dict) -> str | None:
    return f"exclude_authors: {facts['author']} is excluded" if matches(facts["author"], route.exclude_authors) else None


def _branches(route: Route, name: str, decision: Decision, facts: dict) -> str | None:
    if route.branches is None or facts["branch"] is None or matches(facts["branch"], route.branches):
        return None
    return f"branches: {facts['branch']} matches none of {', '.join(route.branches)}"


def _labels(route: Route, name: str, decision: Decision, facts: dict) -> str | None:
    if route.labels is None or facts["labels"] is None or any(matches(label, route.labels) for label in facts["labels"]):
        return None
    return f"labels: none of [{', '.join(facts['labels'])}] matches {', '.join(route.labels)}"


CHECKS: list[Callable[[Route, str, Decision, dict], str | None]] = [
    _events,
    _exclude_events,
    _hidden,
    _repositories,
    _private,
    _confidential,
    _authors,
    _branches,
    _labels,
]


def drop_reason(route_name: str, route: Route, event: str, decision: Decision, facts: dict) -> str | None:
    """Why the route drops this event ('routes.<name>.<key>: ...'), or None to let it through."""
    name = full_name(event, facts)
    for check in CHECKS:
        reason = check(route, name, decision, facts)
        if reason:
            return reason if check is _hidden else f"routes.{route_name}.{reason}"
    return None
