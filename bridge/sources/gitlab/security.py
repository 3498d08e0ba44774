"""Security: vulnerabilities and expiring project or group access tokens.

- vulnerability: every state is shown (detected, confirmed, dismissed, resolved); `events` names the
  state as the action ("vulnerability.confirmed"). The payload holds no project object, so the
  project's path is read from the vulnerability's URL. Thread: gitlab:<path>:vulnerability:<id>,
  detected and confirmed red, resolved green, dismissed grey.
- access_token: a token that expires soon (GitLab tells 60, 30, 7 and 1 days ahead) is shown: someone
  must renew it before automation breaks. The token itself is never in the payload.
"""

from __future__ import annotations

import re

from bridge.sources.common import EventSpec, id_part, items, obj, text, text_at

STATE = text_at("object_attributes", "state")
# https://host/<namespace>/<project>/-/security/vulnerabilities/<id>
VULNERABILITY_URL = re.compile(r"https?://[^/]+/(?P<path>.+?)/-/security/vulnerabilities/(?P<id>\d+)\Z")


def vulnerability_at(payload: dict) -> tuple[str, str]:
    """(namespace/project, id) of a vulnerability, from its URL; ('', '') when the URL is not one."""
    found = VULNERABILITY_URL.match(text_at("object_attributes", "url")(payload))
    return (found["path"], found["id"]) if found else ("", "")


def vulnerability_thread(payload: dict) -> str | None:
    """gitlab:<path>:vulnerability:<id>, or None when the URL does not say them."""
    path, number = (id_part(part) for part in vulnerability_at(payload))
    return f"gitlab:{path}:vulnerability:{number}" if path and number else None


def vulnerability_context(payload: dict) -> dict:
    """The vulnerability, its state, the project path, its CVE (or first identifier) and the package it is in."""
    vulnerability = obj(payload, "object_attributes")
    identifiers = [i for i in items(vulnerability.get("identifiers")) if isinstance(i, dict) and text(i.get("name"))]
    cve = next((i for i in identifiers if text(i.get("external_type")).lower() == "cve"), identifiers[0] if identifiers else {})
    location = obj(vulnerability, "location")
    package = text(obj(location, "dependency", "package").get("name"))
    version = text(obj(location, "dependency").get("version"))
    return {
        "vulnerability": vulnerability,
        "state": STATE(payload),
        "path": vulnerability_at(payload)[0],
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
    "vulnerability": EventSpec(thread=vulnerability_thread, context=vulnerability_context, action=lambda payload: STATE(payload) or None),
    "access_token": EventSpec(context=token_context),
}
