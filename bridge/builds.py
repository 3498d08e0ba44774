"""One model for CI builds: every CI source maps its payload into a Build, and chat hears failures and recoveries.

A build's thread (`<source>:<project>:<kind>:<key>`) follows it: queued and running yellow, passed green,
failed red, canceled grey. Chat, by default, hears a failure, and a pass that ends a run of failures
("back to green"); the other states only update the thread, and reach chat when a route's `events`
names them. Whether a pass is a recovery depends on the results before it: bridge/build_history.py
keeps them in Redis, and judge() turns what it says into the decision.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from types import ModuleType
from typing import Protocol

from bridge.sources.base import Decision
from bridge.sources.common import route_facts

# What the sources' states become: one word each, which templates and route filters use.
STATES = ("queued", "running", "blocked", "failing", "passed", "failed", "canceled", "skipped")
# The states that end a build with a result that counts for "back to green".
RESULTS = {"passed": "pass", "failed": "fail"}
REPEATED = "this build's result was told by an earlier event; it goes only to a thread that has moved on since"


@dataclass(frozen=True)
class Build:
    """One build, pipeline or workflow run, as every CI template reads it."""

    source: str
    # What a thread and a history are keyed by: the job, project slug, org/pipeline or repository.
    project: str
    # One build of project: its number or id.
    key: str
    # "build" or "workflow": the word in the thread id.
    kind: str
    state: str
    # What people call it: the job, pipeline or workflow name; where: the project, when the name does not say it.
    name: str = ""
    place: str = ""
    # The pull request a build is of (Travis), its number; the template says "in pull request #<n>" when no place is given.
    pull_request: str = ""
    # "#18", or "" when the build has no number people use.
    label: str = ""
    # Builds of one project that stand apart (CircleCI's workflows): their histories are kept apart too.
    workflow: str = ""
    branch: str = ""
    commit: str = ""
    commit_url: str = ""
    message: str = ""
    author: str = ""
    duration: int | None = None
    url: str = ""
    failed: list[str] = field(default_factory=list)
    # The sender's own word for the result when it says more than the state ("UNSTABLE", "errored").
    detail: str = ""

    @property
    def thread(self) -> str:
        """The Flowdock thread of this build."""
        return f"{self.source}:{self.project}:{self.kind}:{self.key}"

    @property
    def result(self) -> str | None:
        """'pass' or 'fail' once the build has a result that counts, else None."""
        return RESULTS.get(self.state)

    @property
    def lineage(self) -> str:
        """The builds whose results follow one another: same source, project, workflow and branch."""
        return f"{self.source}:{self.project}:{self.workflow}:{self.branch}"

    def told_key(self, route: str, event_id: str) -> tuple[str, ...]:
        """A build's result is told once, by whichever event carries it first."""
        return ("build-result", route, self.thread, self.result or "")

    def judge(self, decision: Decision, verdict: Verdict, asked: bool) -> Decision:
        """The decision once the history is known (see judge below)."""
        return judge(decision, self, verdict, asked)

    def verdict_context(self, verdict: Verdict) -> dict:
        """What templates read about the builds before this one."""
        return verdict.context(self)


@dataclass(frozen=True)
class Verdict:
    """What the history said when a build's result was first recorded; the same answer on every later look."""

    # The result before this build ("pass", "fail" or "" when none is known).
    previous: str = ""
    # Failed builds in a row before this one.
    failures: int = 0
    # False when another event (Jenkins' FINALIZED after COMPLETED) already told this result.
    first: bool = True

    def context(self, build: Build) -> dict:
        """What templates read: a recovery, and how many failures in a row (this one included, for a failure)."""
        recovered = build.result == "pass" and self.previous == "fail"
        streak = self.failures + 1 if build.result == "fail" and self.previous == "fail" else (1 if build.result == "fail" else 0)
        return {"recovered": recovered, "failures": self.failures if recovered else 0, "streak": streak}


class Tracked(Protocol):
    """What the history records and judges: a build (here) or an alert group (bridge/alerts.py)."""

    @property
    def result(self) -> str | None: ...

    @property
    def lineage(self) -> str: ...

    def told_key(self, route: str, event_id: str) -> tuple[str, ...]: ...

    def judge(self, decision: Decision, verdict: Verdict, asked: bool) -> Decision: ...

    def verdict_context(self, verdict: Verdict) -> dict: ...


History = Callable[[Tracked], Verdict]


def of(source: ModuleType, event: str, payload: dict) -> Build | None:
    """The build an event is about, for sources that offer build(event, payload); else None."""
    build = getattr(source, "build", None)
    return build(event, payload) if build is not None else None


def unknown(build: Tracked) -> Verdict:
    """The history of previews and offline renders: nothing known, nothing recorded."""
    return Verdict()


def classify(build: Build | None, template: str) -> Decision:
    """The decision without history: failures in chat, every other state in the build's thread only."""
    if build is None:
        return Decision(None, "the payload names no build (no project or number)")
    if build.state not in STATES:
        return Decision(None, f"build state {build.state!r} is not shown")
    if build.state == "failed":
        return Decision(template, thread=build.thread)
    return Decision(
        template, f"build state {build.state!r} is routine; it goes to the thread only (chat hears failures and recoveries)", build.thread, chat=False
    )


def judge(decision: Decision, build: Build, verdict: Verdict, asked: bool) -> Decision:
    """The decision once the history is known: a recovery goes to chat; a result told before only to a thread that moved on.

    asked: the route's `events` names this state, so a routine one goes to chat too.
    """
    if decision.template is None:
        return decision
    if not verdict.first:
        return replace(decision, reason=REPEATED, chat=False, repeat=True)
    if verdict.context(build)["recovered"] or asked:
        return replace(decision, reason="", chat=True)
    return decision


def context(build: Build | None) -> dict:
    """The variables every CI template receives; the verdict of no history, which the worker replaces with the real one."""
    if build is None:
        return {}
    return {"build": asdict(build), "verdict": Verdict().context(build)}


def facts(build: Build | None) -> dict:
    """What route filters read: the state as the action ("build.failed"), the project, author and branch."""
    if build is None:
        return route_facts()
    return route_facts(build.state, build.project, build.author or None, build.branch or None)


def commit_url(repository_url: object, sha: str) -> str:
    """<repository>/commit/<sha> for an https repository URL (GitHub and GitLab read it), else ''."""
    url = repository_url if isinstance(repository_url, str) else ""
    if not (sha and url.startswith("https://")):
        return ""
    return url.removesuffix("/").removesuffix(".git") + "/commit/" + sha
