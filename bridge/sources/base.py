"""What every source module shares: refusals, decisions and body parsing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import orjson
from werkzeug.datastructures import Headers

# Real payloads nest about ten levels deep (GitHub's deepest example: 7); templates and the worker walk
# payloads recursively and fail somewhere past 600, so a body nested deeper than this is refused at the door.
MAX_DEPTH = 100
TOO_DEEP = f"body nests objects and lists more than {MAX_DEPTH} levels deep"
# orjson reads an integer past 64 bits as a float where json keeps it exact; such an integer has 19 digits or more.
DIGITS_TO_ZERO = bytes(48 if 48 <= i <= 57 else 32 for i in range(256))
LONG_RUN = b"0" * 19


class Rejected(Exception):
    """A webhook that must be refused with an HTTP status and a reason."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Inbound:
    """One webhook as it arrived: headers, the raw body, and the URL's query parameters."""

    # werkzeug's Headers in the web (case-insensitive); a plain dict in tests and the worker.
    headers: Mapping[str, str] | Headers
    body: bytes
    query: Mapping[str, str] = field(default_factory=dict)


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
    # True when another event told this already (a build's result): a thread that still shows it hears nothing.
    repeat: bool = False


def body_digest(raw: bytes) -> str:
    """A stable id for senders that give none: the body's SHA-256."""
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def required_header(headers: Mapping[str, str] | Headers, name: str) -> str:
    """A header's value, stripped; 400 when it is missing or blank (the header that names a sender's event)."""
    value = headers.get(name, "").strip()
    if not value:
        raise Rejected(400, f"missing {name} header")
    return value


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
        payload = loads(text)
    except RecursionError:
        raise Rejected(400, TOO_DEEP) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise Rejected(400, f"body is not valid JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise Rejected(400, "body must be a JSON object")
    # No value nests deeper than the body has opening brackets: most bodies need no walk (the bench push has 63).
    opening = text.count("{") + text.count("[") if isinstance(text, str) else text.count(b"{") + text.count(b"[")
    if opening > MAX_DEPTH and nesting_depth(payload) > MAX_DEPTH:
        raise Rejected(400, TOO_DEEP)
    return payload


def loads(text: str | bytes):
    """JSON exactly as json.loads reads it; orjson parses the usual body, about three times faster, on every webhook and every task."""
    if isinstance(text, bytes) and LONG_RUN not in text.translate(DIGITS_TO_ZERO):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass  # json accepts more (NaN, lone surrogates, UTF-16, a BOM) and words the refusal
    return json.loads(text)


def nesting_depth(value, stop_after: int = MAX_DEPTH) -> int:
    """How deeply objects and lists nest in a parsed JSON value (1 for a flat object), counted without recursion.

    Counting stops once it passes stop_after: that is all a caller needs to know.
    """
    if type(value) is not dict and type(value) is not list:
        return 0
    deepest, pending = 0, [(value, 1)]
    # On every webhook's path: only containers are queued, and loads() makes exact dicts and lists.
    while pending:
        item, depth = pending.pop()
        if depth > deepest:
            deepest = depth
            if deepest > stop_after:
                break
        for child in item.values() if type(item) is dict else item:
            if type(child) is dict or type(child) is list:
                pending.append((child, depth + 1))
    return deepest
