"""What an operator does with records: look at deliveries and events, and replay them."""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import asdict, dataclass
from datetime import datetime

from bridge import broker, liveness, sequence
from bridge.logsafe import HIDDEN, hide_secrets, hide_secrets_in
from bridge.pipeline import Services
from bridge.store import Delivery, Event, delivery_id_for

RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# What an event came to, as the console filters and shows it.
OUTCOMES = ("delivered", "ignored", "failed", "queued")
# Stored headers whose values prove who sent a webhook: shown masked, whatever the source.
CREDENTIAL_HEADER = re.compile(r"(?i)signature|token|secret|auth|password|key")


class NotFound(LookupError):
    """No event or delivery with that id (or it has expired)."""


class Refused(ValueError):
    """Replaying this would do nothing, or show a message twice; the message says why and what to do."""


def parse_since(value: str | None, now: float | None = None) -> float:
    """'30m', '2h', '7d', or an ISO date/time, as a Unix time; None means the beginning."""
    if not value:
        return 0.0
    match = RELATIVE.match(value.strip())
    if match:
        return (time.time() if now is None else now) - float(match.group(1)) * UNIT_SECONDS[match.group(2)]
    try:
        return datetime.fromisoformat(value.strip()).timestamp()
    except ValueError:
        raise ValueError(f"--since {value!r}: use a duration like 30m, 2h, 7d or an ISO time like 2026-11-28T09:00") from None


def delivery_view(services: Services, delivery_id: str) -> dict:
    """A delivery as an operator sees it (its message never holds credentials)."""
    delivery = services.store.load_delivery(delivery_id)
    if delivery is None:
        raise NotFound(f"no delivery {delivery_id!r} (ids look like <event id>.<target>)")
    return asdict(delivery)


def event_view(services: Services, event_id: str) -> dict:
    """An event's record without its body, plus its deliveries."""
    event = services.store.load_event(event_id)
    if event is None:
        raise NotFound(f"no event {event_id!r}")
    view = {k: v for k, v in asdict(event).items() if k != "body"}
    route = services.config.routes.get(event.route)
    targets = route.targets if route else []
    view["deliveries"] = [d for d in (services.store.load_delivery(f"{event_id}.{t}") for t in targets) if d]
    view["deliveries"] = [asdict(d) for d in view["deliveries"]]
    return view


def events_view(services: Services, failed: bool = False, route: str | None = None, limit: int = 100) -> list[dict]:
    """Recent events, newest first, without their bodies: what became of each and why."""
    return [{k: v for k, v in asdict(e).items() if k != "body"} for e in services.store.list_events(failed, route, limit)]


def replay(services: Services, item_id: str) -> dict:
    """Queue an event (its targets not yet delivered) or one delivery again, rendered with today's templates.

    A delivered message is never sent again: its uuid is fixed, so the chat would drop the repeat
    anyway. A delivery still being tried is left to finish its round. Both are refused with why.
    """
    event_id, _, target = item_id.partition(".")
    store = services.store
    event = store.load_event(event_id)
    if event is None:
        raise NotFound(f"no event {event_id!r} to replay (it may have expired)")
    route = services.config.routes.get(event.route)
    if target and (route is None or target not in route.targets):
        raise NotFound(f"no delivery {item_id!r}: event {event_id} does not go to target {target!r}")
    deliveries = {t: store.load_delivery(delivery_id_for(event_id, t)) for t in ([target] if target else route.targets if route else [])}
    states = {t: d.status for t, d in deliveries.items() if d is not None}
    busy = sorted(t for t, status in states.items() if status in ("pending", "retrying"))
    if busy:
        raise Refused(f"{item_id}: still being delivered to {', '.join(busy)}; wait until it is delivered or fails, then replay it if it failed")
    # A processed event is replayed only where it failed; a failed, ignored or stuck one wherever it is not delivered.
    todo = [t for t in deliveries if (states.get(t) == "failed" if event.status == "processed" else states.get(t) != "delivered")]
    if not todo and (deliveries or event.status == "processed"):
        delivered = sorted(t for t, status in states.items() if status == "delivered")
        raise Refused(
            f"{item_id}: nothing to replay: already {'delivered to ' + ', '.join(delivered) if delivered else 'processed'}; "
            "a replay never posts a delivered message again"
        )
    for t in todo:
        store.forget_runs("deliveries", delivery_id_for(event_id, t))
    store.forget_runs("events", event_id)
    store.mark_event(event_id, "queued", f"replayed at {time.strftime('%Y-%m-%dT%H:%M:%S')}")
    # Queued as send_task would queue it, without loading Celery into the web worker that serves the console (about 20 MB).
    message = broker.task_message(broker.PROCESS_EVENT, [event_id], sequence.HEADER, {"only_target": target or None})
    broker.publish(store.redis, message, sequence.stamp(store.redis, "events", event_id)[sequence.HEADER])
    return {"replayed": item_id, "targets": todo}


def replay_failed(services: Services, since: float) -> list[str]:
    """Replay every failed event and dead-lettered delivery since a time that still exists; return what was queued."""
    events, deliveries = services.store.failed_since(since)
    queued = []
    for item in events + [d for d in deliveries if d.partition(".")[0] not in events]:
        try:
            queued.append(replay(services, item)["replayed"])
        except (NotFound, Refused):
            continue  # expired with the retention window, or settled since it failed
    return queued


@dataclass(frozen=True)
class EventFilter:
    """Which events a listing shows; empty fields let everything through."""

    route: str = ""
    source: str = ""
    event: str = ""
    outcome: str = ""
    since: float = 0.0
    until: float = math.inf

    def keeps(self, event: Event, outcome: str) -> bool:
        """True when the event passes every field that is set."""
        wanted = ((self.route, event.route), (self.source, event.source), (self.event, event.name), (self.outcome, outcome))
        return all(not want or want == have for want, have in wanted)


def outcome_of(event: Event, failed: set[str], busy: set[str]) -> str:
    """delivered, ignored, failed or queued: failed wins over everything, then work still to do."""
    if event.id in failed or event.status == "failed":
        return "failed"
    if event.status == "ignored":
        return "ignored"
    if event.status == "queued" or event.id in busy:
        return "queued"
    return "delivered"


def _failed_line(event: Event, deliveries: list[Delivery]) -> str:
    if event.status == "failed":
        return f"failed: {event.reason}"
    dead = [d for d in deliveries if d.status == "failed"]
    if not dead:
        return "failed"
    # The line names the targets itself; a settled delivery's reason starts with its target too.
    return f"dead letter for {', '.join(d.target for d in dead)}: {dead[0].last_error.removeprefix(f'{dead[0].target}: ')}"


def _queued_line(event: Event, deliveries: list[Delivery]) -> str:
    tried = [f"{d.target} ({d.status}, {len(d.attempts) - d.round_start} attempts)" for d in deliveries if d.status in ("pending", "retrying")]
    return "being delivered to " + ", ".join(tried) if tried else "waiting for a worker"


def _delivered_line(event: Event, deliveries: list[Delivery]) -> str:
    return "delivered to " + ", ".join(d.target for d in deliveries) if deliveries else "processed, nothing to send"


SUMMARIES = {
    "ignored": lambda event, deliveries: f"ignored: {event.reason}",
    "failed": _failed_line,
    "queued": _queued_line,
    "delivered": _delivered_line,
}


def summary(event: Event, outcome: str, deliveries: list[Delivery]) -> str:
    """One line saying what happened to an event, configured secrets hidden (a chat's error may quote one)."""
    return hide_secrets(SUMMARIES[outcome](event, deliveries))


def events_page(services: Services, wanted: EventFilter, before: float | None = None, limit: int = 50) -> tuple[list[dict], float | None]:
    """One page of events, newest first, that pass the filter; and where the next page starts (None on the last)."""
    store = services.store
    failed, busy = store.troubled()
    found: list[tuple[Event, str]] = []
    # One more than a page tells whether an older page exists.
    for event in candidates(services, wanted, failed, busy, min(before if before is not None else math.inf, wanted.until), limit + 1):
        outcome = outcome_of(event, failed, busy)
        if wanted.keeps(event, outcome):
            found.append((event, outcome))
            if len(found) > limit:
                break
    more, found = len(found) > limit, found[:limit]
    ids = [delivery_id_for(e.id, t) for e, _ in found for t in targets_of(services, e)]
    deliveries = store.load_deliveries(ids)
    rows = []
    for event, outcome in found:
        mine = [deliveries[i] for i in (delivery_id_for(event.id, t) for t in targets_of(services, event)) if i in deliveries]
        rows.append({**{k: v for k, v in asdict(event).items() if k != "body"}, "outcome": outcome, "summary": summary(event, outcome, mine)})
    return rows, (found[-1][0].received_at if more and found else None)


def candidates(services: Services, wanted: EventFilter, failed: set[str], busy: set[str], newest: float, chunk: int):
    """Events that may pass the filter, newest first, from the narrowest list at hand: failed, in flight or ignored ones, a facet's index, or all."""
    store = services.store
    if wanted.outcome == "failed":
        return store.events_among(failed, newest, wanted.since, chunk)
    if wanted.outcome == "queued":
        return store.events_among(busy | store.unsettled_events(), newest, wanted.since, chunk)
    if wanted.outcome == "ignored":
        return store.events_among(store.ignored_events(), newest, wanted.since, chunk)
    index = store.narrowest({"route": wanted.route, "source": wanted.source, "event": wanted.event})
    return store.events_between(newest, wanted.since, index=index, chunk=chunk)


def targets_of(services: Services, event: Event) -> list[str]:
    """The targets an event's route sends to now (none once the route is gone)."""
    route = services.config.routes.get(event.route)
    return route.targets if route else []


def event_page(services: Services, event_id: str) -> dict:
    """Everything an operator looks at for one event: its record, masked headers, payload, outcome and every delivery."""
    event = services.store.load_event(event_id)
    if event is None:
        raise NotFound(f"no event {event_id!r} (it may have expired)")
    failed, busy = services.store.troubled()
    outcome = outcome_of(event, failed, busy)
    deliveries = list(services.store.load_deliveries([delivery_id_for(event_id, t) for t in targets_of(services, event)]).values())
    return {
        **{k: v for k, v in asdict(event).items() if k != "body"},
        "headers": {name: masked_header(name, value) for name, value in event.headers.items()},
        "payload": pretty_payload(event.body),
        "outcome": outcome,
        "summary": summary(event, outcome, deliveries),
        # Hidden like the payload: a message quotes payload text, and a chat's error may quote any target's credential.
        "deliveries": [hide_secrets_in(asdict(d)) for d in deliveries],
    }


def masked_header(name: str, value: str) -> str:
    """A stored header as an operator may see it: credentials hidden, known secrets too."""
    return HIDDEN if CREDENTIAL_HEADER.search(name) else hide_secrets(str(value))


def pretty_payload(body: bytes) -> str:
    """The stored body, indented when it is JSON, with every configured secret hidden."""
    text = body.decode("utf-8", "replace")
    try:
        text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        pass  # form-encoded or otherwise not JSON: shown as it came
    return hide_secrets(text)


def health_view(services: Services, now: float | None = None) -> dict:
    """Dead letters per route and target over the last hour and day, the oldest failure, the queue, workers and each target's pace."""
    now = time.time() if now is None else now
    store = services.store
    recent = store.failures_between(now - 86400)
    dead = store.load_deliveries([d for d, _ in recent])
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for delivery_id, at in recent:
        delivery = dead.get(delivery_id)
        if delivery is None:
            continue
        row = counts.setdefault((delivery.route, delivery.target), {"hour": 0, "day": 0})
        row["day"] += 1
        row["hour"] += at >= now - 3600
    oldest = store.oldest_failure()
    _, busy_ids = store.troubled()
    unsettled = store.unsettled_deliveries()
    pace = [
        {
            "target": name,
            "per_second": target.rate_limit.per_second,
            "burst": target.rate_limit.burst,
            "in_flight": sum(i.endswith("." + name) for i in unsettled),
        }
        for name, target in services.config.targets.items()
    ]
    return {
        "dead_letters": [{"route": r, "target": t, **c} for (r, t), c in sorted(counts.items())],
        "oldest_failure": {"id": oldest[0], "at": oldest[1]} if oldest else None,
        "queue_depth": store.queue_depth(),
        "events_in_flight": len(busy_ids),
        "workers": liveness.living(store.redis),
        "pace": pace,
    }
