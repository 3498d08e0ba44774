"""Events, deliveries, attempts and dedupe keys in Redis, each kept for the retention window."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import uuid
from dataclasses import dataclass, field, fields
from functools import lru_cache
from typing import NamedTuple

import hiredis
import redis

from bridge import metrics, ratelimit, sequence
from bridge.broker import QUEUE, Message
from bridge.config_base import RateLimit

PREFIX = "hookdock:"
# Records fetched per round trip when listing; a long scan grows its chunks up to MAX_CHUNK.
PAGE = 200
MAX_CHUNK = 2000
# The accept script trims the time indexes on one event in this many (by queue number).
TRIM_EVERY = 16
# Dedupe, store and queue an event in one round trip, since it is on every webhook's path. An earlier
# event only counts if it was stored, so a claim whose event was lost never blocks a retry. A new
# event is numbered for the queue here (bridge/sequence.py) and its task message (bridge/broker.py),
# given as two halves, is pushed with that number written between them: stored and queued happen
# together or not at all. The push comes first, so a queue Redis refuses leaves nothing stored.
# Counted for /metrics here too (bridge/metrics.py), so the hot path takes no second round trip for it.
# The time indexes are trimmed of what left the retention window on every TRIM_EVERY-th event only: four
# ZREMRANGEBYSCOREs were a fifth of the script's cost, and readers already skip an entry whose event expired.
ACCEPT = """
local earlier = redis.call('GET', KEYS[1])
if earlier and redis.call('EXISTS', ARGV[6] .. earlier) == 1 then
  redis.call('HINCRBY', KEYS[7], ARGV[8], 1)
  return {earlier, false}
end
local seq = redis.call('INCR', KEYS[5])
if KEYS[11] then
  local pushed = redis.pcall('LPUSH', KEYS[11], ARGV[9] .. string.format('%d', seq) .. ARGV[10])
  if type(pushed) == 'table' and pushed.err then
    return redis.error_reply('NOTQUEUED ' .. pushed.err)
  end
end
redis.call('HINCRBY', KEYS[7], ARGV[7], 1)
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
redis.call('HSET', KEYS[2], 'meta', ARGV[3], 'body', ARGV[4], 'status', 'queued', 'reason', '')
redis.call('EXPIRE', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[5], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[5], ARGV[1])
for i = 8, 10 do
  redis.call('ZADD', KEYS[i], ARGV[5], ARGV[1])
end
if seq % TRIM_EVERY == 0 then
  local oldest = tonumber(ARGV[5]) - tonumber(ARGV[2])
  for _, i in ipairs({3, 8, 9, 10}) do
    redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', oldest)
  end
end
redis.call('ZADD', KEYS[6], seq, ARGV[1])
return {false, seq}
""".replace("TRIM_EVERY", str(TRIM_EVERY))
# Keep a thread's state only if it comes from an event that arrived later than the one stored.
NEWER_THREAD_STATE = """
local stored = redis.call('HGET', KEYS[1], 'at')
if (not stored) or tonumber(stored) <= tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'at', ARGV[1], 'state', ARGV[2])
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return redis.call('HGET', KEYS[1], 'state')
"""

# The worker's writes (and the one read it pairs with them) on an item, as steps run in order by one script call:
# one EVALSHA costs the client about a tenth of a MULTI of the dozen commands a delivery's record takes, and
# steps due together share a round trip (bridge/tasks.py). A task due now is received (bridge/sequence.py's
# RECEIPT, defined ahead of the steps) in the call that starts its run, rather than in one of its own, and the first
# delivery's send slot is reserved (bridge/ratelimit.py's RESERVING) with the writes that create it. Each step reads its own keys and arguments in turn
# (Steps below writes them). Metrics never fail the work they describe (pcall); any other failing command
# stops the script there, so steps queued after it did not run. A create_delivery that finds the record
# already there returns it and stops: the caller merges what is stored and writes the rest itself.
# Settling an event writes nothing for one that expired (that would leave a record without its body and TTL);
# failed and ignored ones are indexed (the console lists them without reading every event); a settled
# one no longer waits or is held. A run's count back at zero is deleted, so finished items leave no key behind.
# key() and arg() read the next key and argument; `local x, y = arg(), arg()` relies on Lua 5.1 (Redis' and Valkey's)
# evaluating an expression list left to right, which the language does not promise but that interpreter does.
STEPS = (
    sequence.RECEIPT
    + ratelimit.RESERVING
    + """
local k, a, out = 0, 0, {}
local function key()
  k = k + 1
  return KEYS[k]
end
local function arg()
  a = a + 1
  return ARGV[a]
end
local function index(name, score, member, oldest)
  redis.call('ZADD', name, score, member)
  redis.call('ZREMRANGEBYSCORE', name, '-inf', oldest)
end
local function listed(name, on, score, member, oldest)
  if on then
    index(name, score, member, oldest)
  else
    redis.call('ZREM', name, member)
  end
end
local function waits(unsettled, held, waiting, id, still, now, oldest)
  if still then
    redis.call('ZADD', unsettled, now, id)
  else
    redis.call('ZREM', unsettled, id)
    redis.call('HDEL', held, id)
    redis.call('ZREM', waiting, id)
  end
  redis.call('ZREMRANGEBYSCORE', unsettled, '-inf', oldest)
end
while a < #ARGV do
  local step = arg()
  if step == 'start_run' then
    local held, runs = key(), key()
    redis.call('HSET', held, arg(), arg())
    table.insert(out, redis.call('INCR', runs))
    redis.call('EXPIRE', runs, arg())
  elseif step == 'receive' then
    local waiting, received = key(), key()
    receipt(waiting, received, arg(), tonumber(arg()))
  elseif step == 'end_run' then
    local runs = key()
    if redis.call('DECR', runs) <= 0 then
      redis.call('DEL', runs)
    end
  elseif step == 'reserve' then
    table.insert(out, reserve(key(), tonumber(arg()), tonumber(arg()), tonumber(arg())))
  elseif step == 'load_event' then
    table.insert(out, redis.call('HGETALL', key()))
  elseif step == 'save_delivery' or step == 'create_delivery' then
    local record, all, failed, unsettled, held, waiting = key(), key(), key(), key(), key(), key()
    local id, text, ttl, created, oldest_created = arg(), arg(), arg(), arg(), arg()
    local status, now, oldest_now, holding = arg(), arg(), arg(), arg()
    if step == 'create_delivery' then
      local found = redis.call('GET', record)
      table.insert(out, found)
      if found then
        return out
      end
    end
    redis.call('SET', record, text, 'EX', ttl)
    index(all, created, id, oldest_created)
    listed(failed, status == 'failed', now, id, oldest_now)
    waits(unsettled, held, waiting, id, status == 'pending' or status == 'retrying', now, oldest_now)
    if holding ~= '' then
      redis.call('HSET', held, id, holding)
    end
  elseif step == 'mark_event' then
    local event, failed, ignored, unsettled, held, waiting = key(), key(), key(), key(), key(), key()
    local status, reason, id, now, horizon = arg(), arg(), arg(), arg(), arg()
    if redis.call('EXISTS', event) == 1 then
      redis.call('HSET', event, 'status', status, 'reason', reason)
      listed(failed, status == 'failed', now, id, horizon)
      listed(ignored, status == 'ignored', now, id, horizon)
      waits(unsettled, held, waiting, id, status == 'queued', now, horizon)
    end
  elseif step == 'count' then
    redis.pcall('HINCRBY', key(), arg(), arg())
  elseif step == 'sum' then
    redis.pcall('HINCRBYFLOAT', key(), arg(), arg())
  else
    return redis.error_reply('ERR unknown step ' .. tostring(step))
  end
end
return out
"""
)


# What the store's own connection (accepts and the worker's steps) and packer (Store._exchange, packed) were written for; tests/test_groupcommit.py
# fails once the installed versions differ.
OWN_CONNECTION_WRITTEN_FOR = {"redis": "8.1.0", "hiredis": "3.5.0"}


def packed(command: tuple) -> bytes:
    """A command in Redis' wire protocol, as one buffer: redis-py gives a body past 6000 bytes a send of its own, and each send wakes Redis."""
    # hiredis is what redis-py packs with (it is pinned); called directly, it skips redis-py's per-argument wrapper.
    return hiredis.pack_command(command)


@lru_cache(maxsize=16)
def sha_of(script: str) -> str:
    """The digest EVALSHA names a script by (worked out once per script, not per call)."""
    return hashlib.sha1(script.encode()).hexdigest()


def holding(worker: str, due: float) -> str:
    """A hold's record: which worker holds an item and when it works on it."""
    return json.dumps({"worker": worker, "due": due})


def printable(text: str) -> str:
    """Text Redis can store: a lone surrogate from a payload becomes its escape rather than an error."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def facet_index(facet: str, value: str) -> str:
    """The time index of the events of one route, source or event name, so the console lists a rare one without reading every event."""
    return f"{PREFIX}events:{facet}:{value}"


# What events are indexed by besides arrival: route, source and event name (a few dozen values, all configured or verified).
FACETS = ("route", "source", "event")


def facets(event: Event) -> tuple[tuple[str, str], ...]:
    """Each facet of an event and its value."""
    return tuple(zip(FACETS, (event.route, event.source, event.name), strict=True))


@lru_cache(maxsize=4096)
def received_indexes(route: str, source: str, name: str) -> tuple[str, ...]:
    """The facet indexes of an event with these labels (worked out once per labels, not per webhook)."""
    return tuple(facet_index(facet, value) for facet, value in zip(FACETS, (route, source, name), strict=True))


@lru_cache(maxsize=4096)
def received_fields(route: str, source: str, name: str) -> tuple[str, str]:
    """The webhooks-received counters the accept script bumps: accepted (202) and duplicate (200)."""
    labels = {"route": route, "source": source, "event": name}
    return metrics.field(metrics.RECEIVED, {**labels, "status": 202}), metrics.field(metrics.RECEIVED, {**labels, "status": 200})


def thread_key(target: str, thread_id: str) -> bytes:
    """A thread's key; payload text may hold lone surrogates, kept distinct rather than refused."""
    return f"{PREFIX}thread:{target}:{thread_id}".encode("utf-8", "surrogatepass")


def new_event_id() -> str:
    """A random, URL-safe event id."""
    return uuid.uuid4().hex


def delivery_id_for(event_id: str, target: str) -> str:
    """One delivery per (event, target), so reprocessing an event never duplicates one."""
    return f"{event_id}.{target}"


class NotQueued(redis.ResponseError):
    """Redis refused the queue's push (the queue's key holds something else): nothing was stored."""


class Accepted(NamedTuple):
    """What accept() did: the earlier event's id for a duplicate, else the new event's number in the queue."""

    earlier: str | None
    seq: int | None


@dataclass
class Event:
    """One accepted webhook: the raw body and the headers that matter."""

    id: str
    route: str
    source: str
    name: str
    sender_delivery_id: str
    headers: dict
    body: bytes = b""
    received_at: float = field(default_factory=time.time)
    status: str = "queued"
    reason: str = ""


# What an event's meta holds, in the order asdict() gave before: all of Event's fields but its body and fate.
META_FIELDS = tuple(f.name for f in fields(Event) if f.name not in ("body", "status", "reason"))


@dataclass
class Delivery:
    """One message to one target, with its fate and every attempt."""

    id: str
    event_id: str
    route: str
    target: str
    message: dict
    status: str = "pending"
    created_at: float = field(default_factory=time.time)
    updated_at: float = field(default_factory=time.time)
    last_status: int | None = None
    last_error: str = ""
    flowdock_user: str | None = None
    # The chat's id of the message: a number (Flowdock, Zulip), a Slack ts, a Matrix event id, a Discord snowflake.
    message_id: int | str | None = None
    attempts: list[dict] = field(default_factory=list)
    # Index in attempts where the current round began: a replay starts a fresh set of tries.
    round_start: int = 0
    # When its webhook arrived, for the webhook-to-message latency (None on records from before it was kept).
    received_at: float | None = None


class Store:
    """Redis-backed records; every key expires after the retention window, so memory stays bounded."""

    def __init__(self, client: redis.Redis, retention_seconds: float):
        self.redis = client
        self.ttl = int(retention_seconds)
        self.newer_thread_state = client.register_script(NEWER_THREAD_STATE)
        # Accepts and the worker's steps go over a connection of their own, one call at a time: taking one from
        # the pool and redis-py's command path cost more client CPU than the round trip's syscalls.
        self._own_lock = threading.Lock()
        self._own_connection: redis.connection.AbstractConnection | None = None
        self._own_pid = 0

    def accept(self, event: Event, message: Message | None = None) -> Accepted:
        """Store, number and queue (as message; without one, as if its task were lost) a new event in one round trip; or name the earlier event."""
        [outcome] = self.accept_many([(event, message)])
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def accept_many(self, items: list[tuple[Event, Message | None]]) -> list[Accepted | Exception]:
        """accept() for each item, all in one write and one read: each item's outcome, or its own error (NotQueued, say)."""
        # Each accept is its own atomic script call, so one item's refusal leaves the others as they would be alone.
        # A lost connection raises for the whole batch; any item's script may or may not have run, as with a lone call.
        outcomes: list = []
        for event, message in items:
            try:
                outcomes.append(packed(self._accept_command(event, message)))
            except Exception as exc:  # what this event alone would have raised, kept from its neighbours
                outcomes.append(exc)
        sent = [i for i, outcome in enumerate(outcomes) if type(outcome) is bytes]
        if sent:
            for i, reply in zip(sent, self._evalsha_all([outcomes[i] for i in sent], ACCEPT), strict=True):
                outcomes[i] = self._accepted(reply)
        return outcomes

    def _accept_command(self, event: Event, message: Message | None) -> tuple:
        """The EVALSHA of ACCEPT for one event."""
        keys = [
            self._seen_key(event),
            f"{PREFIX}event:{event.id}",
            f"{PREFIX}events",
            f"{PREFIX}unsettled:events",
            sequence.COUNTER,
            sequence.waiting_key("events"),
            metrics.KEY,
            *received_indexes(event.route, event.source, event.name),
        ]
        args = [event.id, self.ttl, self._meta(event), event.body, repr(event.received_at), f"{PREFIX}event:"]
        args += received_fields(event.route, event.source, event.name)
        if message is not None:
            keys.append(message.queue)
            args += [message.head, message.tail]
        return ("EVALSHA", sha_of(ACCEPT), len(keys), *keys, *args)

    @staticmethod
    def _accepted(reply) -> Accepted | redis.ResponseError:
        if isinstance(reply, redis.ResponseError):
            return NotQueued(str(reply)) if str(reply).startswith("NOTQUEUED") else reply
        earlier, seq = reply
        return Accepted(earlier.decode() if earlier else None, seq)

    def call(self, script: str, keys: list, args: list):
        """One call of a Lua script over the store's own connection: its reply, or its error reply raised, as redis-py's Script raises it."""
        [reply] = self._evalsha_all([packed(("EVALSHA", sha_of(script), len(keys), *keys, *args))], script)
        if isinstance(reply, Exception):
            raise reply
        return reply

    def _evalsha_all(self, commands: list[bytes], script: str) -> list:
        """Each packed EVALSHA of script and its reply (an error reply as its ResponseError); a Redis that lost its scripts gets it again first."""
        replies = self._exchange(commands)
        # After a restart or SCRIPT FLUSH no command ran: loading the script and sending them again is safe.
        missing = [i for i, reply in enumerate(replies) if isinstance(reply, redis.exceptions.NoScriptError)]
        if missing:
            self.redis.script_load(script)
            for i, reply in zip(missing, self._exchange([commands[i] for i in missing]), strict=True):
                replies[i] = reply
        return replies

    def _exchange(self, commands: list[bytes]) -> list:
        """Send commands in one write and read their replies, retried on a lost connection as redis-py retries one command."""
        with self._own_lock:
            conn = self._own_connection
            # A forked child must not share its parent's socket (their replies would cross), as redis-py's pool ensures.
            if conn is None or self._own_pid != os.getpid():
                pool = self.redis.connection_pool
                conn = self._own_connection = pool.connection_class(**pool.connection_kwargs)
                self._own_pid = os.getpid()
            # As redis-py's pool does before each use: a connection Redis closed (a restart, a timeout) or that holds
            # an unread reply is replaced, so the call goes out on a live one instead of failing once. One not open is
            # left to the call to open: can_read() would try to connect first, doubling the wait while Redis is away.
            try:
                stale = conn.is_connected and conn.can_read()
            except (redis.ConnectionError, redis.TimeoutError, OSError):
                stale = True
            if stale:
                conn.disconnect()
            try:
                return conn.retry.call_with_retry(lambda: self._send_and_read(conn, commands), lambda _error: conn.disconnect())
            except BaseException:
                conn.disconnect()  # replies may still be on their way: the next call must not read them as its own
                raise

    @staticmethod
    def _send_and_read(conn, commands: list[bytes]) -> list:
        # One send: redis-py would give a body past its 6000-byte cutoff its own sendall, and each one wakes Redis.
        conn.send_packed_command([b"".join(commands)])
        replies = []
        for _ in commands:
            try:
                replies.append(conn.read_response())
            except redis.ResponseError as exc:
                replies.append(exc)
        return replies

    def save_event(self, event: Event) -> None:
        """Store an event and index it by arrival time (no dedupe: accept() is the webhook's way in)."""
        key = f"{PREFIX}event:{event.id}"
        pipe = self.redis.pipeline()
        pipe.hset(key, mapping={"meta": self._meta(event), "body": event.body, "status": event.status, "reason": event.reason})
        pipe.expire(key, self.ttl)
        self._index(pipe, "events", event.id, event.received_at)
        for facet, value in facets(event):
            self._index(pipe, facet_index(facet, value).removeprefix(PREFIX), event.id, event.received_at)
        pipe.execute()

    def load_event(self, event_id: str) -> Event | None:
        """The stored event, or None once it has expired."""
        return event_from(self.redis.hgetall(f"{PREFIX}event:{event_id}"))

    def mark_event(self, event_id: str, status: str, reason: str = "") -> None:
        """Record what became of an event: processed, ignored or failed, and why (nothing once it has expired)."""
        self.steps().mark_event(event_id, status, reason).run()

    def failed_since(self, since: float) -> tuple[list[str], list[str]]:
        """Ids of events and of deliveries that failed at or after since, oldest first."""
        events = self.redis.zrangebyscore(f"{PREFIX}failed-events", since, "+inf")
        deliveries = self.redis.zrangebyscore(f"{PREFIX}failed", since, "+inf")
        return [e.decode() for e in events], [d.decode() for d in deliveries]

    def save_delivery(self, delivery: Delivery, tally: metrics.Tally | None = None, held_by: str | None = None, then: Steps | None = None) -> None:
        """Write a delivery record whole, in one round trip with the metrics of the work on it, who holds it now and then's steps; dead letters are indexed too."""
        steps = self.steps().save_delivery(delivery, tally, held_by)
        if then is not None:
            steps.carry(then)
        steps.run()

    def load_delivery(self, delivery_id: str) -> Delivery | None:
        """The stored delivery, or None."""
        raw = self.redis.get(f"{PREFIX}delivery:{delivery_id}")
        return Delivery(**json.loads(raw)) if raw else None

    def list_deliveries(self, failed: bool = False, route: str | None = None, limit: int = 100) -> list[Delivery]:
        """Newest first; only dead letters when failed."""
        ids = self.redis.zrevrange(f"{PREFIX}{'failed' if failed else 'deliveries'}", 0, -1)
        found = []
        for start in range(0, len(ids), PAGE):
            keys = [f"{PREFIX}delivery:{i.decode()}" for i in ids[start : start + PAGE]]
            for raw in filter(None, self.redis.mget(keys)):
                delivery = Delivery(**json.loads(raw))
                if route is None or delivery.route == route:
                    found.append(delivery)
                    if len(found) >= limit:
                        return found
        return found

    def list_events(self, failed: bool = False, route: str | None = None, limit: int = 100) -> list[Event]:
        """Newest first, without their bodies; only failed ones when failed."""
        ids = [i.decode() for i in self.redis.zrevrange(f"{PREFIX}{'failed-events' if failed else 'events'}", 0, -1)]
        found = []
        for start in range(0, len(ids), PAGE):
            pipe = self.redis.pipeline(transaction=False)
            for event_id in ids[start : start + PAGE]:
                pipe.hmget(f"{PREFIX}event:{event_id}", "meta", "status", "reason")
            for meta, status, reason in pipe.execute():
                if meta is None:
                    continue  # expired; its index entry goes with the next write
                event = Event(**json.loads(meta), status=status.decode(), reason=reason.decode())
                if route is None or event.route == route:
                    found.append(event)
                    if len(found) >= limit:
                        return found
        return found

    def events_between(self, newest: float, oldest: float, index: str = f"{PREFIX}events", chunk: int = PAGE):
        """Events received in [oldest, newest) (of a facet_index, or all), newest first, without their bodies, read chunk by chunk."""
        high, skip = f"({newest!r}", set()
        while True:
            ids = self.redis.zrevrangebyscore(index, high, oldest, start=0, num=chunk, withscores=True)
            fresh = [i.decode() for i, _ in ids if i not in skip]
            yield from self._events(fresh)
            if len(ids) < chunk or not fresh:
                return
            # The next chunk starts at the last score again, skipping what was read there, so equal scores are never lost;
            # a reader that wants more (a filter that passes few) gets bigger chunks.
            last = ids[-1][1]
            high, skip, chunk = repr(last), {i for i, at in ids if at == last}, min(chunk * 2, MAX_CHUNK)

    def events_among(self, event_ids: set[str], newest: float, oldest: float, chunk: int = PAGE):
        """These events, those received in [oldest, newest), newest first, without their bodies."""
        ordered = sorted(event_ids)
        scores = self.redis.zmscore(f"{PREFIX}events", ordered) if ordered else []
        kept = sorted(((at, i) for i, at in zip(ordered, scores, strict=True) if at is not None and oldest <= at < newest), reverse=True)
        for start in range(0, len(kept), chunk):
            yield from self._events([i for _, i in kept[start : start + chunk]])

    def _events(self, event_ids: list[str]) -> list[Event]:
        """The stored ones among these events, without their bodies, in one round trip."""
        pipe = self.redis.pipeline(transaction=False)
        for event_id in event_ids:
            pipe.hmget(f"{PREFIX}event:{event_id}", "meta", "status", "reason")
        found = pipe.execute() if event_ids else []
        # An expired one's index entry goes with the next write.
        return [Event(**json.loads(meta), status=status.decode(), reason=reason.decode()) for meta, status, reason in found if meta is not None]

    def narrowest(self, wanted: dict[str, str]) -> str:
        """Of the facet indexes these (facet, value) pairs name, the one holding fewest events; the index of all without any."""
        keys = [facet_index(facet, value) for facet, value in wanted.items() if value]
        if not keys:
            return f"{PREFIX}events"
        pipe = self.redis.pipeline(transaction=False)
        for key in keys:
            pipe.zcard(key)
        return min(zip(pipe.execute(), keys, strict=True))[1]

    def ignored_events(self) -> set[str]:
        """Ids of events recorded as ignored."""
        return {e.decode() for e in self.redis.zrange(f"{PREFIX}ignored-events", 0, -1)}

    def unsettled_events(self) -> set[str]:
        """Ids of events still waiting to be processed."""
        return {e.decode() for e in self.redis.zrange(f"{PREFIX}unsettled:events", 0, -1)}

    def load_deliveries(self, delivery_ids: list[str]) -> dict[str, Delivery]:
        """The stored ones among these deliveries, in one round trip."""
        if not delivery_ids:
            return {}
        found = self.redis.mget([f"{PREFIX}delivery:{i}" for i in delivery_ids])
        return {i: Delivery(**json.loads(raw)) for i, raw in zip(delivery_ids, found, strict=True) if raw}

    def troubled(self) -> tuple[set[str], set[str]]:
        """Ids of events with a failure (the event or one of its deliveries) and of events with a delivery still being tried."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.zrange(f"{PREFIX}failed-events", 0, -1)
        pipe.zrange(f"{PREFIX}failed", 0, -1)
        pipe.zrange(f"{PREFIX}unsettled:deliveries", 0, -1)
        events, deliveries, unsettled = pipe.execute()
        failed = {e.decode() for e in events} | {d.decode().partition(".")[0] for d in deliveries}
        return failed, {d.decode().partition(".")[0] for d in unsettled}

    def unsettled_deliveries(self) -> list[str]:
        """Ids of deliveries still being tried (pending or retrying)."""
        return [d.decode() for d in self.redis.zrange(f"{PREFIX}unsettled:deliveries", 0, -1)]

    def failures_between(self, oldest: float, newest: float = float("inf")) -> list[tuple[str, float]]:
        """(delivery id, when it failed) of dead letters in a time range, oldest first."""
        return [(d.decode(), at) for d, at in self.redis.zrangebyscore(f"{PREFIX}failed", oldest, newest, withscores=True)]

    def oldest_failure(self) -> tuple[str, float] | None:
        """The dead letter that failed longest ago, with when; None without any."""
        found = self.redis.zrange(f"{PREFIX}failed", 0, 0, withscores=True)
        return (found[0][0].decode(), found[0][1]) if found else None

    def queue_depth(self) -> int:
        """Tasks waiting in the Celery queue (the default queue, a Redis list)."""
        return int(self.redis.llen(QUEUE))

    def remember_thread(self, target: str, thread_id: str, arrived_at: float, state: dict) -> dict:
        """Keep state if its event is the newest seen for this thread; return the newest state."""
        key = thread_key(target, thread_id)
        return json.loads(self.newer_thread_state(keys=[key], args=[repr(arrived_at), json.dumps(state), self.ttl]))

    def latest_thread(self, target: str, thread_id: str) -> dict | None:
        """The state of the newest event seen for this thread, if any."""
        raw = self.redis.hget(thread_key(target, thread_id), "state")
        return json.loads(raw) if raw else None

    def thread_root(self, target: str, thread_id: str) -> str | None:
        """The chat's id of a thread's first delivered message on a target, if one was remembered."""
        raw = self.redis.hget(thread_key(target, thread_id), "root")
        return raw.decode() if raw else None

    def remember_root(self, target: str, thread_id: str, message_id: str) -> None:
        """Keep the first root only: a message delivered later (a retry, a race) does not move the thread."""
        key = thread_key(target, thread_id)
        pipe = self.redis.pipeline()
        pipe.hsetnx(key, "root", message_id)
        pipe.expire(key, self.ttl)
        pipe.execute()

    def hold(self, kind: str, item_id: str, worker: str, due: float) -> None:
        """Note that a worker holds an item and will work on it at due (now, or when its retry is due)."""
        self.redis.hset(f"{PREFIX}held:{kind}", item_id, holding(worker, due))

    def holdings(self, kind: str) -> dict[str, dict]:
        """Every item a worker holds, with the worker and when it is due; settled ones are let go here."""
        held = {i.decode(): json.loads(v) for i, v in self.redis.hgetall(f"{PREFIX}held:{kind}").items()}
        pipe = self.redis.pipeline(transaction=False)
        for item_id in held:
            pipe.zscore(f"{PREFIX}unsettled:{kind}", item_id)
        settled = [i for i, score in zip(held, pipe.execute(), strict=True) if score is None]
        self.release(kind, *settled)
        return {i: h for i, h in held.items() if i not in settled}

    def release(self, kind: str, *item_ids: str) -> None:
        """Forget who held these items: they are settled, or back in the queue for anyone."""
        if item_ids:
            self.redis.hdel(f"{PREFIX}held:{kind}", *item_ids)

    def steps(self) -> Steps:
        """Writes to gather and send as one script call."""
        return Steps(self)

    def forget_runs(self, kind: str, item_id: str) -> None:
        """A replay starts over: earlier crashes no longer count against the item."""
        self.redis.delete(f"{PREFIX}runs:{kind}:{item_id}")

    @staticmethod
    def _meta(event: Event) -> str:
        """Everything about an event but its body and fate, as JSON (named field by field: asdict would deep-copy the body too)."""
        return json.dumps({name: getattr(event, name) for name in META_FIELDS})

    def _seen_key(self, event: Event) -> str:
        return f"{PREFIX}seen:{event.route}:{event.sender_delivery_id}"

    def ping(self) -> bool:
        """True when Redis answers."""
        return bool(self.redis.ping())

    def _index(self, pipe, name: str, member: str, when: float) -> None:
        """Add to a time index and drop entries older than the retention window."""
        key = f"{PREFIX}{name}"
        pipe.zadd(key, {member: when})
        pipe.zremrangebyscore(key, "-inf", when - self.ttl)


def event_from(data: dict) -> Event | None:
    """An event from its hash as HGETALL gives it (a dict, or a script's flat list of fields and values); None for none."""
    if isinstance(data, list):
        data = dict(zip(data[::2], data[1::2], strict=True))
    if not data:
        return None
    meta = json.loads(data[b"meta"])
    return Event(**meta, body=data[b"body"], status=data[b"status"].decode(), reason=data[b"reason"].decode())


class Steps:
    """Store writes (and an event's read) gathered to run in order as one STEPS script call: one round trip for all of them."""

    def __init__(self, store: Store):
        self.store = store
        self.keys: list[str] = []
        self.args: list = []
        # Set once the script call that ran these steps (theirs, or the one of the steps that carried them) succeeded.
        self.done = False
        self.carrier: Steps | None = None

    def _step(self, name: str, keys: list[str], args: list) -> Steps:
        self.keys += keys
        self.args += [name, *args]
        return self

    def start_run(self, kind: str, item_id: str, worker: str) -> Steps:
        """Hold an item for a task starting on it now, and count the run; its reply is the count of runs not finished, this one included."""
        return self._step("start_run", [f"{PREFIX}held:{kind}", f"{PREFIX}runs:{kind}:{item_id}"], [item_id, holding(worker, time.time()), self.store.ttl])

    def receive(self, kind: str, item_id: str, seq: int) -> Steps:
        """The item's task, numbered seq, reached a worker (bridge/sequence.py's RECEIPT; start_run writes the hold); no reply."""
        return self._step("receive", [sequence.waiting_key(kind), sequence.RECEIVED], [item_id, int(seq)])

    def end_run(self, kind: str, item_id: str) -> Steps:
        """A run finished (whatever its outcome): only runs cut short by a dying worker stay counted; no reply."""
        return self._step("end_run", [f"{PREFIX}runs:{kind}:{item_id}"], [])

    def reserve(self, target: str, limit: RateLimit, max_wait: float) -> Steps:
        """RateLimiter.reserve's, as bridge/ratelimit.py's RESERVING does it: its reply is the wait in seconds, as text."""
        return self._step("reserve", [ratelimit.bucket(target)], ratelimit.terms(limit, max_wait))

    def load_event(self, event_id: str) -> Steps:
        """The event's hash as a flat list (event_from reads it); empty once it has expired."""
        return self._step("load_event", [f"{PREFIX}event:{event_id}"], [])

    def save_delivery(self, delivery: Delivery, tally: metrics.Tally | None = None, held_by: str | None = None, create: bool = False) -> Steps:
        """Store.save_delivery's writes; with create, only if no record is stored yet: its reply is the stored record (the script stops there) or None."""
        delivery.updated_at = now = time.time()
        ttl = self.store.ttl
        kind = "deliveries"
        keys = [
            f"{PREFIX}delivery:{delivery.id}",
            f"{PREFIX}deliveries",
            f"{PREFIX}failed",
            f"{PREFIX}unsettled:{kind}",
            f"{PREFIX}held:{kind}",
            sequence.waiting_key(kind),
        ]
        # vars, not asdict: json.dumps walks the message itself, asdict would deep-copy it first.
        args = [delivery.id, json.dumps(vars(delivery)), ttl, repr(delivery.created_at), repr(delivery.created_at - ttl), delivery.status]
        args += [repr(now), repr(now - ttl), holding(held_by, now) if held_by is not None else ""]
        self._step("create_delivery" if create else "save_delivery", keys, args)
        if tally is not None:
            for field, n in tally.counts:
                self._step("count", [metrics.KEY], [field, n])
            for field, seconds in tally.sums:
                self._step("sum", [metrics.KEY], [field, repr(seconds)])
        return self

    def mark_event(self, event_id: str, status: str, reason: str = "") -> Steps:
        """Store.mark_event's; no reply."""
        keys = [f"{PREFIX}event:{event_id}", f"{PREFIX}failed-events", f"{PREFIX}ignored-events"]
        keys += [f"{PREFIX}unsettled:events", f"{PREFIX}held:events", sequence.waiting_key("events")]
        now = time.time()
        return self._step("mark_event", keys, [status, printable(reason), event_id, repr(now), repr(now - self.store.ttl)])

    def carry(self, other: Steps) -> Steps:
        """Take other's steps, to run after these: other is written when these are."""
        self.keys += other.keys
        self.args += other.args
        other.keys, other.args, other.carrier = [], [], self
        return self

    def run(self) -> list:
        """Run the steps gathered (in one round trip) and start afresh; the replies of those that give one, in order."""
        keys, args = self.keys, self.args
        self.keys, self.args = [], []
        if not args:
            self.done = True
            return []
        reply = self.store.call(STEPS, keys, args)
        self.done = True
        return list(reply)

    @property
    def written(self) -> bool:
        """Whether these steps reached Redis: their call, or the call of the steps that carried them, succeeded."""
        return self.done or (self.carrier is not None and self.carrier.written)
