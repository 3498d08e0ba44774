"""One model for alert groups: Alertmanager and Grafana map their notifications into a Group, and chat hears each episode once.

A group's thread (`<source>:group:<hash of groupKey>`) follows it: firing red, resolved green, with its alerts
as fields. Chat hears a group when it starts firing and when it resolves; a repeat notification of a group
that is already firing (Alertmanager's repeat_interval, an alert joining or leaving it, Grafana's new values)
only updates the thread. Whether a notification is a repeat depends on the ones before it: the worker
records each in the same Redis history the CI builds use (bridge/build_history.py), and judge() turns what it
says into the decision. Payload fields may be missing or of another type: every read goes through text()/obj().
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from types import ModuleType

from bridge import builds
from bridge.sources.base import Decision
from bridge.sources.common import items, obj, route_facts, text, whole

STATES = ("firing", "resolved")
# What a state counts as in the history: a firing group is a failure that a resolution ends.
RESULTS = {"firing": "fail", "resolved": "pass"}
# Alertmanager and Grafana write an alert that has not ended with Go's zero time, 0001-01-01T00:00:00Z.
NO_END = "0001-"
# Annotations and labels that lead a message, in the order looked for.
SUMMARY_KEYS = ("summary", "message", "title")
DESCRIPTION_KEYS = ("description",)
# Labels people scan first in an alert's line; the rest follow in their own order.
LEADING_LABELS = ("alertname", "severity")


@dataclass(frozen=True)
class Alert:
    """One alert of a group, as templates read it."""

    state: str
    name: str = ""
    summary: str = ""
    description: str = ""
    # "instance=db-1, job=node": the labels that tell this alert from its group's others.
    labels: str = ""
    starts_at: str = ""
    ends_at: str = ""
    url: str = ""
    silence_url: str = ""
    dashboard_url: str = ""
    panel_url: str = ""
    runbook_url: str = ""
    # Grafana's evaluated values: "B=44.2, C=1".
    values: str = ""


@dataclass(frozen=True)
class Group:
    """One alert group notification, as every alert template reads it."""

    source: str
    # The sender's groupKey: the same for every notification of one group.
    key: str
    state: str
    name: str = ""
    severity: str = ""
    summary: str = ""
    description: str = ""
    receiver: str = ""
    # Alertmanager's or Grafana's page; a runbook link when every alert shares one.
    url: str = ""
    runbook_url: str = ""
    # "job=node, team=blue": what all the alerts share, besides the name and severity already shown.
    common: str = ""
    alerts: list[Alert] = field(default_factory=list)
    firing: int = 0
    resolved: int = 0
    # Alerts the sender left out (max_alerts).
    truncated: int = 0
    labels: list[str] = field(default_factory=list)

    @property
    def thread(self) -> str:
        """The thread of this group: groupKeys are label sets of any length with quotes and braces, so their hash.

        Two Alertmanagers configured alike (staging and production) send the same groupKey; the sender's own
        address (externalURL) keeps their groups apart, while an HA pair sharing one address shares the thread.
        """
        scoped = f"{self.url}\n{self.key}".encode("utf-8", "surrogatepass")
        return f"{self.source}:group:{hashlib.sha256(scoped).hexdigest()[:24]}"

    @property
    def result(self) -> str | None:
        """'fail' while firing, 'pass' once resolved: what the history records."""
        return RESULTS.get(self.state)

    @property
    def lineage(self) -> str:
        """The notifications whose states follow one another: those of this group."""
        return self.thread

    def told_key(self, route: str, event_id: str) -> tuple[str, ...]:
        """Every notification is judged once, by its own event: a replay of it gets the same verdict."""
        return ("alert-notice", route, self.thread, event_id)

    def judge(self, decision: Decision, verdict: builds.Verdict, asked: bool) -> Decision:
        """The decision once the history is known (asked does not matter: repeats are never news)."""
        return judge(decision, self, verdict)

    def verdict_context(self, verdict: builds.Verdict) -> dict:
        """What templates read about the group's history."""
        return {"repeat": self.state == "firing" and verdict.previous == "fail", "recovered": self.state == "resolved" and verdict.previous == "fail"}


def of(source: ModuleType, event: str, payload: dict) -> Group | None:
    """The alert group an event is about, for sources that offer group(event, payload); else None."""
    group = getattr(source, "group", None)
    return group(event, payload) if group is not None else None


def label_text(labels: dict, skip: tuple[str, ...] = LEADING_LABELS) -> str:
    """'instance=db-1, job=node' from a label map, leaving out the ones already shown."""
    return ", ".join(f"{key}={text(value)}" for key, value in labels.items() if key not in skip and text(value))


def first_of(mapping: dict, keys: tuple[str, ...]) -> str:
    """The first non-empty text among keys."""
    return next((text(mapping.get(key)).strip() for key in keys if text(mapping.get(key)).strip()), "")


def values_text(values: object) -> str:
    """Grafana's values {"B": 44.2, "C": 1} as 'B=44.2, C=1' (numbers rounded for people)."""
    shown = []
    for key, value in (values if isinstance(values, dict) else {}).items():
        if isinstance(value, float):
            shown.append(f"{key}={value:.4g}")
        elif isinstance(value, (int, str)) and not isinstance(value, bool):
            shown.append(f"{key}={value}")
    return ", ".join(shown)


def alert_of(raw: dict, group_labels: dict, extra: dict) -> Alert:
    """One alert: its own labels beyond the group's, its summary, times and links."""
    labels, annotations = obj(raw, "labels"), obj(raw, "annotations")
    ends = text(raw.get("endsAt"))
    return Alert(
        state=text(raw.get("status")),
        name=text(labels.get("alertname")),
        summary=first_of(annotations, SUMMARY_KEYS),
        description=first_of(annotations, DESCRIPTION_KEYS),
        labels=label_text({k: v for k, v in labels.items() if text(group_labels.get(k)) != text(v)}),
        starts_at=text(raw.get("startsAt")),
        ends_at="" if ends.startswith(NO_END) else ends,
        url=text(raw.get("generatorURL")),
        runbook_url=text(annotations.get("runbook_url")),
        **extra,
    )


def group_of(source: str, payload: dict, extra: Callable[[dict], dict] = lambda raw: {}) -> Group | None:
    """The Group of an Alertmanager-shaped payload (v4, or Grafana's which extends it), or None without a groupKey.

    extra: the fields only one sender has (Grafana's silence and dashboard links, values), read from each raw alert.
    """
    key = text(payload.get("groupKey"))
    raw_alerts = [alert for alert in items(payload.get("alerts")) if isinstance(alert, dict)]
    if not key.strip() or not raw_alerts:
        return None
    common, annotations = obj(payload, "commonLabels"), obj(payload, "commonAnnotations")
    alerts = [alert_of(raw, common, extra(raw)) for raw in raw_alerts]
    # A group's words come from what all its alerts share, else from its first alert.
    first = obj(raw_alerts[0], "annotations")
    states = [alert.state for alert in alerts]
    return Group(
        source=source,
        key=key,
        state=text(payload.get("status")),
        name=text(common.get("alertname")) or label_text(obj(payload, "groupLabels"), ()) or ", ".join(dict.fromkeys(a.name for a in alerts if a.name)),
        severity=text(common.get("severity")),
        summary=first_of(annotations, SUMMARY_KEYS) or (alerts[0].summary if len(alerts) == 1 else ""),
        description=first_of(annotations, DESCRIPTION_KEYS) or (alerts[0].description if len(alerts) == 1 else ""),
        receiver=text(payload.get("receiver")),
        url=text(payload.get("externalURL")),
        runbook_url=text(annotations.get("runbook_url")) or (text(first.get("runbook_url")) if len(alerts) == 1 else ""),
        common=label_text(common),
        alerts=alerts,
        firing=states.count("firing"),
        resolved=states.count("resolved"),
        truncated=whole(payload.get("truncatedAlerts")) or 0,
        labels=sorted(
            {f"{k}={text(v)}" for raw in raw_alerts for k, v in obj(raw, "labels").items() if text(v)}
            | {f"{k}={text(v)}" for k, v in common.items() if text(v)}
        ),
    )


def classify(group: Group | None, template: str) -> Decision:
    """The decision without history: every firing group and every resolution goes to chat."""
    if group is None:
        return Decision(None, "the payload names no alert group (no groupKey or no alerts)")
    if group.state not in STATES:
        return Decision(None, f"alert group status {group.state!r} is not shown")
    return Decision(template, thread=group.thread)


def judge(decision: Decision, group: Group, verdict: builds.Verdict) -> Decision:
    """A group firing again, or resolved again, goes to its thread only; a new episode or its end goes to chat."""
    if decision.template is None:
        return decision
    context = group.verdict_context(verdict)
    if context["repeat"]:
        return replace(decision, reason="a repeat notification of a group already firing; it goes to the thread only", chat=False)
    if group.state == "resolved" and verdict.previous == "pass":
        return replace(decision, reason="this group's resolution was told already; it goes to the thread only", chat=False)
    return decision


def context(group: Group | None) -> dict:
    """The variables every alert template receives; the verdict of no history, which the worker replaces with the real one."""
    if group is None:
        return {}
    return {"group": asdict(group), "verdict": group.verdict_context(builds.Verdict())}


def facts(group: Group | None) -> dict:
    """What route filters read: the state as the action ("alert.firing"), and every alert's labels as name=value."""
    return route_facts() if group is None else route_facts(group.state, labels=group.labels)
