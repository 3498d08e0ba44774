"""The worker's logic, free of Celery: turn an event into deliveries, and make one delivery attempt."""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from functools import cached_property, partial
from typing import TYPE_CHECKING

import redis

from bridge import builds, metrics, targets
from bridge.build_history import BuildHistory
from bridge.config import Config
from bridge.config import Delivery as DeliveryPolicy
from bridge.messages import messages_for
from bridge.ratelimit import RateLimiter
from bridge.render import Renderer, RenderError
from bridge.sources import Rejected, source_for
from bridge.store import Delivery, Event, Steps, Store, delivery_id_for

if TYPE_CHECKING:
    from bridge.targets.client import Client

log = logging.getLogger(__name__)
# Longest pause a worker takes for the rate limit in hand; a longer one goes back to the queue.
MAX_PACING_SLEEP = 2.0


@dataclass
class Services:
    """What the web and the worker share: configuration, records and templates; and the worker's HTTP client for the chats."""

    config: Config
    store: Store
    renderers: dict[str, Renderer]
    limiter: RateLimiter
    # The built-in templates, when a failing override should fall back to them.
    fallback: Renderer | None = None
    # Earlier build results, for "back to green" (None where nothing is recorded: previews, checks).
    history: BuildHistory | None = None

    def renderer_for(self, route: str) -> Renderer:
        """The renderer with this route's lookup order."""
        return self.renderers.get(route) or self.renderers[""]

    @cached_property
    def http(self) -> Client:
        """The chats' HTTP client, made at the first send: the web never sends, and is about 4 MB smaller without requests."""
        from bridge.targets.client import Client

        return Client()


def process_loaded(
    services: Services,
    event_id: str,
    event: Event | None,
    only_target: str | None = None,
    holder: str | None = None,
    saved: dict[str, Delivery] | None = None,
    started: dict[str, int] | None = None,
    reserved: dict[str, float] | None = None,
) -> list[str]:
    """Render an event already read (None: expired) for its route's targets (or only_target): the deliveries to send, held by holder.

    saved: their records go there. started: the first delivery's run starts with the writes, its count put there.
    reserved: the first delivery's send slot is reserved with the writes too, its wait put there.
    """
    # saved spares the first attempt reading back the record it has just been handed.
    store = services.store
    if event is None:
        log.warning("event %s is gone (expired or never stored)", event_id)
        return []
    if event.status != "queued":
        # A stale task (restored after its worker died) must not start a settled event's deliveries over.
        log.info("event %s is already %s", event_id, event.status)
        return []
    route = services.config.routes.get(event.route)
    if route is None:
        store.mark_event(event_id, "failed", f"route {event.route!r} is no longer configured")
        return []
    try:
        name, payload = source_for(event.route, route).parse(event.headers, event.body)
        history = partial(services.history.record, event.route, event_id=event_id) if services.history else builds.unknown
        decision, messages, warnings = messages_for(services, event.route, name, payload, event_id, [only_target] if only_target else route.targets, history)
    except redis.RedisError:
        raise  # transient: the task retries
    except Exception as exc:  # a template error or a payload of an unexpected shape: keep the event, say why
        if isinstance(exc, RenderError):
            metrics.count(store.redis, metrics.RENDER_FAILURES, route=event.route, fallback="false")
        store.mark_event(event_id, "failed", failure_reason(exc))
        log.error("event %s failed: %s", event_id, failure_reason(exc))
        return []
    if warnings:
        metrics.count(store.redis, metrics.RENDER_FAILURES, len(warnings), route=event.route, fallback="true")
    if decision.template is None or not messages:
        kind = metrics.ignore_kind(decision.reason) if decision.template is None else "no_target_shows_it"
        metrics.count(store.redis, metrics.IGNORED, route=event.route, kind=kind)
        store.mark_event(event_id, "ignored", decision.reason)
        log.info("event %s (%s) ignored: %s", event_id, name, decision.reason)
        return []
    fresh = []
    for target, message in messages.items():
        if decision.repeat and unchanged(store, target, message):
            continue  # Jenkins' FINALIZED after COMPLETED: the same card again would be all a chat shows
        if "thread" in message:
            store.remember_thread(target, message["external_thread_id"], event.received_at, message["thread"])
        fresh.append(Delivery(delivery_id_for(event.id, target), event.id, event.route, target, message, received_at=event.received_at))
    note = "; ".join(f"template error: {w}; used the built-in template" for w in warnings)
    # Held before the event is settled, so a worker dying now leaves a trail to follow. Usually every
    # delivery is new: creating them, settling the event and starting the first one's run is one atomic write.
    steps = store.steps()
    reserving = reserved is not None and bool(fresh)
    if reserving:
        # Ahead of the writes, which stop early at a delivery on record already: its slot then goes unused, pacing a little slower.
        steps.reserve(fresh[0].target, services.config.targets[fresh[0].target].rate_limit, MAX_PACING_SLEEP)
    for delivery in fresh:
        steps.save_delivery(delivery, held_by=holder or None, create=True)
    if fresh or not decision.repeat:
        steps.mark_event(event_id, "processed", note)
        if started is not None and holder and fresh:
            steps.start_run("deliveries", fresh[0].id, holder)
    replies = steps.run()
    wait = float(replies.pop(0)) if reserving else None
    stored = next((i for i, reply in enumerate(replies[: len(fresh)]) if reply is not None), None)
    pending = fresh
    if stored is not None or (not fresh and decision.repeat):
        # A delivery on record already (a redelivered task, a replay) stopped the writes there: it and the
        # ones after it are merged with what is stored, one by one, and only then is the event settled.
        stored = len(fresh) if stored is None else stored
        later = (upsert_delivery(store, event, d.target, d.message, holder) for d in fresh[stored:])
        pending = fresh[:stored] + [d for d in later if d is not None]
        if not pending and decision.repeat:
            store.mark_event(event_id, "ignored", f"{decision.reason}, and every thread still shows it")
            return []
        store.mark_event(event_id, "processed", note)
    else:
        if started is not None and holder and fresh:
            started[fresh[0].id] = replies[-1]
        if reserved is not None and wait is not None:
            reserved[fresh[0].id] = wait
    if saved is not None:
        saved.update((d.id, d) for d in pending)
    return [d.id for d in pending]


def unchanged(store: Store, target: str, message: dict) -> bool:
    """True when the target's thread already shows this message's status (nothing happened to it since)."""
    if "thread" not in message:
        return False
    latest = store.latest_thread(target, message["external_thread_id"])
    return latest is not None and latest.get("status") == message["thread"].get("status")


def fail(services: Services, kind: str, item_id: str, reason: str) -> None:
    """Leave an event (with its unsent deliveries) or a delivery failed with the reason, listed and replayable."""
    store = services.store
    if kind == "deliveries":
        delivery = store.load_delivery(item_id)
        if delivery is not None and delivery.status not in ("delivered", "failed"):
            settle(store, delivery, "failed", reason)
        return
    store.mark_event(item_id, "failed", reason)
    log.error("event %s failed: %s", item_id, reason)
    event = store.load_event(item_id)
    route = services.config.routes.get(event.route) if event else None
    for target in route.targets if route else []:
        fail(services, "deliveries", delivery_id_for(item_id, target), f"its event failed: {reason}")


def failure_reason(exc: Exception) -> str:
    """What an operator reads on a failed event."""
    if isinstance(exc, Rejected):
        return exc.message
    if isinstance(exc, RenderError):
        return f"template error: {exc}"
    return f"could not process the payload: {type(exc).__name__}: {exc}"


def upsert_delivery(store: Store, event, target: str, message: dict, holder: str | None = None) -> Delivery | None:
    """Create the delivery, or refresh one not yet delivered, held by holder; None when it already arrived."""
    delivery = store.load_delivery(delivery_id_for(event.id, target))
    if delivery is None:
        delivery = Delivery(delivery_id_for(event.id, target), event.id, event.route, target, message, received_at=event.received_at)
    elif delivery.status == "delivered":
        return None
    else:
        # Re-rendered with today's templates; a dead letter starts a fresh round of tries.
        delivery.message = message
        if delivery.status == "failed":
            delivery.status, delivery.round_start = "pending", len(delivery.attempts)
    store.save_delivery(delivery, held_by=holder or None)
    # A redelivered task may queue a delivery twice; the message uuid keeps the post single.
    return delivery


def attempt(services: Services, delivery_id: str, fresh: Delivery | None = None, closing: Steps | None = None, reserved: float | None = None) -> float | None:
    """Try one delivery once (fresh: its record as this worker just saved it); seconds to wait before the next try, or None once settled.

    closing: steps that go with the write settling the delivery, if this attempt settles it (the task's runs ending with it).
    reserved: the wait for its send slot, when the slot was reserved with earlier writes.
    """
    store, config = services.store, services.config
    delivery = fresh if fresh is not None else store.load_delivery(delivery_id)
    if delivery is None or delivery.status in ("delivered", "failed"):
        return None
    target = config.targets.get(delivery.target)
    if target is None:
        settle(store, delivery, "failed", f"target {delivery.target!r} is no longer configured", closing=closing)
        return None
    tally = metrics.Tally()
    pause = reserved if reserved is not None else services.limiter.reserve(delivery.target, target.rate_limit, MAX_PACING_SLEEP)
    if pause > MAX_PACING_SLEEP:
        # Not an attempt: the target's pace says later (never later than a retry may wait).
        return min(pause, config.delivery.backoff_cap)
    time.sleep(pause)
    thread = delivery.message.get("external_thread_id") if targets.uses_roots(target) else None
    try:
        root = store.thread_root(delivery.target, thread) if thread else None
        route = config.routes.get(delivery.route)
        sending = targets.Sending(root, bool(route and route.allow_mentions), config.api_url)
        outcome = targets.send(services.http, target, newest_thread_state(store, delivery), sending, config.delivery.timeout)
    except redis.RedisError:
        raise  # transient: the task retries
    except Exception as exc:  # a bug must dead-letter the delivery, not leave it pending for ever
        outcome = targets.Outcome("permanent", None, 0.0, targets.redact(f"{type(exc).__name__}: {exc}", targets.secrets_of(target)))
    delivery.attempts.append(
        {
            "at": time.time(),
            "status": outcome.status,
            "duration_ms": round(outcome.duration_ms, 1),
            "error": outcome.error[:300],
            "retry_after": outcome.retry_after,
        }
    )
    # Written with the delivery's record below, in its round trip.
    tally.count(metrics.ATTEMPTS, target=delivery.target, outcome=outcome.kind)
    tally.observe(metrics.ATTEMPT_DURATION, outcome.duration_ms / 1000, target=delivery.target)
    delivery.last_status, delivery.last_error = outcome.status, outcome.error
    if outcome.kind == "delivered":
        delivery.flowdock_user, delivery.message_id = outcome.flowdock_user, outcome.message_id
        if thread and outcome.message_id is not None:
            # The item's first message becomes its thread's root; later changes reply under it.
            store.remember_root(delivery.target, thread, str(outcome.message_id))
        settle(store, delivery, "delivered", tally=tally, closing=closing)
        return None
    if outcome.kind == "permanent":
        settle(store, delivery, "failed", f"{delivery.target}: HTTP {outcome.status} is permanent", tally, closing)
        return None
    tries = len(delivery.attempts) - delivery.round_start
    if tries >= config.delivery.max_attempts:
        settle(store, delivery, "failed", f"{delivery.target}: gave up after {tries} attempts", tally, closing)
        return None
    delivery.status = "retrying"
    store.save_delivery(delivery, tally)
    wait = backoff(tries, outcome.retry_after, config.delivery)
    log.info("delivery %s: %s, retrying in %.1fs", delivery_id, outcome.status or outcome.error.split(":")[0], wait)
    return wait


def newest_thread_state(store: Store, delivery: Delivery) -> dict:
    """The message with the thread state of the newest event seen, so a late older post cannot roll it back."""
    message = delivery.message
    if "thread" not in message:
        return message
    return {**message, "thread": store.latest_thread(delivery.target, message["external_thread_id"]) or message["thread"]}


def settle(store: Store, delivery: Delivery, status: str, why: str = "", tally: metrics.Tally | None = None, closing: Steps | None = None) -> None:
    """Record a delivery's final state, with its metrics and closing's steps in the same round trip, and log it."""
    delivery.status = status
    if why:
        delivery.last_error = f"{why}; {delivery.last_error}" if delivery.last_error else why
    tally = tally or metrics.Tally()
    count_settled(tally, delivery)
    store.save_delivery(delivery, tally, then=closing)
    (log.info if status == "delivered" else log.error)("delivery %s %s %s", delivery.id, status, why)
    return None


def count_settled(tally: metrics.Tally, delivery: Delivery) -> None:
    """The metrics of a delivery that just settled; latency only for a first round, since a replay's would measure the operator."""
    tally.count(metrics.DELIVERIES, target=delivery.target, outcome=delivery.status)
    if delivery.status == "failed":
        tally.count(metrics.DEAD_LETTERS, route=delivery.route, target=delivery.target)
    elif delivery.received_at is not None and delivery.round_start == 0:
        tally.observe(metrics.LATENCY, time.time() - delivery.received_at, target=delivery.target)


def backoff(attempts: int, retry_after: float | None, policy: DeliveryPolicy) -> float:
    """Exponential backoff with jitter, at least Retry-After, never above the cap."""
    ceiling = min(policy.backoff_cap, policy.backoff_base * 2 ** (attempts - 1))
    # "Equal jitter": spread retries out while keeping a floor of half the ceiling.
    wait = random.uniform(ceiling / 2, ceiling)
    if retry_after is not None:
        wait = max(wait, retry_after)
    return min(wait, policy.backoff_cap)
