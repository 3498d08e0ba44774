"""Small authentication pieces the sources share: constant-time compares, tokens in a header or the URL, body HMACs.

Each returns quietly or raises Rejected(401, why); the why names what to fix and never quotes a credential.
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

# How far a signed timestamp may be from our clock, either way (Buildkite's documented replay window).
WINDOW_SECONDS = 300


def same(given: str, expected: str) -> bool:
    """True when two texts are equal, compared in constant time (non-ASCII input compares as unequal bytes, never raises)."""
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8", "replace"))


def hmac_hex(secret: str, message: bytes) -> str:
    """The hex HMAC-SHA256 of message under secret."""
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def require(credentials: Mapping[str, str], key: str, source: str) -> str:
    """The route's credential under key; fail closed when the route has none."""
    value = credentials.get(key, "")
    if not value.strip():
        raise Rejected(401, f"this route has no {key}, so it accepts no {source} deliveries")
    return value


def bearer_or_query_token(headers: Mapping[str, str] | Headers, query: Mapping[str, str], secret: str, source: str) -> None:
    """The secret as `Authorization: Bearer <secret>` or as `?token=<secret>`; either may be used, a wrong one refuses."""
    scheme, _, given = headers.get("Authorization", "").strip().partition(" ")
    offered = [value for value in (given.strip() if scheme.lower() == "bearer" else "", query.get("token", "")) if value]
    if not offered:
        raise Rejected(401, f"missing token; give {source} the URL ending in ?token=<the route's secret>, or send Authorization: Bearer <secret>")
    # Every offered token must match: a right one beside a wrong one is someone guessing.
    if not all(same(value, secret) for value in offered):
        raise Rejected(401, "the token in ?token= or Authorization: Bearer does not match the route's secret")


def authorization_secret(headers: Mapping[str, str] | Headers, secret: str, source: str) -> None:
    """The secret as `Authorization: Bearer <secret>`, or as the password of HTTP Basic (the user name is not checked)."""
    scheme, _, given = headers.get("Authorization", "").strip().partition(" ")
    scheme, given = scheme.lower(), given.strip()
    if scheme == "basic" and given:
        try:
            _, colon, given = base64.b64decode(given, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, ValueError):
            raise Rejected(401, "Authorization: Basic does not hold base64 of user:password") from None
        if not colon:
            raise Rejected(401, "Authorization: Basic does not hold base64 of user:password")
    elif scheme != "bearer" or not given:
        raise Rejected(401, f"missing credentials; set {source} to send Authorization: Bearer <the route's secret>, or basic auth with it as the password")
    if not same(given, secret):
        raise Rejected(401, "the credentials do not match the route's secret")


def body_hmac(signature: str, secret: str, body: bytes, header: str) -> None:
    """signature is the hex HMAC-SHA256 of body under secret."""
    if not same(signature.strip().lower(), hmac_hex(secret, body)):
        raise Rejected(401, f"{header} does not match the body; check that the sender and the route share the same secret")


def recent(sent: float, header: str, now: float | None = None) -> None:
    """sent (Unix seconds, from header) is within WINDOW_SECONDS of now: an older delivery may be a replay."""
    skew = abs((time.time() if now is None else now) - sent)
    if skew > WINDOW_SECONDS:
        raise Rejected(401, f"{header} is {int(skew)} s away from this server's clock (at most {WINDOW_SECONDS} s); a replay, or a clock to fix")


def timestamped_hmac(timestamp: str, signature: str, secret: str, body: bytes, header: str, now: float | None = None) -> None:
    """signature is the hex HMAC-SHA256 of "<timestamp>.<body>", and timestamp is within WINDOW_SECONDS of now."""
    try:
        sent = int(timestamp)
    except ValueError:
        raise Rejected(401, f"{header} has a timestamp that is not a whole number of seconds") from None
    recent(sent, header, now)
    body_hmac(signature, secret, timestamp.encode("ascii") + b"." + body, header)


def parameters(header_value: str) -> dict[str, str]:
    """'a=1,b=2' -> {'a': '1', 'b': '2'}: the comma-separated key=value lists signature headers use (first value of a key wins)."""
    found: dict[str, str] = {}
    for part in header_value.split(","):
        key, sep, value = part.strip().partition("=")
        if sep and key and key not in found:
            found[key] = value
    return found
