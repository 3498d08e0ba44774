"""CircleCI outbound webhooks: workflow-completed makes a workflow's thread and tells failures; job-completed on request.

Each delivery is signed: `circleci-signature: v1=<hex HMAC-SHA256 of the body>` (a comma-separated list; v1
is the version that counts). The body's `id` names the event, so a retried delivery is a duplicate.
"""

from __future__ import annotations

from collections.abc import Mapping

from bridge import builds
from bridge.sources import auth
from bridge.sources.base import Decision, Inbound, Rejected, body_digest, loads, parse_json_body, required_header
from bridge.sources.common import id_part, obj, route_facts, seconds_between, text

SIGNATURE_HEADER = "circleci-signature"
EVENT_HEADER = "circleci-event-type"
AUTH_KEYS = ("secret",)
AUTH_FIX = 'CircleCI routes need the webhook\'s secret token; fix: add secret: "${CIRCLECI_WEBHOOK_SECRET}"'
# Spelled as parse() reads them: the worker parses again from a plain, case-sensitive dict.
KEPT_HEADERS = ("Content-Type", EVENT_HEADER, "User-Agent")
# A route whose events names a routine state ("build.passed") hears it in chat too (bridge/builds.py judge).
ROUTINE_ON_REQUEST = True
# A workflow's or job's terminal status; error and unauthorized stopped it as surely as a failure.
STATES = {
    "success": "passed",
    "failed": "failed",
    "error": "failed",
    "failing": "failing",
    "unauthorized": "failed",
    "canceled": "canceled",
    "not_run": "skipped",
}
DETAILS = frozenset({"error", "unauthorized"})
TEMPLATE, JOB_TEMPLATE = "circleci/workflow-completed.txt", "circleci/job-completed.txt"


def verify(inbound: Inbound, credentials: Mapping[str, str]) -> None:
    """One of the v1 signatures is the body's HMAC under the route's secret; other versions are ignored."""
    secret = auth.require(credentials, "secret", "CircleCI")
    header = inbound.headers.get(SIGNATURE_HEADER, "")
    if not header.strip():
        raise Rejected(401, f"missing {SIGNATURE_HEADER} header; set the webhook's secret token in CircleCI")
    versions = [part.strip().partition("=") for part in header.split(",")]
    signatures = [value for version, sep, value in versions if version == "v1" and sep and value]
    if not signatures:
        raise Rejected(401, f"{SIGNATURE_HEADER} must hold v1=<hex digest>")
    expected = auth.hmac_hex(secret, inbound.body)
    if not any(auth.same(signature.lower(), expected) for signature in signatures):
        raise Rejected(401, f"{SIGNATURE_HEADER} does not match the body; check that CircleCI and the route share the same secret token")


def parse(headers: Mapping[str, str], raw: bytes) -> tuple[str, dict]:
    """The event from circleci-event-type, the payload from the JSON body."""
    return required_header(headers, EVENT_HEADER), parse_json_body(headers.get("Content-Type", ""), raw)


def delivery_id(headers: Mapping[str, str], raw: bytes) -> str:
    """The body's id (CircleCI's own dedupe key), or the body's hash."""
    try:
        found = loads(raw).get("id")
    except (ValueError, UnicodeDecodeError, AttributeError, RecursionError):
        found = None
    return found if isinstance(found, str) and found.strip() else body_digest(raw)


def vcs(payload: dict) -> dict:
    """Branch, commit, author and subject, from vcs (GitHub OAuth, Bitbucket Cloud) or trigger_parameters (GitLab, GitHub App)."""
    pipeline = obj(payload, "pipeline")
    plain, commit = obj(pipeline, "vcs"), obj(pipeline, "vcs", "commit")
    git, params = obj(pipeline, "trigger_parameters", "git"), obj(pipeline, "trigger_parameters")
    provider = next((obj(params, name) for name in ("gitlab", "github_app", "bitbucket_dc") if obj(params, name)), {})
    sha = text(plain.get("revision")) or text(git.get("checkout_sha")) or text(provider.get("commit_sha"))
    repository = plain.get("target_repository_url") or provider.get("web_url") or provider.get("repo_url")
    return {
        "branch": text(plain.get("branch")) or text(git.get("branch")) or text(provider.get("branch")),
        "commit": sha,
        "commit_url": builds.commit_url(repository, sha),
        "author": text(obj(commit, "author").get("name")) or text(provider.get("commit_author_name")) or text(provider.get("user_username")),
        "message": text(commit.get("subject")) or text(provider.get("commit_title")),
    }


def build(event: str, payload: dict) -> builds.Build | None:
    """The workflow of a workflow-completed event; jobs are not builds of their own."""
    project, workflow = obj(payload, "project"), obj(payload, "workflow")
    slug, key = text(project.get("slug")), id_part(workflow.get("id"))
    if event != "workflow-completed" or not (slug and key):
        return None
    status = text(workflow.get("status"))
    number = id_part(obj(payload, "pipeline").get("number"))
    return builds.Build(
        source="circleci",
        project=slug,
        key=key,
        kind="workflow",
        state=STATES.get(status, ""),
        detail=status if status in DETAILS else "",
        name=text(workflow.get("name")) or "workflow",
        place=text(project.get("name")) or slug,
        label=f"#{number}" if number else "",
        workflow=text(workflow.get("name")),
        duration=seconds_between(workflow.get("created_at"), workflow.get("stopped_at")),
        url=text(workflow.get("url")),
        **vcs(payload),
    )


def classify(event: str, payload: dict) -> Decision:
    """workflow-completed: failures in chat, the rest in the workflow's thread; job-completed only on request."""
    if event == "job-completed":
        return Decision(JOB_TEMPLATE, "job-completed is shown only when a route's events names it (workflow-completed tells the workflow)", hidden=True)
    if event != "workflow-completed":
        return Decision(None, f"CircleCI event {event!r} is not rendered")
    found = build(event, payload)
    if found is not None and not found.state:
        return Decision(None, f"workflow status {text(obj(payload, 'workflow').get('status')) or '(none)'!r} is not shown")
    return builds.classify(found, TEMPLATE)


def context(event: str, payload: dict) -> dict:
    """The workflow as a build; for a job, the job, its state and how long it ran, beside the same commit facts."""
    base = {"event": event, "payload": payload, "project": obj(payload, "project"), "workflow": obj(payload, "workflow"), "vcs": vcs(payload)}
    job = obj(payload, "job")
    jobs = {"job": job, "state": STATES.get(text(job.get("status")), ""), "duration": seconds_between(job.get("started_at"), job.get("stopped_at"))}
    return {**base, **(jobs if event == "job-completed" else builds.context(build(event, payload)))}


def facts(event: str, payload: dict) -> dict:
    """The state as the action (workflow-completed.failed, job-completed.passed), the project, author and branch."""
    found = build(event, payload)
    if found is not None or event != "job-completed":
        return builds.facts(found)
    commit = vcs(payload)
    state = STATES.get(text(obj(payload, "job").get("status")))
    project = text(obj(payload, "project").get("slug")) or None
    return route_facts(state, project, commit["author"] or None, commit["branch"] or None)
