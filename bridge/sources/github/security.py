"""Security alerts: code scanning, Dependabot, secret scanning, GitHub advisories, legacy vulnerability alerts.

Shown by default: code scanning alerts created, reopened (by GitHub or a person), fixed and
dismissed (closed_by_user); Dependabot alerts created, reopened, reintroduced, fixed and
dismissed; secret scanning alerts created, resolved, reopened, revoked and leaked publicly;
legacy vulnerability alerts (repository_vulnerability_alert) created, dismissed, resolved, reopened.
Hidden (a route names them, e.g. "dependabot_alert.auto_dismissed"): code scanning alerts
appearing in another branch; Dependabot alerts dismissed or reopened by auto-triage rules;
secret validity checks (validated); GitHub-wide advisories published or withdrawn
(security_advisory: about every repository on GitHub, not this one).
Ignored: assignment changes, advisory updates, repository advisories (not rendered).
Threads: one per alert, github:<owner>/<repo>:alert:<kind>:<number> with kind code_scanning,
dependabot or secret_scanning; legacy alerts share the Dependabot alert's thread. Status open
is red, fixed (or a revoked secret) green, dismissed and other resolutions grey.
The secret of a secret scanning alert never reaches a template: it is removed from the payload.
"""

from __future__ import annotations

from bridge.sources.common import EventSpec, actions, branch_of_ref, dig, id_part, item, obj
from bridge.sources.github.common import thread_of

# Alert fields that hold the leaked credential itself.
SECRET_FIELDS = ("secret",)


def alert_thread(kind: str):
    """github:<owner>/<repo>:alert:<kind>:<number>, or None when the alert has no number."""
    number = dig("alert", "number")
    return thread_of("alert", lambda payload: f"{kind}:{id_part(number(payload))}" if id_part(number(payload)) else None)


def without_secret(payload: dict) -> dict:
    """The alert and the payload with the secret removed, so no template, built-in or override, can print it."""
    alert = {key: value for key, value in obj(payload, "alert").items() if key not in SECRET_FIELDS}
    return {"alert": alert, "payload": {**payload, "alert": alert}}


EVENTS = {
    "code_scanning_alert": EventSpec(
        shown=actions("created", "reopened", "reopened_by_user", "fixed", "closed_by_user"),
        hidden=actions("appeared_in_branch"),
        thread=alert_thread("code_scanning"),
        context=item("alert"),
        branch=branch_of_ref,
    ),
    "dependabot_alert": EventSpec(
        shown=actions("created", "reopened", "reintroduced", "fixed", "dismissed"),
        hidden=actions("auto_dismissed", "auto_reopened"),
        thread=alert_thread("dependabot"),
        context=item("alert"),
    ),
    "secret_scanning_alert": EventSpec(
        shown=actions("created", "resolved", "reopened", "revoked", "publicly_leaked"),
        hidden=actions("validated"),
        thread=alert_thread("secret_scanning"),
        context=without_secret,
    ),
    "security_advisory": EventSpec(
        shown=actions(), hidden=actions("published", "withdrawn"), context=lambda payload: {"advisory": obj(payload, "security_advisory")}
    ),
    "repository_vulnerability_alert": EventSpec(
        shown=actions("create", "dismiss", "resolve", "reopen"), thread=alert_thread("dependabot"), context=item("alert")
    ),
}
