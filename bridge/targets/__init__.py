"""Chat targets: one module per chat service behind one small interface, chosen by a target's `type`.

A target module offers:
- Settings: its pydantic settings, with `type: Literal["<name>"]` (secrets typed Secret);
- ROOTS: True when the chat replies under an item's first message, whose id is remembered;
- build(settings, message, sending) -> Request: the HTTP request for a composed message (Flowdock's
  body: chat text or thread activity, see bridge/messages.py); `sending` holds the thread's root
  message id when one is known, whether the route allows mentions, and Flowdock's API URL;
- answer(response, duration_ms, secrets) -> Outcome: delivered, retry (with the wait the chat asked
  for) or permanent, the chat's message id, and what the server said without secrets;
- optionally followups(settings, message, sending) -> [Request]: made after a delivered post, best
  effort (Slack and Mattermost redraw a thread's root with the item's newest state).
Retries, pacing, records, dead letters and replay stay above the targets, in bridge/pipeline.py.
The web loads this package but never sends: target modules import requests for its types only (TYPE_CHECKING).
"""

from __future__ import annotations

import logging
import time
from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import Discriminator, Tag

from bridge.targets import discord, flowdock, matrix, mattermost, slack, teams, zulip
from bridge.targets.base import Outcome, Request, Sending, failed, redact, secrets_of

if TYPE_CHECKING:
    from bridge.targets.client import Client

log = logging.getLogger(__name__)

TARGETS: dict[str, ModuleType] = {
    "flowdock": flowdock,
    "slack": slack,
    "mattermost": mattermost,
    "teams": teams,
    "discord": discord,
    "matrix": matrix,
    "zulip": zulip,
}
DEFAULT_TYPE = "flowdock"


def type_of(value: Any) -> str:
    """A target's type, flowdock when it names none (as every target did before there were others)."""
    found = value.get("type", DEFAULT_TYPE) if isinstance(value, dict) else getattr(value, "type", DEFAULT_TYPE)
    return found if isinstance(found, str) else repr(found)


AnyTarget = Annotated[
    Annotated[flowdock.Settings, Tag("flowdock")]
    | Annotated[slack.Settings, Tag("slack")]
    | Annotated[mattermost.Settings, Tag("mattermost")]
    | Annotated[teams.Settings, Tag("teams")]
    | Annotated[discord.Settings, Tag("discord")]
    | Annotated[matrix.Settings, Tag("matrix")]
    | Annotated[zulip.Settings, Tag("zulip")],
    Discriminator(
        type_of,
        custom_error_type="unknown_target_type",
        custom_error_message=f"unknown target type; fix: use one of: {', '.join(TARGETS)} (default {DEFAULT_TYPE})",
    ),
]


def module_of(settings: Any) -> ModuleType:
    """The module of a target's type."""
    return TARGETS[type_of(settings)]


def uses_roots(settings: Any) -> bool:
    """True when this target replies under an item's first message, so that message's id is worth remembering."""
    return bool(module_of(settings).ROOTS)


def send(http: Client, settings: Any, message: dict, sending: Sending, timeout: float) -> Outcome:
    """Make one attempt to deliver message to a target of any type, then its best-effort follow-ups."""
    module = module_of(settings)
    secrets = secrets_of(settings)
    outcome = attempt(http, module, module.build(settings, message, sending), timeout, secrets)
    if outcome.kind == "delivered":
        for extra in getattr(module, "followups", lambda *_: [])(settings, message, sending):
            follow_up(http, module, extra, timeout, secrets)
    return outcome


def attempt(http: Client, module: ModuleType, request: Request, timeout: float, secrets: list[str]) -> Outcome:
    """One request and what the target's module makes of its answer (or of getting none)."""
    from requests import RequestException  # loaded already: the client that sends uses it

    started = time.monotonic()
    try:
        response = http.send(request, timeout)
    except RequestException as exc:
        return failed(exc, started, secrets)
    outcome: Outcome = module.answer(response, (time.monotonic() - started) * 1000, secrets)
    return outcome


def follow_up(http: Client, module: ModuleType, request: Request, timeout: float, secrets: list[str]) -> None:
    """A request whose failure costs only freshness (the root's status): logged, never retried."""
    outcome = attempt(http, module, request, timeout, secrets)
    if outcome.kind != "delivered":
        log.warning("could not update a thread's root message: HTTP %s %s", outcome.status, outcome.error[:300])


__all__ = ["TARGETS", "AnyTarget", "Outcome", "Sending", "module_of", "redact", "secrets_of", "send", "uses_roots"]
