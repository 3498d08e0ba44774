"""Senders of webhooks: one module per source, all with the same small interface.

Each source module offers:
    AUTH_KEYS: the route keys holding its credentials; a route must set at least one (AUTH_FIX says how)
    verify(inbound, credentials) -> None, or raises Rejected(401, why); credentials maps AUTH_KEYS the route set to their values
    parse(headers, raw) -> (event_name, payload), or raises Rejected(400/415, why)
    delivery_id(headers, raw) -> the sender's id for this delivery (dedupe key)
    classify(event_name, payload) -> Decision: a template to render, or a reason to ignore
    context(event_name, payload) -> the variables the template receives
    facts(event_name, payload) -> what route filters look at: action, repository, private, author, branch, labels,
        and optionally confidential (True keeps the event from routes without confidential: true)
CI sources (jenkins, circleci, buildkite, travis), GitHub (workflow runs) and GitLab (pipelines) also offer
build(event_name, payload) -> a bridge.builds.Build or None, which the worker checks against earlier results ("back to green"); Buildkite offers AUTH_MODES
(the route's `auth` choice) and Travis credential_problem(credentials), which refuses a bad key at start-up.
Alert sources (alertmanager, grafana) offer group(event_name, payload) -> a bridge.alerts.Group or None instead,
which the worker checks against earlier notifications of the group (a repeat goes to the thread only).
A source whose sender may use another HTTP method than POST lists them in METHODS (grafana: POST or PUT).
The generic source is configured per route: source_for(route_name, route) gives any route's interface, and
callers that handle events go through it; generic offers route_problem(route) for the configuration check.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from bridge.sources import alertmanager, buildkite, circleci, generic, github, gitlab, grafana, jenkins, sentry, travis
from bridge.sources.base import Decision, Inbound, Rejected

SOURCES: dict[str, ModuleType] = {
    "github": github,
    "gitlab": gitlab,
    "jenkins": jenkins,
    "circleci": circleci,
    "buildkite": buildkite,
    "travis": travis,
    "alertmanager": alertmanager,
    "grafana": grafana,
    "sentry": sentry,
    "generic": generic,
}


def source_for(route_name: str, route: Any) -> Any:
    """The source interface a route's events go through: its source module, or the object a configurable source
    (generic) builds from the route's own settings (for_route)."""
    module = SOURCES[route.source]
    for_route = getattr(module, "for_route", None)
    return for_route(route_name, route) if for_route is not None else module


__all__ = ["SOURCES", "Decision", "Inbound", "Rejected", "source_for"]
