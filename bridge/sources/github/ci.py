"""CI and deployments: workflow runs and jobs, check suites and runs, commit statuses, deployments.

Chat hears news; a thread (flow-token targets) keeps the life of one run, check suite, commit or deployment.
- workflow_run: requested, in_progress and completed; chat hears only runs that failed, timed out, were
  cancelled, failed to start or wait for approval, and re-runs that passed (attempt > 1: a failure was fixed).
- workflow_job: completed and waiting are hidden (workflow_run already tells a failed run; a route names
  `workflow_job.completed` for every job); queued and in_progress are ignored.
- check_suite: completed; chat hears failing conclusions, as for runs; requested and rerequested are
  ignored, and suites of the GitHub Actions app skipped (workflow_run tells them).
- check_run: completed is hidden; created, rerequested and requested_action are ignored; GitHub Actions'
  check runs are skipped (workflow_job tells them).
- status: every state; chat hears failure and error.
- deployment: created is hidden (the outcome follows as a deployment_status).
- deployment_status: every state; chat hears success, failure and error.
Routine results (a run requested, in progress or passing first time; a pending or successful status; a
deployment queued or in progress) are "routine": they update the item's thread, so it follows the
build's life (running yellow, passed green, failed red), but post nothing in chat.
workflow_run is also a build (bridge/builds.py): the worker keeps its results per repository, workflow and branch,
so the first run to pass after failures is told in chat as "back to green"; a result told once is not told again.
Threads: github:<repo>:run:<run id> (jobs join their run; a re-run is the same run), :checks:<suite id>
(check runs join their suite), :commit:<sha> (statuses), :deployment:<id> (a deployment and its statuses).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from bridge import builds
from bridge.sources.common import EventSpec, Getter, actions, dig, id_part, items, obj, seconds_between, text, text_at
from bridge.sources.github.common import repo_name, thread_of

# Results worth telling a team; success, neutral, skipped and stale are routine.
BAD = frozenset({"failure", "timed_out", "cancelled", "action_required", "startup_failure"})
STATUS_NEWS = frozenset({"failure", "error"})
DEPLOY_NEWS = frozenset({"success", "failure", "error"})
ACTIONS_APP = "github-actions"
SHA = re.compile(r"[0-9a-f]{40}")
Skip = Callable[[dict], "str | None"]


def state_of(*path: str) -> Getter:
    """The conclusion of a finished run, check or job, else its status."""
    item = dig(*path)

    def state(payload: dict) -> str | None:
        found = item(payload)
        return (text(found.get("conclusion")) or text(found.get("status")) or None) if isinstance(found, dict) else None

    return state


def routine(what: str, state: Getter, news: Callable[[dict], bool], shown: str) -> Skip:
    """A skip that calls a payload noise unless news(payload); the reason says what is shown instead."""
    return lambda payload: None if news(payload) else f"{what} is {state(payload)!r}: routine; chat shows only {shown}"


def only_for(names: frozenset[str], skip: Skip) -> Skip:
    """Judge only these actions; the others are left to shown and hidden."""
    return lambda payload: skip(payload) if text(payload.get("action")) in names else None


def actions_app(what: str, app: Getter, instead: str) -> Skip:
    """GitHub Actions also reports through the Checks API: one message per thing, so its copy is skipped."""
    return lambda payload: f"{what} from GitHub Actions: {instead} tells the same" if app(payload) == ACTIONS_APP else None


def run_is_news(payload: dict) -> bool:
    """A run that went wrong, or a re-run that passed: the moment a failure was fixed."""
    run = obj(payload, "workflow_run")
    attempt = run.get("run_attempt")
    return RUN_STATE(payload) in BAD or (run.get("conclusion") == "success" and isinstance(attempt, int) and attempt > 1)


def status_branch(payload: dict) -> str | None:
    """The branch whose head is the commit, else the first branch that holds it."""
    branches = [b for b in items(payload.get("branches")) if isinstance(b, dict) and text(b.get("name"))]
    head = next((b for b in branches if obj(b, "commit").get("sha") == payload.get("sha")), None)
    return (head or (branches[0] if branches else {})).get("name")


def deployment_branch(payload: dict) -> str | None:
    """deployment.ref when it names a branch, not a commit or a tag ref."""
    ref = text(obj(payload, "deployment").get("ref")).removeprefix("refs/heads/")
    return ref if ref and not SHA.fullmatch(ref) and not ref.startswith("refs/") else None


RUN_STATE, JOB_STATE = state_of("workflow_run"), state_of("workflow_job")
SUITE_STATE, CHECK_STATE = state_of("check_suite"), state_of("check_run")
DEPLOY_STATE = text_at("deployment_status", "state")
RUN_BRANCH, JOB_BRANCH = text_at("workflow_run", "head_branch"), text_at("workflow_job", "head_branch")
SUITE_BRANCH, CHECK_BRANCH = text_at("check_suite", "head_branch"), text_at("check_run", "check_suite", "head_branch")


def workflow_run_context(payload: dict) -> dict:
    """The run, its state and, once it ended, how long it took."""
    run = obj(payload, "workflow_run")
    ended = run.get("status") == "completed"
    return {
        "run": run,
        "state": RUN_STATE(payload),
        "branch": RUN_BRANCH(payload),
        "duration": seconds_between(run.get("run_started_at"), run.get("updated_at")) if ended else None,
    }


def workflow_job_context(payload: dict) -> dict:
    """The job, its state and how long it ran."""
    job = obj(payload, "workflow_job")
    return {"job": job, "state": JOB_STATE(payload), "branch": JOB_BRANCH(payload), "duration": seconds_between(job.get("started_at"), job.get("completed_at"))}


def check_suite_context(payload: dict) -> dict:
    """The suite and its state."""
    return {"check_suite": obj(payload, "check_suite"), "state": SUITE_STATE(payload), "branch": SUITE_BRANCH(payload)}


def check_run_context(payload: dict) -> dict:
    """The check run, the suite it belongs to, its state and how long it ran."""
    check = obj(payload, "check_run")
    return {
        "check_run": check,
        "check_suite": obj(check, "check_suite"),
        "state": CHECK_STATE(payload),
        "branch": CHECK_BRANCH(payload),
        "duration": seconds_between(check.get("started_at"), check.get("completed_at")),
    }


def status_context(payload: dict) -> dict:
    """The commit status's state and the branch it is about."""
    return {"state": payload.get("state"), "branch": status_branch(payload)}


def deployment_context(payload: dict) -> dict:
    """The deployment; with a status, its state and the time from creation to that status."""
    deployment, status = obj(payload, "deployment"), obj(payload, "deployment_status")
    return {
        "deployment": deployment,
        "deployment_status": status,
        "state": text(status.get("state")) or "pending",
        "branch": deployment_branch(payload),
        "duration": seconds_between(deployment.get("created_at"), status.get("created_at")),
    }


# A workflow run's state in the build model (bridge/builds.py), which keeps the history "back to green" needs.
BUILD_STATES = {
    "requested": "queued",
    "queued": "queued",
    "waiting": "queued",
    "pending": "queued",
    "in_progress": "running",
    "success": "passed",
    "failure": "failed",
    "timed_out": "failed",
    "startup_failure": "failed",
    "cancelled": "canceled",
    "skipped": "skipped",
    "neutral": "skipped",
    "stale": "skipped",
}


def workflow_build(payload: dict) -> builds.Build | None:
    """A workflow run as a build: its history runs per repository, workflow and branch (action_required has no result)."""
    run, repository = obj(payload, "workflow_run"), repo_name(payload)
    key, workflow = id_part(run.get("id")), id_part(run.get("workflow_id")) or text(run.get("name"))
    if not (repository and key and workflow):
        return None
    return builds.Build("github", repository, key, "run", BUILD_STATES.get(text(RUN_STATE(payload)), ""), workflow=workflow, branch=RUN_BRANCH(payload))


RUN_ACTIONS, SUITE_ACTIONS = actions("requested", "in_progress", "completed"), actions("completed")
RUN_NOISE = only_for(
    RUN_ACTIONS, routine("workflow run", RUN_STATE, run_is_news, "runs that failed, timed out, were cancelled or wait for approval, and re-runs that passed")
)
SUITE_COPY = actions_app("check suite", dig("check_suite", "app", "slug"), "workflow_run")
SUITE_NOISE = only_for(
    SUITE_ACTIONS, routine("check suite", SUITE_STATE, lambda p: SUITE_STATE(p) in BAD, "suites that failed, timed out, were cancelled or need action")
)
CHECK_NOISE = actions_app("check run", dig("check_run", "app", "slug"), "workflow_job")
STATUS_NOISE = routine("commit status", text_at("state"), lambda p: text(p.get("state")) in STATUS_NEWS, "failures and errors")
DEPLOY_NOISE = routine("deployment status", DEPLOY_STATE, lambda p: DEPLOY_STATE(p) in DEPLOY_NEWS, "successes, failures and errors")
RUN_THREAD, DEPLOY_THREAD = thread_of("run", dig("workflow_run", "id")), thread_of("deployment", dig("deployment", "id"))

EVENTS = {
    "workflow_run": EventSpec(shown=RUN_ACTIONS, thread=RUN_THREAD, context=workflow_run_context, routine=RUN_NOISE, branch=RUN_BRANCH),
    "workflow_job": EventSpec(
        shown=actions(),
        hidden=actions("completed", "waiting"),
        thread=thread_of("run", dig("workflow_job", "run_id")),
        context=workflow_job_context,
        branch=JOB_BRANCH,
    ),
    "check_suite": EventSpec(
        shown=SUITE_ACTIONS,
        thread=thread_of("checks", dig("check_suite", "id")),
        context=check_suite_context,
        skip=SUITE_COPY,
        routine=SUITE_NOISE,
        branch=SUITE_BRANCH,
    ),
    "check_run": EventSpec(
        shown=actions(),
        hidden=actions("completed"),
        thread=thread_of("checks", dig("check_run", "check_suite", "id")),
        context=check_run_context,
        skip=CHECK_NOISE,
        branch=CHECK_BRANCH,
    ),
    "status": EventSpec(thread=thread_of("commit", dig("sha")), context=status_context, routine=STATUS_NOISE, branch=status_branch),
    "deployment": EventSpec(shown=actions(), hidden=actions("created"), thread=DEPLOY_THREAD, context=deployment_context, branch=deployment_branch),
    "deployment_status": EventSpec(shown=actions("created"), thread=DEPLOY_THREAD, context=deployment_context, routine=DEPLOY_NOISE, branch=deployment_branch),
}
