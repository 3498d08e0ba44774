"""Microsoft Teams: a Workflows (Power Automate) webhook URL carrying an Adaptive Card; each change a card of its own.

The "Post to a channel when a webhook request is received" workflow posts the Adaptive Card it is
given and answers 202 with no message id, so Teams cannot thread or update what hookdock posted.
Mentions in an Adaptive Card need a msteams.entities entry, which hookdock never sends: text cannot ping.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Literal

from bridge.config_base import Secret, TargetSettings
from bridge.targets.base import Outcome, Request, Sending, error_text, kind_of, parse_retry_after
from bridge.targets.card import Card, card_of
from bridge.targets.markup import fit, from_html, from_text, markdown_link

if TYPE_CHECKING:
    import requests

# "The message size limit is 28 KB" (https://learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/add-incoming-webhook):
# the whole request is kept under it, with room for what the workflow adds.
MAX_BYTES = 27 * 1024
BODY_TEXT = 10000
# Teams shows at most 6 actions on a card (its host config's maxActions).
MAX_ACTIONS = 6
# Thread cards carry a handful of fields; more than this is a template's mistake, not worth a card's size.
MAX_FACTS = 20
ROOTS = False
# Flowdock's colours as the Adaptive Card text colours Teams knows.
COLOURS = {
    "green": "Good",
    "lime": "Good",
    "red": "Attention",
    "orange": "Warning",
    "yellow": "Warning",
    "blue": "Accent",
    "cyan": "Accent",
    "purple": "Accent",
    "grey": "Default",
    "black": "Default",
}


class Settings(TargetSettings):
    """The workflow's HTTP POST URL (it holds its signature, sig=...)."""

    type: Literal["teams"]
    url: Secret

    def urls(self) -> dict[str, str]:
        """The workflow URL."""
        return {"url": self.url.get_secret_value()}


def text_block(text: str, **style) -> dict:
    """A wrapping TextBlock."""
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def markdown(markup: str, limit: int) -> str:
    """Our HTML as the Markdown a TextBlock reads, of at most limit characters."""
    return fit(lambda t: from_html(t, "markdown"), markup, limit)


def body_of(card: Card, limit: int) -> tuple[list[dict], list[dict]]:
    """The card's blocks and actions."""
    if card.is_chat:
        return [text_block(fit(lambda t: from_text(t, "markdown"), card.text or "", limit))], []
    blocks = [text_block(f"**{fit(lambda t: from_text(t, 'markdown'), card.author, 200)}** {markdown(card.summary, 500)}".strip())]
    if card.title:
        title = fit(lambda t: from_text(t, "markdown"), from_html(card.title, "plain"), 500)
        blocks.append(text_block(markdown_link(title, card.url), weight="Bolder", size="Medium"))
    if card.status:
        status = fit(lambda t: from_text(t, "markdown"), from_html(card.status, "plain"), 200)
        blocks.append(text_block(status, color=COLOURS.get(card.colour or "", "Default"), weight="Bolder"))
    if card.body.strip():
        blocks.append(text_block(markdown(card.body, limit)))
    if card.fields:
        # Facts share the text budget, so a card of many long fields still fits.
        facts = [{"title": fit(lambda t: t, from_html(label, "plain"), 100), "value": markdown(value, max(50, limit // 10))} for label, value in card.fields]
        blocks.append({"type": "FactSet", "facts": facts[:MAX_FACTS]})
    actions = [{"type": "Action.OpenUrl", "title": fit(lambda t: t, from_html(name, "plain") or url, 100), "url": url} for name, url in card.actions]
    return blocks, actions


def payload(card: Card, limit: int = BODY_TEXT) -> dict:
    """The message the workflow expects: one attachment holding the Adaptive Card."""
    blocks, actions = body_of(card, limit)
    content = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4", "body": blocks}
    if actions:
        content["actions"] = actions[:MAX_ACTIONS]
    return {"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": content}]}


def size(body: dict) -> int:
    """Bytes of the request body as sent."""
    return len(json.dumps(body).encode())


def build(settings: Settings, message: dict, sending: Sending) -> Request:
    """POST the card to the workflow, its text shortened until the whole fits Teams' size limit."""
    card = card_of(message, None, sending.allow_mentions)
    body, limit = payload(card), BODY_TEXT
    while size(body) > MAX_BYTES and limit > 100:
        limit = max(100, limit - (size(body) - MAX_BYTES))
        body = payload(card, limit)
    return Request("POST", settings.url.get_secret_value(), json=body)


def answer(response: requests.Response, duration_ms: float, secrets: list[str]) -> Outcome:
    """The contract's table; a workflow answers 202 and no id."""
    status = response.status_code
    kind = kind_of(status)
    if kind == "delivered":
        return Outcome(kind, status, duration_ms)
    return Outcome(kind, status, duration_ms, error_text(response, secrets), parse_retry_after(response.headers.get("Retry-After")))
