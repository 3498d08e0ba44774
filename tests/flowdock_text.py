"""What Flowdock's own parser (flowdock-text) would read as a mention or a tag: the oracle the tests check against.

Written from the rules of flowdock/flowdock-text (flowdock-text.js): a user mention or tag is "@" or "#"
(or a full-width sign), after the start of the text or any character that is not a letter, digit, "_", "&"
or "/", followed by a name of letters, digits and "_" holding at least one non-digit, and not followed by
another sign or "://". Its older mention rule, "@" after anything but a letter, digit or one of _!#$%&*@,
is checked too, except after "/" (the live rule reads none there, and URLs such as npm's /@scope/name
hold one). Both are over-approximated where the JavaScript is ambiguous, so the oracle errs towards
finding a mention.
"""

from __future__ import annotations

import re

LATIN_ACCENTS = "\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u00ff\u0130\u0131\u015f\u00bf"
NON_LATIN = (
    "\u0400-\u0527\u2de0-\u2dff\ua640-\ua69f\u1100-\u11ff\u3130-\u3185\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff\uffa1-\uffdc"
    "\u30a1-\u30fa\u30fc-\u30fe\uff66-\uff9f\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\u3041-\u3096\u3099-\u309e\u3400-\u4dbf"
    "\u4e00-\u9fff\U0002a700-\U0002b73f\U0002b740-\U0002b81f\U0002f800-\U0002fa1f\u3003\u3005\u303b"
)
ALPHA = f"[a-z_{LATIN_ACCENTS}{NON_LATIN}]"
ALNUM = f"[a-z0-9_{LATIN_ACCENTS}{NON_LATIN}]"
BOUNDARY = f"(?:^|(?<=[^&/a-z0-9_{LATIN_ACCENTS}{NON_LATIN}]))"
TAG = re.compile(f"{BOUNDARY}([@#\uff03\uff20])({ALNUM}*{ALPHA}{ALNUM}*)", re.IGNORECASE)
OLD_MENTION = re.compile(r"(?:^|(?<=[^a-zA-Z0-9_!#$%&*@\uff20/]))([@\uff20])([a-zA-Z0-9_]{1,20})")
NOT_AFTER = re.compile(r"[#\uff03]|://")


def mentions(text: str) -> list[str]:
    """Every mention or tag Flowdock would read in text, as '@name' or '#name'."""
    found = []
    for pattern in (TAG, OLD_MENTION):
        for match in pattern.finditer(text):
            if not NOT_AFTER.match(text, match.end()):
                found.append(match.group(1) + match.group(2))
    return found
