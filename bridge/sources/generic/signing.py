"""The generic HMAC scheme: `<prefix><digest>` in a named header, the HMAC-SHA256 of the raw body, hex or base64."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping

from werkzeug.datastructures import Headers

from bridge.sources.base import Rejected
from bridge.sources.generic.settings import Signature


def check_signature(signature: Signature, headers: Mapping[str, str] | Headers, body: bytes, secret: str) -> None:
    """Pass, or Rejected(401) naming the header and what is wrong with it; never quotes the secret or the digest."""
    given = (headers.get(signature.header) or "").strip()
    if not given:
        raise Rejected(401, f"missing {signature.header} header; this route checks an HMAC signature there (generic.auth: hmac)")
    if signature.prefix and not given.startswith(signature.prefix):
        raise Rejected(401, f"{signature.header} must start with {signature.prefix!r}")
    given = given[len(signature.prefix) :]
    try:
        digest = bytes.fromhex(given) if signature.encoding == "hex" else base64.b64decode(given, validate=True)
    except (ValueError, binascii.Error):
        raise Rejected(401, f"{signature.header} is not a {signature.encoding} digest") from None
    if not hmac.compare_digest(digest, hmac.new(secret.encode("utf-8"), body, hashlib.sha256).digest()):
        raise Rejected(401, f"{signature.header} does not match the body; check that the sender and the route share the same secret")
