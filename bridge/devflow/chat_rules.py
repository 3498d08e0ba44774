"""Each chat's documented rules for what hookdock sends it, as devflow checks them: required fields and size limits.

Every check returns the problems it found as "path: what is wrong" (none when the request is good).
Limits and their sources:
- Slack, https://api.slack.com/reference/block-kit/blocks: at most 50 blocks; a section's text at most
  3000 characters, its fields at most 10 of 2000; a header's text 150; an actions block at most 25
  elements; https://api.slack.com/reference/block-kit/block-elements#button: button text 75, url 3000;
  https://api.slack.com/methods/chat.postMessage: text, blocks or attachments required ("no_text"),
  text truncated past 40000 characters.
- Mattermost, https://developers.mattermost.com/integrate/webhooks/incoming/: text or attachments
  required; a post's message at most 16383 characters.
- Microsoft Teams, https://learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/add-incoming-webhook:
  "The message size limit is 28 KB"; the Workflows webhook takes {"type": "message", "attachments":
  [{"contentType": "application/vnd.microsoft.card.adaptive", "content": <AdaptiveCard>}]}.
- Discord, https://discord.com/developers/docs/resources/webhook#execute-webhook: one of content,
  embeds (or files, components) required; content at most 2000 characters, at most 10 embeds;
  https://discord.com/developers/docs/resources/message#embed-object-embed-limits: title 256,
  description 4096, at most 25 fields of name 256 and value 1024, footer 2048, author name 256, and
  6000 characters in all embeds together; allowed_mentions.parse of users, roles, everyone.
- Matrix, https://spec.matrix.org/v1.9/client-server-api/#size-limits: an event at most 65536 bytes;
  https://spec.matrix.org/v1.9/client-server-api/#mroommessage: msgtype and body required.
- Zulip, https://zulip.com/api/send-message: type, to and (for a stream) topic required; topic at
  most 60 characters, content at most 10000 (max_topic_length, max_message_length).
"""

from __future__ import annotations

import json
from collections.abc import Callable

SLACK_BLOCKS, SLACK_SECTION, SLACK_FIELDS, SLACK_FIELD, SLACK_HEADER, SLACK_ELEMENTS, SLACK_BUTTON, SLACK_URL, SLACK_TEXT = (
    50,
    3000,
    10,
    2000,
    150,
    25,
    75,
    3000,
    40000,
)
MATTERMOST_MESSAGE = 16383
TEAMS_BYTES = 28 * 1024
ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
DISCORD_CONTENT, DISCORD_EMBEDS, DISCORD_TOTAL = 2000, 10, 6000
DISCORD_EMBED = {"title": 256, "description": 4096}
DISCORD_FIELDS, DISCORD_FIELD_NAME, DISCORD_FIELD_VALUE, DISCORD_FOOTER, DISCORD_AUTHOR = 25, 256, 1024, 2048, 256
DISCORD_PARSE = {"users", "roles", "everyone"}
MATRIX_EVENT_BYTES = 65536
ZULIP_TOPIC, ZULIP_CONTENT = 60, 10000


def _too_long(problems: list[str], path: str, value: object, limit: int) -> None:
    if isinstance(value, str) and len(value) > limit:
        problems.append(f"{path}: {len(value)} characters, more than {limit}")


def _text_object(problems: list[str], path: str, value: object, limit: int) -> None:
    if not (isinstance(value, dict) and value.get("type") in ("mrkdwn", "plain_text") and isinstance(value.get("text"), str) and value["text"]):
        problems.append(f"{path}: must be a text object with type mrkdwn or plain_text and a non-empty text")
        return
    _too_long(problems, f"{path}.text", value["text"], limit)


def _slack_section(problems: list[str], path: str, block: dict) -> None:
    if "text" not in block and "fields" not in block:
        problems.append(f"{path}: a section needs text or fields")
    if "text" in block:
        _text_object(problems, f"{path}.text", block["text"], SLACK_SECTION)
    fields = block.get("fields", [])
    if not isinstance(fields, list) or len(fields) > SLACK_FIELDS:
        problems.append(f"{path}.fields: at most {SLACK_FIELDS} text objects")
        return
    for i, field in enumerate(fields):
        _text_object(problems, f"{path}.fields[{i}]", field, SLACK_FIELD)


def _slack_actions(problems: list[str], path: str, block: dict) -> None:
    elements = block.get("elements")
    if not isinstance(elements, list) or not 1 <= len(elements) <= SLACK_ELEMENTS:
        problems.append(f"{path}.elements: 1 to {SLACK_ELEMENTS} elements")
        return
    for i, button in enumerate(elements):
        where = f"{path}.elements[{i}]"
        if not isinstance(button, dict) or button.get("type") != "button":
            problems.append(f"{where}: hookdock sends buttons only")
            continue
        text = button.get("text")
        if not (isinstance(text, dict) and text.get("type") == "plain_text"):
            problems.append(f"{where}.text: a button's text must be plain_text")
        else:
            _text_object(problems, f"{where}.text", text, SLACK_BUTTON)
        _too_long(problems, f"{where}.url", button.get("url"), SLACK_URL)


def _slack_context(problems: list[str], path: str, block: dict) -> None:
    elements = block.get("elements")
    if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
        problems.append(f"{path}.elements: 1 to 10 elements")
        return
    for i, element in enumerate(elements):
        _text_object(problems, f"{path}.elements[{i}]", element, SLACK_SECTION)


SLACK_BLOCK_CHECKS: dict[str, Callable[[list[str], str, dict], None]] = {
    "section": _slack_section,
    "actions": _slack_actions,
    "context": _slack_context,
    "header": lambda problems, path, block: _text_object(problems, f"{path}.text", block.get("text"), SLACK_HEADER),
    "divider": lambda problems, path, block: None,
}


def _slack_blocks(problems: list[str], path: str, blocks: object) -> None:
    if not isinstance(blocks, list) or len(blocks) > SLACK_BLOCKS:
        problems.append(f"{path}: a list of at most {SLACK_BLOCKS} blocks")
        return
    for i, block in enumerate(blocks):
        check = SLACK_BLOCK_CHECKS.get(block.get("type") if isinstance(block, dict) else None)
        if check is None:
            problems.append(f"{path}[{i}]: unknown block type")
        else:
            check(problems, f"{path}[{i}]", block)


def slack(body: dict) -> list[str]:
    """A Slack message: incoming webhook, chat.postMessage or chat.update."""
    problems: list[str] = []
    if not any(body.get(key) for key in ("text", "blocks", "attachments")):
        return ["no_text: text, blocks or attachments is required"]
    _too_long(problems, "text", body.get("text"), SLACK_TEXT)
    if "blocks" in body:
        _slack_blocks(problems, "blocks", body["blocks"])
    attachments = body.get("attachments", [])
    if not isinstance(attachments, list):
        return problems + ["attachments: must be a list"]
    for i, attachment in enumerate(attachments):
        if isinstance(attachment, dict) and "blocks" in attachment:
            _slack_blocks(problems, f"attachments[{i}].blocks", attachment["blocks"])
    return problems


def mattermost(body: dict) -> list[str]:
    """A Mattermost incoming-webhook body ({"text", "attachments"}) or an API post ({"message", "props"})."""
    text = body.get("text", body.get("message"))
    attachments = body.get("attachments", (body.get("props") or {}).get("attachments"))
    if not text and not attachments:
        return ["text: text or attachments is required"]
    problems: list[str] = []
    _too_long(problems, "text", text, MATTERMOST_MESSAGE)
    if attachments is not None and not (isinstance(attachments, list) and all(isinstance(a, dict) for a in attachments)):
        problems.append("attachments: must be a list of objects")
    for i, attachment in enumerate(attachments or []):
        for j, field in enumerate(attachment.get("fields") or [] if isinstance(attachment, dict) else []):
            if not (isinstance(field, dict) and isinstance(field.get("title"), str) and isinstance(field.get("value"), str)):
                problems.append(f"attachments[{i}].fields[{j}]: title and value must be strings")
    return problems


def teams(body: dict, raw_size: int) -> list[str]:
    """A Workflows webhook message carrying Adaptive Cards."""
    problems: list[str] = []
    if raw_size > TEAMS_BYTES:
        problems.append(f"body: {raw_size} bytes, more than {TEAMS_BYTES} (28 KB)")
    if body.get("type") != "message":
        problems.append("type: must be message")
    attachments = body.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        return problems + ["attachments: at least one card is required"]
    for i, attachment in enumerate(attachments):
        content = attachment.get("content") if isinstance(attachment, dict) else None
        if not isinstance(attachment, dict) or attachment.get("contentType") != ADAPTIVE_CARD:
            problems.append(f"attachments[{i}].contentType: must be {ADAPTIVE_CARD}")
        if not (isinstance(content, dict) and content.get("type") == "AdaptiveCard" and isinstance(content.get("version"), str)):
            problems.append(f"attachments[{i}].content: must be an AdaptiveCard with a version")
            continue
        blocks = content.get("body")
        if not isinstance(blocks, list) or not all(isinstance(b, dict) and isinstance(b.get("type"), str) for b in blocks):
            problems.append(f"attachments[{i}].content.body: must be a list of elements with a type")
    return problems


def _discord_embed(problems: list[str], path: str, embed: dict) -> int:
    for key, limit in DISCORD_EMBED.items():
        _too_long(problems, f"{path}.{key}", embed.get(key), limit)
    footer, author = embed.get("footer") or {}, embed.get("author") or {}
    _too_long(problems, f"{path}.footer.text", footer.get("text"), DISCORD_FOOTER)
    _too_long(problems, f"{path}.author.name", author.get("name"), DISCORD_AUTHOR)
    fields = embed.get("fields") or []
    if len(fields) > DISCORD_FIELDS:
        problems.append(f"{path}.fields: at most {DISCORD_FIELDS}")
    total = sum(len(str(x or "")) for x in (embed.get("title"), embed.get("description"), footer.get("text"), author.get("name")))
    for j, field in enumerate(fields):
        if not (isinstance(field, dict) and isinstance(field.get("name"), str) and field["name"] and isinstance(field.get("value"), str) and field["value"]):
            problems.append(f"{path}.fields[{j}]: name and value are required")
            continue
        _too_long(problems, f"{path}.fields[{j}].name", field["name"], DISCORD_FIELD_NAME)
        _too_long(problems, f"{path}.fields[{j}].value", field["value"], DISCORD_FIELD_VALUE)
        total += len(field["name"]) + len(field["value"])
    return total


def discord(body: dict) -> list[str]:
    """An execute-webhook body."""
    if not body.get("content") and not body.get("embeds"):
        return ["50006: Cannot send an empty message"]
    problems: list[str] = []
    _too_long(problems, "content", body.get("content"), DISCORD_CONTENT)
    embeds = body.get("embeds") or []
    if not isinstance(embeds, list) or len(embeds) > DISCORD_EMBEDS or not all(isinstance(e, dict) for e in embeds):
        return problems + [f"embeds: a list of at most {DISCORD_EMBEDS} objects"]
    total = sum(_discord_embed(problems, f"embeds[{i}]", embed) for i, embed in enumerate(embeds))
    if total > DISCORD_TOTAL:
        problems.append(f"embeds: {total} characters in all, more than {DISCORD_TOTAL}")
    mentions = body.get("allowed_mentions")
    if mentions is not None and not (isinstance(mentions, dict) and set(mentions.get("parse", [])) <= DISCORD_PARSE):
        problems.append("allowed_mentions.parse: only users, roles and everyone")
    return problems


def matrix(body: dict) -> list[str]:
    """The content of an m.room.message event."""
    problems = [f"{key}: is required (a string)" for key in ("msgtype", "body") if not isinstance(body.get(key), str)]
    if "formatted_body" in body and body.get("format") != "org.matrix.custom.html":
        problems.append("format: must be org.matrix.custom.html with a formatted_body")
    size = len(json.dumps(body, ensure_ascii=False).encode())
    if size > MATRIX_EVENT_BYTES:
        problems.append(f"M_TOO_LARGE: {size} bytes, more than {MATRIX_EVENT_BYTES}")
    return problems


def zulip(form: dict) -> list[str]:
    """A send-message request's parameters."""
    problems = []
    if form.get("type") not in ("stream", "channel"):
        problems.append("type: hookdock sends stream messages")
    for key in ("to", "topic", "content"):
        if not (form.get(key) or "").strip():
            problems.append(f"{key}: is required")
    if len(form.get("topic") or "") > ZULIP_TOPIC:
        problems.append(f"topic: more than {ZULIP_TOPIC} characters")
    if len(form.get("content") or "") > ZULIP_CONTENT:
        problems.append(f"content: more than {ZULIP_CONTENT} characters")
    return problems
