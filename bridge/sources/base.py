"""What every source module shares: refusals, decisions and body parsing."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from urllib.parse import parse_qs


class Rejected(Exception):
    """A webhook that must be refused with an HTTP status and a reason."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Decision:
    """What to do with an event: render `template` (into `thread` where targets thread), or ignore it for `reason`."""

    template: str | None
    reason: str = ""
    thread: str | None = None
    # Known and renderable, but noise by default: shown only when a route asks for it by name.
    hidden: bool = False
    # False for routine progress: it updates the item's thread but posts nothing in chat.
    chat: bool = True


def body_digest(raw: bytes) -> str:
    """A stable id for senders that give none: the body's SHA-256."""
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def parse_json_body(content_type: str, raw: bytes, form_field: str | None = None) -> dict:
    """Parse a JSON body, or a form body whose `form_field` holds JSON; 400/415 otherwise."""
    mimetype = content_type.split(";")[0].strip().lower()
    if mimetype == "application/json":
        text = raw
    elif mimetype == "application/x-www-form-urlencoded" and form_field:
        values = parse_qs(raw.decode("utf-8", "replace")).get(form_field)
        if not values:
            raise Rejected(400, f"form body has no {form_field}= field")
        text = values[0]
    else:
        accepted = "application/json" + (" or application/x-www-form-urlencoded" if form_field else "")
        raise Rejected(415, f"unsupported content type {mimetype or '(none)'!r}; send {accepted}")
    try:
        payload = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise Rejected(400, f"body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise Rejected(400, "body must be a JSON object")
    return payload
