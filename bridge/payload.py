"""The one pass payload text takes before any code or template sees it: cleaned, cut, and quieted on request.

prepare() runs on every payload: strings lose terminal escapes, control characters and bidi overrides
and are cut to MAX_TEXT; nulls are dropped, so a missing field and a null one read the same everywhere
(never "None"); lists, depth and keys are bounded. prepare_quieted() also makes the copy templates are
shown unless a route allows mentions, in which mentions and tags are broken; view() hands templates
Records and Items, which print as nothing rather than as a Python repr when a template prints a whole object.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import cast

from bridge.filters import UNSAFE_OR_SIGN, chat, quiet, unsafe

# Longer than any message (Flowdock takes 8096 characters of chat), short enough that a template that
# prints one such string a few times, escaped and JSON-encoded, stays far below the render limit.
MAX_TEXT = 8192
# GitHub sends at most 2048 commits in a push; no list a template reads is longer in real payloads.
MAX_ITEMS = 2048
# Templates read a handful of levels deep; anything deeper is dropped rather than walked.
MAX_DEPTH = 32
CUT_MARK = "…"
# What a thread is rendered from when several huge fields together outgrow the render limit.
SHORT_TEXT, SHORT_ITEMS = 256, 20
# Values that need no walk: numbers and booleans pass through as they are.
SCALARS = frozenset({int, bool})


class Silent:
    """Prints as nothing, so a template that prints a whole payload object or list shows no repr."""

    __slots__ = ()

    def __str__(self) -> str:
        return ""

    __html__ = __str__

    # Hashable, so looking one up in a template's table (where text was expected) finds nothing instead of failing.
    def __hash__(self) -> int:
        return id(self)


class Record(Silent, dict):  # type: ignore[misc]
    """A payload object."""

    __slots__ = ()


class Items(Silent, list):  # type: ignore[misc]
    """A payload list."""

    __slots__ = ()


def cut(text: str, limit: int = MAX_TEXT) -> str:
    """Text no longer than limit, marked where it was cut."""
    return text if len(text) <= limit else text[: limit - len(CUT_MARK)] + CUT_MARK


def clean_text(text: str) -> str:
    """One payload string, cleaned and cut (cut first, so a huge string costs no more than a short one)."""
    if len(text) <= MAX_TEXT and not unsafe(text):
        return text
    return cut(chat(text[: MAX_TEXT * 2]))


def absent(value: object) -> bool:
    """Null, and numbers JSON cannot carry (NaN, infinity): treated as a missing field."""
    return value is None or (type(value) is float and not math.isfinite(value))


def walk(value: object, text: Callable[[str], str], depth: int = 0, done: tuple[type, ...] = (), length: int = MAX_ITEMS) -> object:
    """A copy of value with text() applied to every string and key, nulls dropped, and lists cut to length."""
    if isinstance(value, str):
        return text(value)
    if done and isinstance(value, done):
        return value
    if isinstance(value, dict):
        record = Record()
        if depth < MAX_DEPTH:
            for key, item in value.items():
                if not absent(item):
                    record[text(str(key))] = item if type(item) in SCALARS else walk(item, text, depth + 1, done, length)
        return record
    if isinstance(value, (list, tuple)):
        items = Items()
        if depth < MAX_DEPTH:
            for item in value[:length]:
                if not absent(item):
                    items.append(item if type(item) in SCALARS else walk(item, text, depth + 1, done, length))
        return items
    return value


def prepare(payload: dict) -> Record:
    """The payload every part of hookdock reads: clean text, no nulls, bounded sizes."""
    return cast(Record, walk(payload, clean_text))


def prepare_quieted(payload: dict) -> tuple[Record, Record]:
    """prepare(payload), and a copy of that in which no string can ping anyone or add a tag, in one walk; the two share what quieting leaves alone."""
    # Two walks cost the worker a tenth of a message's CPU.
    return cast(tuple[Record, Record], _both(payload, 0))


def _both(value: object, depth: int) -> tuple[object, object]:
    """value prepared, and that quieted: the very same object wherever quieting changes nothing."""
    if isinstance(value, str):
        return _text_both(value)
    if isinstance(value, dict):
        # The quieted copy is made only from its first difference on: most records have none.
        record, quiet_record = Record(), None
        if depth < MAX_DEPTH:
            for key, item in value.items():
                if not absent(item):
                    clean_key, shown_key = _text_both(str(key))
                    clean, shown = (item, item) if type(item) in SCALARS else _both(item, depth + 1)
                    if quiet_record is None and (shown_key is not clean_key or shown is not clean):
                        quiet_record = Record(record)
                    record[clean_key] = clean
                    if quiet_record is not None:
                        quiet_record[shown_key] = shown
        return record, record if quiet_record is None else quiet_record
    if isinstance(value, (list, tuple)):
        items, quiet_items = Items(), None
        if depth < MAX_DEPTH:
            for item in value[:MAX_ITEMS]:
                if not absent(item):
                    clean, shown = (item, item) if type(item) in SCALARS else _both(item, depth + 1)
                    if quiet_items is None and shown is not clean:
                        quiet_items = Items(items)
                    items.append(clean)
                    if quiet_items is not None:
                        quiet_items.append(shown)
        return items, items if quiet_items is None else quiet_items
    return value, value


def _text_both(text: str) -> tuple[str, str]:
    """One string cleaned, and that quieted: the very same string when quieting changes nothing."""
    if len(text) <= MAX_TEXT and UNSAFE_OR_SIGN.search(text) is None:
        return text, text
    clean = clean_text(text)
    shown = quiet(clean)
    return clean, clean if shown == clean else shown


def shortened(context: dict) -> Record:
    """The context with every string and list cut short: for a thread that several huge fields made too long."""
    return cast(Record, walk(context, lambda text: cut(text, SHORT_TEXT), length=SHORT_ITEMS))


def view(context: dict) -> Record:
    """A template context of Records and Items, without nulls (what Python derived is wrapped too)."""
    return cast(Record, walk(context, lambda text: text, done=(Record, Items)))
