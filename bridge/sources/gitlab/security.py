"""Security: vulnerabilities and expiring project or group access tokens.

- vulnerability: every state is shown (detected, confirmed, dismissed, resolved); `events` names the
  state as the action ("vulnerability.confirmed"). The payload holds no project object and no id, so
  both are read from the vulnerability's URL. Thread: gitlab:<path>:vulnerability:<id>,
  detected and confirmed red, resolved green, dismissed grey.
- access_token: a token that expires soon (GitLab tells 60, 30, 7 and 1 days ahead) is shown: someone
  must renew it before automation breaks. The token itself is never in the payload.
"""

from __future__ import annotations

import re

from bridge.sources.common import EventSpec, items, obj, text, text_at
from bridge.sources.gitlab.common import thread_of

STATE = text_at("object_attributes", "state")
# The vulnerability's id ends its URL: https://<host>/<path>/-/security/vulnerabilities/<id>
VULNERABILITY_ID = re.compile(r"/-/security/vulnerabilities/(\d+)\Z")


def vulnerability_id(payload: dict) -> str | None:
    """The vulnerability's id, read from its URL (the payload has no id field)."""
    found = VULNERABILITY_ID.search(text_at("object_attributes", "url")(payload))
    return found[1] if found else None


def vulnerability_context(payload: dict) -> dict:
    """The vulnerability, its state, its CVE (or first identifier) and the package it is in."""
    vulnerability = obj(payload, "object_attributes")
    identifiers = [i for i in items(vulnerability.get("identifiers")) if isinstance(i, dict) and text(i.get("name"))]
    cve = next((i for i in identifiers if text(i.get("external_type")).lower() == "cve"), identifiers[0] if identifiers else {})
    location = obj(vulnerability, "location")
    package = text(obj(location, "dependency", "package").get("name"))
    version = text(obj(location, "dependency").get("version"))
    return {
        "vulnerability": vulnerability,
        "state": STATE(payload),
        "identifier": cve,
        "package": f"{package} {version}".strip(),
        "file": text(location.get("file")),
        "issues": [issue for issue in items(vulnerability.get("issues")) if isinstance(issue, dict)],
    }


def token_context(payload: dict) -> dict:
    """The token, and whether it belongs to a project or a group (group hooks say the group only)."""
    group = obj(payload, "group")
    return {"token": obj(payload, "object_attributes"), "group": group, "owner": "project" if obj(payload, "project") else "group"}


EVENTS = {
    "vulnerability": EventSpec(
        thread=thread_of("vulnerability", vulnerability_id), context=vulnerability_context, action=lambda payload: STATE(payload) or None
    ),
    "access_token": EventSpec(context=token_context),
}
