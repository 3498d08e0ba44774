"""Validation of message bodies and listing parameters, answering like Flowdock's Rails API."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import urlsplit

EVENTS = ("message", "status", "comment", "activity", "discussion", "file")
THREAD_EVENTS = ("activity", "discussion")
COLORS = ("red", "green", "yellow", "cyan", "orange", "grey", "black", "lime", "purple", "blue")
MAX_CONTENT = 8096
MAX_LIMIT = 100
BLANK = "can't be blank"
NOT_STRING = "must be a string"
NOT_LISTED = "is not included in the list"


class Errors(dict):
    """Problems by field name; every field collects all of its problems."""

    def add(self, name: str, problem: str) -> None:
        """Record one problem for a field."""
        self.setdefault(name, []).append(problem)


def text(errors: Errors, data: dict, key: str, *, name: str | None = None, required: bool = False, max_len: int | None = None) -> str | None:
    """Return data[key] if it is a non-blank string; otherwise record why not."""
    name = name or key
    value = data.get(key)
    if value is None:
        if required:
            errors.add(name, BLANK)
        return None
    if not isinstance(value, str):
        errors.add(name, NOT_STRING)
        return None
    if not value.strip():
        # An explicitly blank optional field is a mistake worth reporting, not an omission.
        errors.add(name, BLANK)
        return None
    if max_len is not None and len(value) > max_len:
        errors.add(name, f"is too long (maximum is {max_len} characters)")
    return value


def split_tags(errors: Errors, value: object, name: str = "tags") -> list[str]:
    """Accept a list of strings or one comma-separated string; return the trimmed tags."""
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        errors.add(name, "must be a list of strings or a comma-separated string")
        return []
    return [t.strip() for t in value if t.strip()]


def _url(errors: Errors, data: dict, key: str, name: str) -> str | None:
    value = text(errors, data, key, name=name)
    if value is not None:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            errors.add(name, "is not a valid http(s) URL")
            return None
    return value


def _status(errors: Errors, raw: object) -> dict | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        errors.add("thread.status", "must be an object")
        return None
    value = text(errors, raw, "value", name="thread.status.value", required=True)
    color = raw.get("color")
    if color is None:
        errors.add("thread.status.color", BLANK)
    elif color not in COLORS:
        errors.add("thread.status.color", NOT_LISTED)
    return {"value": value, "color": color}


def _fields(errors: Errors, raw: object) -> list:
    if raw is None:
        return []
    ok = isinstance(raw, list) and all(isinstance(f, dict) and isinstance(f.get("label"), str) and isinstance(f.get("value"), str) for f in raw)
    if not ok:
        errors.add("thread.fields", "must be a list of objects with string label and value")
        return []
    return [{"label": f["label"], "value": f["value"]} for f in raw]


def _actions(errors: Errors, raw: object) -> list:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(a, dict) for a in raw):
        errors.add("thread.actions", "must be a list of objects")
        return []
    return raw


def thread_state(errors: Errors, raw: object) -> dict | None:
    """Validate the `thread` object: the item's full current state."""
    if raw is None:
        return None
    if not isinstance(raw, dict):
        errors.add("thread", "must be an object")
        return None
    return {
        "title": text(errors, raw, "title", name="thread.title", required=True),
        "body": text(errors, raw, "body", name="thread.body") if raw.get("body") != "" else "",
        "external_url": _url(errors, raw, "external_url", "thread.external_url"),
        "status": _status(errors, raw.get("status")),
        "fields": _fields(errors, raw.get("fields")),
        "actions": _actions(errors, raw.get("actions")),
    }


def _text_event(errors: Errors, body: dict) -> dict:
    return {"content": text(errors, body, "content", required=True, max_len=MAX_CONTENT)}


def _file_event(errors: Errors, body: dict) -> dict:
    content = body.get("content")
    if not isinstance(content, dict):
        errors.add("content", BLANK if content is None else "must be an object with data and file_name")
        return {}
    name = text(errors, content, "file_name", name="content.file_name", required=True)
    data = text(errors, content, "data", name="content.data", required=True)
    try:
        size = len(base64.b64decode(data or "", validate=False))
    except (binascii.Error, ValueError):
        errors.add("content.data", "is not valid base64")
        size = None
    return {"content": {"file_name": name, "content_type": content.get("content_type"), "file_size": size}}


def _item_event(errors: Errors, body: dict) -> dict:
    author = body.get("author")
    if author is not None and not isinstance(author, dict):
        errors.add("author", "must be an object")
        author = None
    author = author or {}
    checked = {
        "name": text(errors, author, "name", name="author.name", required=True),
        "avatar": text(errors, author, "avatar", name="author.avatar"),
        "email": text(errors, author, "email", name="author.email"),
    }
    return {
        "title": text(errors, body, "title", required=True),
        "body": text(errors, body, "body") if body.get("body") != "" else "",
        "author": {k: v for k, v in checked.items() if v is not None},
        "content": body.get("content") if isinstance(body.get("content"), str) else None,
    }


EVENT_CHECKS = {"message": _text_event, "status": _text_event, "comment": _text_event, "file": _file_event, "activity": _item_event, "discussion": _item_event}


def _parent_id(errors: Errors, value: object) -> int | None:
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    errors.add("message", BLANK if value is None else "must be a message id")
    return None


def validate_message(body: dict, *, in_thread: bool = False, comment_path: bool = False) -> tuple[dict, Errors]:
    """Check a message body; return the normalised draft and the problems found."""
    errors = Errors()
    event = body.get("event")
    if event is None or event == "":
        errors.add("event", BLANK)
    elif event not in EVENTS:
        errors.add("event", NOT_LISTED)
    elif comment_path and event != "comment":
        errors.add("event", "must be comment on a comments URL")
    draft = {
        "event": event,
        "tags": split_tags(errors, body.get("tags")),
        "uuid": text(errors, body, "uuid"),
        "external_user_name": text(errors, body, "external_user_name"),
        "thread_id": text(errors, body, "thread_id"),
        "external_thread_id": text(errors, body, "external_thread_id"),
        "thread": thread_state(errors, body.get("thread")),
    }
    if event in EVENT_CHECKS:
        draft.update(EVENT_CHECKS[event](errors, body))
    if event == "comment" and not comment_path:
        draft["parent_id"] = _parent_id(errors, body.get("message"))
    linked = in_thread or draft["thread_id"] or draft["external_thread_id"]
    if event in THREAD_EVENTS and not linked and "external_thread_id" not in errors:
        errors.add("external_thread_id", BLANK)
    return draft, errors


def _int_param(errors: Errors, args, key: str, low: int, high: int | None, default: int | None) -> int | None:
    raw = args.get(key)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < low or (high is not None and int(raw) > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        errors.add(key, f"must be an integer {bound}")
        return default
    return int(raw)


def listing_params(args) -> tuple[dict, Errors]:
    """Check the query of a message listing; return the parameters and the problems."""
    errors = Errors()
    sort = args.get("sort") or "desc"
    if sort not in ("asc", "desc"):
        errors.add("sort", NOT_LISTED)
    tag_mode = args.get("tag_mode") or "and"
    if tag_mode not in ("and", "or"):
        errors.add("tag_mode", NOT_LISTED)
    events = [e.strip() for e in (args.get("event") or "").split(",") if e.strip()]
    params = {
        "limit": _int_param(errors, args, "limit", 1, MAX_LIMIT, 30),
        "since_id": _int_param(errors, args, "since_id", 0, None, None),
        "until_id": _int_param(errors, args, "until_id", 0, None, None),
        "sort": sort,
        "tag_mode": tag_mode,
        "events": events,
        "tags": split_tags(errors, args.get("tags")),
        "search": (args.get("search") or "").lower().split(),
    }
    return params, errors
