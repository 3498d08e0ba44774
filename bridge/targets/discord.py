"""Discord: a webhook URL; chat text as content, an item's change as an embed, each change a card of its own.

?wait=true makes Discord answer with the message, so its id is recorded. allowed_mentions is always
sent: with no parse list nobody is pinged, whatever the text holds.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from bridge.config_base import Secret, TargetSettings
from bridge.targets.base import Outcome, Request, Sending, error_text, json_of, kind_of, parse_retry_after
from bridge.targets.card import Card, card_of
from bridge.targets.markup import fit, from_html, from_text, markdown_actions

if TYPE_CHECKING:
    import requests

# https://discord.com/developers/docs/resources/webhook#execute-webhook and .../message#embed-object-embed-limits:
# content 2000; embed title 256, description 4096, 25 fields of name 256 and value 1024, footer 2048,
# author name 256, and 6000 characters in all the embeds of a message together.
CONTENT, TITLE, DESCRIPTION, MAX_FIELDS, FIELD_NAME, FIELD_VALUE, FOOTER, AUTHOR, EMBED_TOTAL = 2000, 256, 4096, 25, 256, 1024, 2048, 256, 6000
ROOTS = False
# Discord's mentions: <@123>, <@!123>, <@&role>, @everyone, @here; kept as they are when a route allows mentions.
MENTIONS = re.compile(r"<@[!&]?\d+>|@everyone|@here")
NOBODY: dict[str, list[str]] = {"parse": []}
EVERYONE = {"parse": ["users", "roles", "everyone"]}


class Settings(TargetSettings):
    """A webhook URL (Server Settings > Integrations > Webhooks)."""

    type: Literal["discord"]
    url: Secret

    def urls(self) -> dict[str, str]:
        """The webhook URL."""
        return {"url": self.url.get_secret_value()}


def markdown(markup: str, keep: re.Pattern | None, limit: int) -> str:
    """Our HTML as Discord Markdown of at most limit characters."""
    return fit(lambda t: from_html(t, "markdown", keep), markup, limit)


def plain(markup: str, limit: int) -> str:
    """Our HTML as plain text of at most limit characters (titles, names, footers: Discord shows them as they are)."""
    return fit(lambda t: from_html(t, "plain"), markup, limit)


def embed_size(embed: dict) -> int:
    """The characters Discord counts against the 6000 of a message's embeds."""
    texts = [embed.get("title", ""), embed.get("description", ""), embed.get("footer", {}).get("text", ""), embed.get("author", {}).get("name", "")]
    texts += [f["name"] + f["value"] for f in embed.get("fields", [])]
    return sum(len(t) for t in texts)


def embed(card: Card, keep: re.Pattern | None, description_limit: int = DESCRIPTION) -> dict:
    """One embed: author, the item as a linked title, what happened and the body, fields, the status as footer."""
    links = markdown_actions(card.actions, lambda name: plain(name, 100))
    lines = [markdown(card.summary, keep, 500), markdown(card.body, keep, description_limit), links]
    found: dict = {"description": fit(lambda t: t, "\n\n".join(line for line in lines if line), description_limit)}
    if card.author:
        found["author"] = {"name": fit(lambda t: t, card.author, AUTHOR)}
    if card.title:
        found["title"] = plain(card.title, TITLE)
    if card.url:
        found["url"] = card.url
    if card.hex_colour:
        found["color"] = int(card.hex_colour[1:], 16)
    if card.fields:
        # The fields share half of the 6000 characters a message's embeds may hold.
        share = max(40, EMBED_TOTAL // 2 // min(len(card.fields), MAX_FIELDS))
        name_limit = min(FIELD_NAME, share // 4)
        value_limit = min(FIELD_VALUE, share - name_limit)
        fields = [{"name": plain(label, name_limit), "value": markdown(value, keep, value_limit) or "-", "inline": True} for label, value in card.fields]
        found["fields"] = fields[:MAX_FIELDS]
    if card.status:
        found["footer"] = {"text": plain(card.status, FOOTER)}
    return found


def payload(card: Card, keep: re.Pattern | None, allow_mentions: bool) -> dict:
    """Content for chat text (an embed's description when it is longer than content may be), an embed for an item."""
    mentions = EVERYONE if allow_mentions else NOBODY
    if card.is_chat:
        text = from_text(card.text or "", "markdown", keep)
        if len(text) <= CONTENT:
            return {"content": text, "allowed_mentions": mentions}
        return {"embeds": [{"description": fit(lambda t: from_text(t, "markdown", keep), card.text or "", DESCRIPTION)}], "allowed_mentions": mentions}
    found = embed(card, keep)
    if embed_size(found) > EMBED_TOTAL:
        # The description is the one long part: shorten it by what the whole is over.
        found = embed(card, keep, max(200, len(found["description"]) - (embed_size(found) - EMBED_TOTAL)))
    return {"embeds": [found], "allowed_mentions": mentions}


def build(settings: Settings, message: dict, sending: Sending) -> Request:
    """POST to the webhook with ?wait=true, so the answer carries the message and its id."""
    keep = MENTIONS if sending.allow_mentions else None
    url = settings.url.get_secret_value()
    url += ("&" if "?" in url else "?") + "wait=true"
    return Request("POST", url, json=payload(card_of(message, None, sending.allow_mentions), keep, sending.allow_mentions))


def answer(response: requests.Response, duration_ms: float, secrets: list[str]) -> Outcome:
    """The contract's table; a 429's JSON retry_after (seconds, with fractions) counts before the header."""
    status, data = response.status_code, json_of(response)
    kind = kind_of(status)
    if kind == "delivered":
        found = data.get("id")
        return Outcome(kind, status, duration_ms, message_id=str(found) if isinstance(found, (str, int)) else None)
    wait = data.get("retry_after")
    retry_after = (
        float(wait) if isinstance(wait, (int, float)) and not isinstance(wait, bool) and wait >= 0 else parse_retry_after(response.headers.get("Retry-After"))
    )
    return Outcome(kind, status, duration_ms, error_text(response, secrets), retry_after)
