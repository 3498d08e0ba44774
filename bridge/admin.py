"""What an operator does with records: look at deliveries and events, and replay them."""

from __future__ import annotations

import re
import time
from dataclasses import asdict
from datetime import datetime

from celery import Celery

from bridge import sequence
from bridge.pipeline import Services
from bridge.store import delivery_id_for
from bridge.tasks import PROCESS_EVENT

RELATIVE = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


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


def replay(services: Services, celery: Celery, item_id: str) -> dict:
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
    celery.send_task(PROCESS_EVENT, args=[event_id], kwargs={"only_target": target or None}, headers=sequence.stamp(store.redis, "events", event_id))
    return {"replayed": item_id, "targets": todo}


def replay_failed(services: Services, celery: Celery, since: float) -> list[str]:
    """Replay every failed event and dead-lettered delivery since a time that still exists; return what was queued."""
    events, deliveries = services.store.failed_since(since)
    queued = []
    for item in events + [d for d in deliveries if d.partition(".")[0] not in events]:
        try:
            queued.append(replay(services, celery, item)["replayed"])
        except (NotFound, Refused):
            continue  # expired with the retention window, or settled since it failed
    return queued
