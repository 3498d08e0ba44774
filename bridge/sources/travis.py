"""Travis CI webhook notifications: a form field `payload` holding JSON, signed with Travis' RSA key.

The `Signature` header is the base64 RSA-SHA1 (PKCS #1 v1.5) signature of the payload field's value. It is
checked against the route's `public_key`, the PEM Travis publishes at https://api.travis-ci.com/config
(config.notifications.webhook.public_key): hookdock never fetches a key at run time, so a key changed
on Travis' side is a configuration change here. A restarted build keeps its id: its new result is new.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from bridge import builds
from bridge.sources import auth
from bridge.sources.base import Decision, Inbound, Rejected, body_digest, parse_json_body
from bridge.sources.common import id_part, items, obj, text, whole

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import rsa

SIGNATURE_HEADER = "Signature"
AUTH_KEYS = ("public_key",)
AUTH_FIX = (
    "Travis CI routes need Travis' public key; fix: add public_key: with the PEM at config.notifications.webhook.public_key of https://api.travis-ci.com/config"
)
KEPT_HEADERS = ("Content-Type", "Travis-Repo-Slug", "User-Agent")
# A route whose events names a routine state ("build.passed") hears it in chat too (bridge/builds.py judge).
ROUTINE_ON_REQUEST = True
EVENT = "build"
TEMPLATE = "travis/build.txt"
STATES = {
    "created": "queued",
    "received": "queued",
    "queued": "queued",
    "started": "running",
    "passed": "passed",
    "failed": "failed",
    "errored": "failed",
    "canceled": "canceled",
}
# Older payloads say only status_message; "Fixed" and "Still Failing" are Travis' own words for what bridge/builds.py works out.
MESSAGES = {
    "Pending": "queued",
    "Passed": "passed",
    "Fixed": "passed",
    "Broken": "failed",
    "Failed": "failed",
    "Still Failing": "failed",
    "Errored": "failed",
    "Canceled": "canceled",
}
KEY_FIX = "fix: paste the PEM from config.notifications.webhook.public_key of https://api.travis-ci.com/config (api.travis-ci.org for travis-ci.org)"


# Parsed once per key, not on every delivery: verify runs on the webhook's hot path, and a route's key rarely changes.
@lru_cache(maxsize=32)
def public_key(pem: str) -> rsa.RSAPublicKey:
    """The RSA public key of a PEM text; ValueError for anything else."""
    # cryptography is imported by the first Travis route only: it is about 9 MB of every web worker's memory.
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = serialization.load_pem_public_key(pem.strip().encode("ascii", "replace"))
    if not isinstance(key, rsa.RSAPublicKey):
        raise ValueError("not an RSA key")
    return key


def credential_problem(credentials: Mapping[str, str]) -> tuple[str, str] | None:
    """A public_key that is no RSA PEM is refused at start-up rather than at every delivery."""
    try:
        public_key(credentials.get("public_key", ""))
    except ValueError as exc:
        return "public_key", f"is not an RSA public key in PEM form ({exc}); {KEY_FIX}"
    return None


def payload_field(raw: bytes) -> str | None:
    """The value of the form field `payload`, as Travis signed it."""
    values = parse_qs(raw.decode("utf-8", "replace")).get("payload")
    return values[0] if values else None


def verify(inbound: Inbound, credentials: Mapping[str, str]) -> None:
    """The Signature header is Travis' RSA-SHA1 signature of the payload field; fail closed without a key."""
    pem = auth.require(credentials, "public_key", "Travis CI")
    header = inbound.headers.get(SIGNATURE_HEADER, "").strip()
    if not header:
        raise Rejected(401, f"missing {SIGNATURE_HEADER} header; Travis CI signs every webhook notification")
    try:
        signature = base64.b64decode(header, validate=True)
    except (binascii.Error, ValueError):
        raise Rejected(401, f"{SIGNATURE_HEADER} is not base64") from None
    signed = payload_field(inbound.body)
    if signed is None:
        raise Rejected(401, "the body has no payload= form field, so there is nothing the signature could cover")
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    try:
        public_key(pem).verify(signature, signed.encode("utf-8"), padding.PKCS1v15(), hashes.SHA1())  # noqa: S303  (Travis signs with SHA1)
    except ValueError:
        raise Rejected(401, f"the route's public_key is not an RSA public key; {KEY_FIX}") from None
    except InvalidSignature:
        raise Rejected(401, f"{SIGNATURE_HEADER} does not match the payload; check the route's public_key (travis-ci.com and .org differ)") from None


def parse(headers: Mapping[str, str], raw: bytes) -> tuple[str, dict]:
    """Every notification is a "build" event, in the form field `payload`."""
    return EVENT, parse_json_body(headers.get("Content-Type", ""), raw, form_field="payload")


def delivery_id(headers: Mapping[str, str], raw: bytes) -> str:
    """Travis sends no delivery id: the body's hash."""
    return body_digest(raw)


def failed_jobs(payload: dict) -> list[str]:
    """The matrix jobs that failed or errored: "1.2 (lint)"."""
    found = []
    for job in items(payload.get("matrix")):
        if isinstance(job, dict) and text(job.get("state")) in ("failed", "errored"):
            number, name = text(job.get("number")) or id_part(job.get("id")) or "", text(obj(job, "config").get("name"))
            found.append(f"{number} ({name})" if name and number else number or name)
    return [job for job in found if job]


def build(event: str, payload: dict) -> builds.Build | None:
    """The Build of a notification, or None without a repository and build id."""
    repository = obj(payload, "repository")
    owner, name = text(repository.get("owner_name")), text(repository.get("name"))
    key = id_part(payload.get("id"))
    if not (owner and name and key):
        return None
    state = text(payload.get("state"))
    number, pull = id_part(payload.get("number")), id_part(payload.get("pull_request_number"))
    sha = text(payload.get("commit"))
    is_pull = payload.get("pull_request") is True or text(payload.get("type")) == "pull_request"
    return builds.Build(
        source="travis",
        project=f"{owner}/{name}",
        key=key,
        kind="build",
        state=STATES.get(state) or MESSAGES.get(text(payload.get("status_message")), ""),
        detail="errored" if state == "errored" else "",
        name=f"{owner}/{name}",
        # A pull request's branch is its target: its builds keep a history of their own, not main's.
        pull_request=pull if is_pull and pull else "",
        workflow=f"pull-request-{pull}" if is_pull and pull else "",
        label=f"#{number}" if number else "",
        branch=text(payload.get("branch")),
        commit=sha,
        commit_url=builds.commit_url(repository.get("url"), sha),
        message=text(payload.get("message")),
        author=text(payload.get("author_name")) or text(payload.get("committer_name")),
        duration=whole(payload.get("duration")),
        url=text(payload.get("build_url")),
        failed=failed_jobs(payload),
    )


def classify(event: str, payload: dict) -> Decision:
    """Failures in chat; started and passing builds in their thread."""
    found = build(event, payload)
    if found is not None and not found.state:
        return Decision(None, f"Travis build state {text(payload.get('state')) or '(none)'!r} is not shown")
    return builds.classify(found, TEMPLATE)


def context(event: str, payload: dict) -> dict:
    """The build, as every CI template reads it, and the notification itself."""
    return {"event": event, "payload": payload, **builds.context(build(event, payload))}


def facts(event: str, payload: dict) -> dict:
    """The build's state as the action (build.failed), the repository, author and branch."""
    return builds.facts(build(event, payload))
