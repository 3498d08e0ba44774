"""CI and deployments: pipelines, jobs (GitLab's "build" events) and deployments.

Chat hears news; a thread (flow-token targets) keeps the life of one pipeline or deployment.
- pipeline: every status; chat hears failed pipelines, and the first to pass after failures ("back
  to green"). Pending, running, other passes, canceled (GitLab cancels redundant pipelines by
  itself), skipped and manual ones are routine: they update the pipeline's thread (pending and
  running yellow, passed green, failed red, canceled grey) only. The payload names no earlier
  status, so a pipeline is also a build (bridge/builds.py): the worker keeps results per project,
  branch and kind of pipeline (pushes, merge requests and runs from the web share one; schedules,
  child, multi-project, trigger and API pipelines each have their own), and a retried pipeline that
  passes after failing is back to green too.
- build: a failed job is routine: it reaches its pipeline's thread at once, while chat waits for the
  pipeline's verdict (one message per pipeline, not per job). Jobs that passed or were canceled are
  on request (`build.success`, `build.canceled`); created, pending, running and skipped are ignored.
- deployment: every status; chat hears success and failed; running and canceled are routine.
`events` names a pipeline's, job's or deployment's status as its action: "pipeline.failed".
Threads: gitlab:<path>:pipeline:<pipeline id> (its jobs join it), :deployment:<deployment id>.
"""

from __future__ import annotations

from collections.abc import Callable

from bridge import builds
from bridge.sources.common import EventSpec, actions, dig, id_part, items, obj, text, text_at
from bridge.sources.gitlab.common import project_of, project_path, thread_of

PIPELINE_STATUS, JOB_STATUS, DEPLOY_STATUS = text_at("object_attributes", "status"), text_at("build_status"), text_at("status")
DEPLOY_NEWS = frozenset({"success", "failed"})
JOB_ENDS = frozenset({"failed", "success", "canceled"})
# How one stage stands, judged from its jobs' statuses: the first rule that holds wins.
STAGE_RULES: list[tuple[str, Callable[[list[dict]], bool]]] = [
    ("failed", lambda jobs: any(j.get("status") == "failed" and j.get("allow_failure") is not True for j in jobs)),
    ("running", lambda jobs: any(j.get("status") == "running" for j in jobs)),
    ("pending", lambda jobs: any(j.get("status") in ("pending", "preparing", "waiting_for_resource") for j in jobs)),
    ("canceled", lambda jobs: any(j.get("status") == "canceled" for j in jobs)),
    ("success", lambda jobs: any(j.get("status") in ("success", "failed") for j in jobs)),
    ("manual", lambda jobs: any(j.get("status") == "manual" for j in jobs)),
    ("skipped", lambda jobs: all(j.get("status") == "skipped" for j in jobs)),
]


def routine(what: str, status: Callable[[dict], str], news: frozenset[str], shown: str) -> Callable[[dict], str | None]:
    """A routine check: None (news, for chat) when the status is one of news, else the reason it stays in the thread."""
    return lambda payload: None if status(payload) in news else f"{what} status {status(payload)!r} is routine; chat shows only {shown}"


def number(value: object) -> int | None:
    """A whole number of seconds from a payload number (GitLab sends 63 or 17.0), else None."""
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0 else None


def branch_unless_tag(ref: Callable[[dict], str], tag: Callable[[dict], object]) -> Callable[[dict], str | None]:
    """The ref when it names a branch (GitLab marks tag pipelines and jobs with tag: true)."""
    return lambda payload: (ref(payload) or None) if tag(payload) is not True else None


PIPELINE_BRANCH = branch_unless_tag(text_at("object_attributes", "ref"), dig("object_attributes", "tag"))


def stages(names: list, jobs: list[dict]) -> list[dict]:
    """Each stage in pipeline order with how it stands; stages no job reported on are left out."""
    order = [text(name) for name in names if text(name)] or list(dict.fromkeys(text(job.get("stage")) for job in jobs))
    standing = []
    for name in order:
        own = [job for job in jobs if job.get("stage") == name]
        if own:
            standing.append({"name": name, "status": next((status for status, holds in STAGE_RULES if holds(own)), "created")})
    return standing


def failed_jobs(names: list, jobs: list[dict], web_url: str) -> list[dict]:
    """The failed jobs, those that fail the pipeline first, each in stage order, with a link to its log."""
    order = {text(name): index for index, name in enumerate(names)}
    failed = [job for job in jobs if job.get("status") == "failed"]
    failed.sort(key=lambda job: (job.get("allow_failure") is True, order.get(text(job.get("stage")), len(order))))
    return [{**job, "url": f"{web_url}/-/jobs/{job['id']}" if web_url and isinstance(job.get("id"), int) else ""} for job in failed]


def pipeline_context(payload: dict) -> dict:
    """The pipeline, its status, its stages and failed jobs, the merge request it ran for, and how long it took."""
    pipeline = obj(payload, "object_attributes")
    jobs = [job for job in items(payload.get("builds")) if isinstance(job, dict)]
    names, web_url = items(pipeline.get("stages")), text(project_of(payload).get("web_url"))
    return {
        "pipeline": pipeline,
        "status": PIPELINE_STATUS(payload),
        "stages": stages(names, jobs),
        "failed_jobs": failed_jobs(names, jobs, web_url),
        "merge_request": obj(payload, "merge_request"),
        "commit": obj(payload, "commit"),
        "duration": number(pipeline.get("duration")),
    }


# A pipeline's status in the build model (bridge/builds.py), which keeps the history "back to green" needs.
BUILD_STATES = {
    "created": "queued",
    "waiting_for_resource": "queued",
    "preparing": "queued",
    "pending": "queued",
    "scheduled": "queued",
    "running": "running",
    "manual": "blocked",
    "success": "passed",
    "failed": "failed",
    "canceled": "canceled",
    "skipped": "skipped",
}
# Pipelines people start by pushing, in a merge request or from the web follow one another on a branch;
# a schedule's, a parent's children, a trigger's or an API caller's run their own jobs, so keep their own history.
SHARED_SOURCES = frozenset({"", "push", "web", "merge_request_event", "external_pull_request_event"})


def pipeline_build(payload: dict) -> builds.Build | None:
    """A pipeline as a build: its history runs per project, branch and kind of pipeline; None without a project or id."""
    pipeline, path = obj(payload, "object_attributes"), project_path(payload)
    key, source = id_part(pipeline.get("id")), text(pipeline.get("source"))
    if not (path and key):
        return None
    branch = PIPELINE_BRANCH(payload) or ""
    return builds.Build(
        "gitlab", path, key, "pipeline", BUILD_STATES.get(PIPELINE_STATUS(payload), ""), workflow="" if source in SHARED_SOURCES else source, branch=branch
    )


def job_context(payload: dict) -> dict:
    """The job and, for its pipeline's thread, the pipeline as the job tells it (commit holds the pipeline here)."""
    web_url, commit = text(project_of(payload).get("web_url")), obj(payload, "commit")
    job_id, pipeline_id = payload.get("build_id"), payload.get("pipeline_id")
    pipeline = {
        "id": pipeline_id,
        "name": commit.get("name"),
        "status": commit.get("status"),
        "ref": payload.get("ref"),
        "tag": payload.get("tag"),
        "sha": payload.get("sha"),
        "url": f"{web_url}/-/pipelines/{pipeline_id}" if web_url and isinstance(pipeline_id, int) else "",
    }
    return {
        "job": {
            "id": job_id,
            "name": payload.get("build_name"),
            "stage": payload.get("build_stage"),
            "status": JOB_STATUS(payload),
            "failure_reason": payload.get("build_failure_reason") if JOB_STATUS(payload) == "failed" else None,
            "allow_failure": payload.get("build_allow_failure") is True,
            "retries": payload.get("retries_count") if isinstance(payload.get("retries_count"), int) else 0,
            "url": f"{web_url}/-/jobs/{job_id}" if web_url and isinstance(job_id, int) else "",
        },
        "pipeline": pipeline,
        "commit": commit,
        "duration": number(payload.get("build_duration")),
    }


def deployment_context(payload: dict) -> dict:
    """The deployment's status, and the ref (later GitLab versions send it) or else the short commit id."""
    return {"status": DEPLOY_STATUS(payload), "ref": text(payload.get("ref")) or text(payload.get("short_sha"))}


EVENTS = {
    "pipeline": EventSpec(
        thread=thread_of("pipeline", dig("object_attributes", "id")),
        context=pipeline_context,
        routine=routine("pipeline", PIPELINE_STATUS, frozenset({"failed"}), "failed pipelines and the first to pass after failures"),
        branch=PIPELINE_BRANCH,
        action=lambda payload: PIPELINE_STATUS(payload) or None,
    ),
    "build": EventSpec(
        shown=actions("failed"),
        hidden=actions("success", "canceled"),
        thread=thread_of("pipeline", dig("pipeline_id")),
        context=job_context,
        skip=lambda payload: None if JOB_STATUS(payload) in JOB_ENDS else f"job status {JOB_STATUS(payload)!r}: only jobs that ended are rendered",
        routine=lambda payload: "a failed job is routine; chat hears its pipeline's verdict",
        branch=branch_unless_tag(text_at("ref"), dig("tag")),
        action=lambda payload: JOB_STATUS(payload) or None,
    ),
    "deployment": EventSpec(
        thread=thread_of("deployment", dig("deployment_id")),
        context=deployment_context,
        routine=routine("deployment", DEPLOY_STATUS, DEPLOY_NEWS, "successful and failed deployments"),
        branch=lambda payload: text(payload.get("ref")) or None,
        action=lambda payload: DEPLOY_STATUS(payload) or None,
    ),
}
