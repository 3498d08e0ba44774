"""Buildkite pipelines webhooks: build.* events make one thread per build and tell failures; ping, job.* and agent.* are not shown.

A route checks one of Buildkite's two schemes, chosen by its `auth` key, and refuses the other:
- signature (the default): `X-Buildkite-Signature: timestamp=<t>,signature=<hex HMAC-SHA256 of "<t>.<body>">`,
  with <t> within 5 minutes of this server's clock, so a captured delivery cannot be replayed later;
- token: `X-Buildkite-Token` equal to the route's secret (sent in the clear: prefer the signature).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from bridge import builds
from bridge.sources import auth
from bridge.sources.base import Decision, Inbound, Rejected, body_digest, parse_json_body, required_header
from bridge.sources.common import id_part, obj, seconds_between, text

EVENT_HEADER, SIGNATURE_HEADER, TOKEN_HEADER = "X-Buildkite-Event", "X-Buildkite-Signature", "X-Buildkite-Token"
AUTH_KEYS = ("secret",)
AUTH_MODES = ("signature", "token")
AUTH_FIX = 'Buildkite routes need the webhook\'s token; fix: add secret: "${BUILDKITE_WEBHOOK_TOKEN}" (and auth: token if Buildkite sends X-Buildkite-Token)'
KEPT_HEADERS = ("Content-Type", EVENT_HEADER, "User-Agent")
# A route whose events names a routine state ("build.passed") hears it in chat too (bridge/builds.py judge).
ROUTINE_ON_REQUEST = True
TEMPLATE = "buildkite/build.txt"
# The build's own state, for build.finished (and any build event that carries a state we know).
STATES = {
    "scheduled": "queued",
    "running": "running",
    "failing": "failing",
    "blocked": "blocked",
    "passed": "passed",
    "failed": "failed",
    "canceled": "canceled",
    "canceling": "canceled",
    "skipped": "skipped",
    "not_run": "skipped",
}
# What each event says when the build's state is missing or lags behind (Buildkite notes payloads may be newer).
EVENTS = {"build.scheduled": "queued", "build.running": "running", "build.failing": "failing", "build.blocked": "blocked", "build.skipped": "skipped"}


def verify(inbound: Inbound, credentials: Mapping[str, str]) -> None:
    """The scheme the route chose, and only that one."""
    secret = auth.require(credentials, "secret", "Buildkite")
    if credentials.get("auth") == "token":
        given = inbound.headers.get(TOKEN_HEADER, "")
        if not given:
            raise Rejected(401, f"missing {TOKEN_HEADER} header; this route checks the plain token (auth: token): set Buildkite's webhook to send it")
        if not auth.same(given, secret):
            raise Rejected(401, f"{TOKEN_HEADER} does not match the route's secret")
        return
    header = inbound.headers.get(SIGNATURE_HEADER, "")
    if not header:
        raise Rejected(401, f"missing {SIGNATURE_HEADER} header; this route checks signatures: set Buildkite's webhook to sign, or set auth: token")
    parts = auth.parameters(header)
    if not (parts.get("timestamp") and parts.get("signature")):
        raise Rejected(401, f"{SIGNATURE_HEADER} must look like timestamp=<unix seconds>,signature=<hex digest>")
    auth.timestamped_hmac(parts["timestamp"], parts["signature"], secret, inbound.body, SIGNATURE_HEADER)


def parse(headers: Mapping[str, str], raw: bytes) -> tuple[str, dict]:
    """The event from X-Buildkite-Event, the payload from the JSON body."""
    return required_header(headers, EVENT_HEADER), parse_json_body(headers.get("Content-Type", ""), raw)


def delivery_id(headers: Mapping[str, str], raw: bytes) -> str:
    """Buildkite sends no delivery id: the body's hash."""
    return body_digest(raw)


def project_of(run: dict, pipeline: dict) -> str:
    """<org>/<pipeline> from the build's page (https://buildkite.com/<org>/<pipeline>/builds/<n>), else the pipeline's slug."""
    parts = urlsplit(text(run.get("web_url"))).path.strip("/").split("/")
    return f"{parts[0]}/{parts[1]}" if len(parts) >= 2 and all(parts[:2]) else text(pipeline.get("slug"))


def state_of(event: str, run: dict) -> str:
    """The build's state; blocked builds finish as "passed" with blocked: true."""
    if run.get("blocked") is True and event in ("build.finished", "build.blocked"):
        return "blocked"
    return STATES.get(text(run.get("state")), "") if event == "build.finished" else EVENTS.get(event, "")


def build(event: str, payload: dict) -> builds.Build | None:
    """The Build of a build.* event, or None for other events and builds without a pipeline or number."""
    run, pipeline = obj(payload, "build"), obj(payload, "pipeline")
    project, number = project_of(run, pipeline), id_part(run.get("number"))
    if not event.startswith("build.") or not (project and number):
        return None
    sha = text(run.get("commit"))
    person = obj(run, "author") or obj(run, "creator")
    return builds.Build(
        source="buildkite",
        project=project,
        key=number,
        kind="build",
        state=state_of(event, run),
        name=text(pipeline.get("name")) or project,
        label=f"#{number}",
        branch=text(run.get("branch")),
        # A commit of HEAD is no commit people can open.
        commit=sha if sha != "HEAD" else "",
        commit_url=builds.commit_url(pipeline.get("repository"), sha) if sha != "HEAD" else "",
        message=text(run.get("message")),
        author=text(person.get("name")) or text(person.get("username")),
        duration=seconds_between(run.get("started_at"), run.get("finished_at")),
        url=text(run.get("web_url")),
    )


def classify(event: str, payload: dict) -> Decision:
    """Build events: failures in chat, the rest in the build's thread; every other event is not shown."""
    if event == "ping":
        return Decision(None, "ping: Buildkite checks that the webhook works; nothing to tell")
    if not event.startswith("build."):
        return Decision(None, f"Buildkite event {event!r} is not rendered; build events tell each build")
    found = build(event, payload)
    if found is not None and not found.state:
        return Decision(None, f"{event} with build state {text(obj(payload, 'build').get('state')) or '(none)'!r} is not shown")
    return builds.classify(found, TEMPLATE)


def context(event: str, payload: dict) -> dict:
    """The build, as every CI template reads it, and the event itself."""
    return {"event": event, "payload": payload, **builds.context(build(event, payload))}


def facts(event: str, payload: dict) -> dict:
    """The build's state as the action (build.finished.failed), its org/pipeline, author and branch."""
    return builds.facts(build(event, payload))
