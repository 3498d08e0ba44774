"""The Standard Webhooks signature (standardwebhooks.com), shared by every source whose sender signs that way.

A sender holding a `whsec_<base64>` key signs "{webhook-id}.{webhook-timestamp}.{raw body}" with
HMAC-SHA256 and sends `webhook-signature: v1,<base64>`, possibly several signatures separated by
spaces (while it rotates keys): any valid v1 signature passes, other versions are skipped. The
timestamp must lie within TOLERANCE seconds of now, either way, so a captured delivery cannot be
replayed later. GitLab's signing token uses this scheme.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping

from werkzeug.datastructures import Headers

from bridge.sources.base import Rejected

ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER = "webhook-id", "webhook-timestamp", "webhook-signature"
KEY_PREFIX = "whsec_"
VERSION = "v1"
# Five minutes either way, as the specification and its reference libraries use.
TOLERANCE = 5 * 60


def decode_key(key: str) -> bytes:
    """The HMAC key inside whsec_<base64>; ValueError when it is not one."""
    encoded = key.strip().removeprefix(KEY_PREFIX)
    try:
        secret = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("not a whsec_<base64> key") from None
    if not secret:
        raise ValueError("a whsec_ key with nothing after the prefix")
    return secret


def sign(key: str, msg_id: str, timestamp: int | str, body: bytes) -> str:
    """The webhook-signature value a sender with this key would send: v1,<base64>."""
    return f"{VERSION},{base64.b64encode(_digest(decode_key(key), msg_id, str(timestamp), body)).decode('ascii')}"


def verify(headers: Mapping[str, str] | Headers, body: bytes, key: str, now: float | None = None) -> None:
    """Pass, or raise Rejected(401) naming the header at fault: missing, stale, malformed or not matching."""
    msg_id, stamp, signatures = (headers.get(name) or "" for name in (ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER))
    missing = [name for name, value in ((ID_HEADER, msg_id), (TIMESTAMP_HEADER, stamp), (SIGNATURE_HEADER, signatures)) if not value]
    if missing:
        raise Rejected(401, f"missing {missing[0]} header; the sender signs with Standard Webhooks when its signing token is set")
    _check_time(stamp, time.time() if now is None else now)
    try:
        secret = decode_key(key)
    except ValueError as exc:
        raise Rejected(401, f"this route's signing_secret is {exc}") from None
    expected = _digest(secret, msg_id, stamp, body)
    candidates = [value for version, _, value in (entry.partition(",") for entry in signatures.split()) if version == VERSION]
    if not candidates:
        raise Rejected(401, f"{SIGNATURE_HEADER} holds no {VERSION},<base64> signature")
    malformed = False
    for candidate in candidates:
        try:
            given = base64.b64decode(candidate, validate=True)
        except (binascii.Error, ValueError):
            malformed = True
            continue
        if hmac.compare_digest(given, expected):
            return
    if malformed:
        raise Rejected(401, f"{SIGNATURE_HEADER} holds a signature that is not valid base64")
    raise Rejected(401, f"{SIGNATURE_HEADER} does not match the body; check that the sender and the route share the same signing key")


def _check_time(stamp: str, now: float) -> None:
    """The timestamp is whole seconds since the epoch, within TOLERANCE of now."""
    digits = stamp.strip()
    # ASCII only: int() would read other scripts' digits, which no sender writes.
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 12:
        raise Rejected(401, f"{TIMESTAMP_HEADER} must be whole seconds since 1970, got {stamp[:20]!r}")
    drift = int(stamp) - now
    if drift < -TOLERANCE:
        raise Rejected(401, f"{TIMESTAMP_HEADER} is {round(-drift)} s old, more than {TOLERANCE} s: a late or replayed delivery, or a wrong clock")
    if drift > TOLERANCE:
        raise Rejected(401, f"{TIMESTAMP_HEADER} is {round(drift)} s in the future, more than {TOLERANCE} s: a wrong clock on one side")


def _digest(secret: bytes, msg_id: str, stamp: str, body: bytes) -> bytes:
    """HMAC-SHA256 of "{id}.{timestamp}.{body}"."""
    return hmac.new(secret, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
