"""What Flowdock requires of a rendered activity: text where it takes text, whatever a template printed.

A template that prints a payload value with tojson passes its type through: a login that arrived as
a number becomes a JSON number, an object stays an object. Flowdock refuses both in a text field, so
numbers and booleans become their text and anything else that is not text is dropped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

# Longer thread ids (a branch name of thousands of characters) keep their start and a digest of the whole.
MAX_THREAD_ID = 256


def thread_id(value: str) -> str:
    """A stable external_thread_id of bounded length: the same item always gets the same one."""
    if len(value) <= MAX_THREAD_ID:
        return value
    return value[: MAX_THREAD_ID - 17] + ":" + hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:16]


# The text fields of an activity and of its thread, as key paths: those people read, and the rest.
PROSE_PATHS = (("title",), ("body",), ("author", "name"), ("thread", "title"), ("thread", "body"), ("thread", "status", "value"))
TEXT_PATHS = (*PROSE_PATHS, ("author", "avatar"), ("author", "email"), ("thread", "external_url"), ("thread", "status", "color"))


def as_text(value: object) -> str | None:
    """Text as it is; a number or a boolean as its text; None for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return None


def conform(activity: dict, blank: Callable[[str], str], prose: Callable[[str], str] = str) -> dict:
    """A copy of activity whose text fields hold text, whose fields are label/value texts, with an author and a thread title.

    blank(what) gives the text for a required field ("author" or "title") that the template left blank;
    prose(text) is applied to every text people read (titles, bodies, names, statuses and fields).
    """
    activity = _copy(activity)
    for path in TEXT_PATHS:
        *parents, last = path
        holder = activity
        for key in parents:
            holder = holder.get(key) if isinstance(holder, dict) else None
        if isinstance(holder, dict) and last in holder:
            text = as_text(holder[last])
            if text is None:
                del holder[last]
            else:
                holder[last] = prose(text) if path in PROSE_PATHS else text
    author = activity.get("author")
    if isinstance(author, dict) and not str(author.get("name") or "").strip():
        # Flowdock refuses an activity whose author has no name.
        author["name"] = blank("author")
    thread = activity.get("thread")
    if isinstance(thread, dict):
        status = thread.get("status")
        if isinstance(status, dict) and not (str(status.get("value") or "").strip() and status.get("color")):
            del thread["status"]  # a status needs both a text and a colour; none is better than a refused post
        if isinstance(thread.get("fields"), list):
            fields = (_field(field, prose) for field in thread["fields"])
            thread["fields"] = [field for field in fields if field is not None]
        if not str(thread.get("title") or "").strip():
            # Flowdock refuses a thread without a title; payload text may have left it blank.
            thread["title"] = blank("title")
    return activity


def _field(field: object, prose: Callable[[str], str]) -> dict | None:
    """A thread field as label and value texts, or None when it has no text to show."""
    if not isinstance(field, dict):
        return None
    label, value = as_text(field.get("label")), as_text(field.get("value"))
    return {"label": prose(label), "value": prose(value)} if label and value else None


def _copy(value: object) -> object:
    """A deep copy of parsed JSON."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value
