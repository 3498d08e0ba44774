"""Jenkins, through the Notification plugin: a token in the URL or a bearer header, and one build thread per build.

The plugin cannot sign, so the route's secret arrives as `?token=<secret>` (the plugin's URL field) or
`Authorization: Bearer <secret>`; the access log never shows either (gunicorn.conf.py drops query strings).
Phases QUEUED and STARTED update the thread; COMPLETED and FINALIZED carry the result, and the second of
them to arrive finds the result told already (bridge/build_history.py), so a build posts once.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import unquote

from bridge import builds
from bridge.sources import auth
from bridge.sources.base import Decision, Inbound, body_digest, parse_json_body
from bridge.sources.common import id_part, items, obj, text, whole

AUTH_KEYS = ("secret",)
AUTH_FIX = 'Jenkins routes need a secret, given to Jenkins as ?token=<secret> in the notification URL; fix: add secret: "${JENKINS_WEBHOOK_TOKEN}"'
KEPT_HEADERS = ("Content-Type", "User-Agent")
# A route whose events names a routine state ("build.passed") hears it in chat too (bridge/builds.py judge).
ROUTINE_ON_REQUEST = True
EVENT = "build"
# The plugin's phases, and the result of a finished build (for phase STARTED, status is the previous build's).
PHASES = {"QUEUED": "queued", "STARTED": "running"}
FINISHED = frozenset({"COMPLETED", "FINALIZED"})
RESULTS = {"SUCCESS": "passed", "FAILURE": "failed", "UNSTABLE": "failed", "ABORTED": "canceled", "NOT_BUILT": "skipped"}
TEMPLATE = "jenkins/build.txt"


def verify(inbound: Inbound, credentials: Mapping[str, str]) -> None:
    """The route's secret as ?token= or as a bearer token, compared in constant time."""
    auth.bearer_or_query_token(inbound.headers, inbound.query, auth.require(credentials, "secret", "Jenkins"), "Jenkins")


def parse(headers: Mapping[str, str], raw: bytes) -> tuple[str, dict]:
    """Every notification is a "build" event; its phase is in the body."""
    return EVENT, parse_json_body(headers.get("Content-Type", ""), raw)


def delivery_id(headers: Mapping[str, str], raw: bytes) -> str:
    """The plugin sends no id: the body's hash (each phase's body differs, a retried one does not)."""
    return body_digest(raw)


def state_of(build: dict) -> tuple[str, str]:
    """The build's state and, for UNSTABLE, the plugin's own word."""
    phase, status = text(build.get("phase")).upper(), text(build.get("status")).upper()
    if phase in FINISHED:
        return RESULTS.get(status, ""), "unstable" if status == "UNSTABLE" else ""
    return PHASES.get(phase, ""), ""


def folders(url: object) -> list[str]:
    """The names in a job's url (Job.getUrl(): "job/acme/job/widgets/job/main/"), decoded; [] for any other shape."""
    parts = text(url).strip("/").split("/")
    if len(parts) % 2 or not all(kind == "job" and name for kind, name in zip(parts[::2], parts[1::2], strict=True)):
        return []
    return [unquote(name) for name in parts[1::2]]


def build(event: str, payload: dict) -> builds.Build | None:
    """The Build of a notification, or None without a job name and build number."""
    leaf, run, scm = text(payload.get("name")), obj(payload, "build"), obj(payload, "build", "scm")
    number = id_part(run.get("number"))
    if not (id_part(leaf) and number):
        return None
    # The plugin's name is the job's own (a multibranch pipeline's "main"); its full name, folders included,
    # keeps two repositories' "main" jobs apart in threads and in "back to green".
    path = folders(payload.get("url"))
    job = "/".join(path) or leaf
    shown = text(payload.get("display_name")) or (path[-1] if path else leaf)
    state, detail = state_of(run)
    sha = text(scm.get("commit"))
    duration = whole(run.get("duration"))
    return builds.Build(
        source="jenkins",
        project=job,
        key=number,
        kind="build",
        state=state,
        detail=detail,
        name="/".join([*path[:-1], shown]),
        label=f"#{number}",
        # Jenkins names the remote branch: origin/main is main.
        branch=text(scm.get("branch")).removeprefix("origin/").removeprefix("refs/heads/"),
        commit=sha,
        commit_url=builds.commit_url(scm.get("url"), sha),
        author=", ".join(text(c) for c in items(scm.get("culprits")) if text(c)),
        duration=duration // 1000 if duration is not None and duration > 0 else None,
        url=text(run.get("full_url")),
    )


def classify(event: str, payload: dict) -> Decision:
    """Failures in chat; queued, started and passing builds in their thread."""
    found = build(event, payload)
    if found is not None and not found.state:
        phase = text(obj(payload, "build").get("phase")) or "(none)"
        return Decision(None, f"Jenkins phase {phase!r} with status {text(obj(payload, 'build').get('status')) or '(none)'!r} is not shown")
    return builds.classify(found, TEMPLATE)


def context(event: str, payload: dict) -> dict:
    """The build, as every CI template reads it, and the notification itself."""
    return {"event": event, "payload": payload, **builds.context(build(event, payload))}


def facts(event: str, payload: dict) -> dict:
    """The build's state, job, culprits and branch."""
    return builds.facts(build(event, payload))
