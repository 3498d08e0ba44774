"""Where each queued task stands in the broker's queue, so a task the queue passed over can be told from one still waiting.

Kombu's Redis queue is first in, first out (LPUSH to publish, BRPOP to consume), and a retry's
countdown is published at once and held by the worker that receives it. So each publish takes the
next number of one counter, and the item waits under that number until a worker receives the
task. The highest number any worker has received says how far the queue has been consumed: an
item still waiting under a lower number was taken off the queue and never received (its worker
died in between). When the queue is empty, everything published so far was taken off it.
A task with a countdown is received as it reaches its worker (and held until due); one due now,
as its run starts, in the round trip that holds it (bridge/tasks.py).
Tasks published and received in slightly different orders by concurrent processes are allowed
for by a grace: an item counts as passed over only once the queue had gone past it GRACE seconds
ago and it is still not received.
"""

from __future__ import annotations

import functools
import json
import time

import redis

# The store's prefix: the store numbers accepted events itself, so this module sits below it.
PREFIX = "hookdock:"

# Message header carrying the publish's number.
HEADER = "hookdock_seq"
COUNTER = f"{PREFIX}seq"
RECEIVED = f"{PREFIX}seq:received"
# Recent readings of how far the queue was consumed (member) and when first seen (score).
MARKS = f"{PREFIX}seq:marks"
# The furthest the queue had been consumed at least GRACE seconds ago.
PASSED = f"{PREFIX}seq:passed"
# Long enough for any receiver to record what it popped; with 5 s sweeps a lost task is back within ~40 s.
GRACE = 30.0

# Publishing hands the item to the queue: it waits under its new number, nobody holds it, and an
# unsettled item counts as touched now.
STAMP = """
local seq = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], seq, ARGV[1])
redis.call('HDEL', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[4], 'XX', ARGV[2], ARGV[1])
return seq
"""
# What receiving a task numbered seq means, besides its hold: the item no longer waits unless a later
# publish is still queued, and the queue has been consumed at least this far. A Lua function, so that
# RECEIVE and the store's STEPS (where a task due now is received as its run starts) say it once.
RECEIPT = """
local function receipt(waiting, received, id, seq)
  local number = redis.call('ZSCORE', waiting, id)
  if number and tonumber(number) <= seq then
    redis.call('ZREM', waiting, id)
  end
  if seq > tonumber(redis.call('GET', received) or '0') then
    redis.call('SET', received, seq)
  end
end
"""
# A worker received a task: it holds the item (and, numbered, receives it as RECEIPT says).
RECEIVE = (
    RECEIPT
    + """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] ~= '' then
  receipt(KEYS[2], KEYS[3], ARGV[1], tonumber(ARGV[3]))
end
"""
)
# Note how far the queue is consumed now; return how far it was at least a grace ago.
ADVANCE = """
local now, grace = tonumber(ARGV[1]), tonumber(ARGV[2])
local reached = redis.call('GET', KEYS[3])
if redis.call('LLEN', KEYS[1]) == 0 then
  reached = redis.call('GET', KEYS[2])
end
redis.call('ZADD', KEYS[4], 'NX', now, reached or '0')
local passed = tonumber(redis.call('GET', KEYS[5]) or '0')
for _, mark in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now - grace)) do
  passed = math.max(passed, tonumber(mark))
end
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - grace)
redis.call('SET', KEYS[5], passed)
return passed
"""
# Items waiting under a number the queue has passed, still unsettled; settled leftovers are dropped.
PASSED_OVER = """
local found = {}
for _, item in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])) do
  if redis.call('ZSCORE', KEYS[2], item) then
    table.insert(found, item)
  else
    redis.call('ZREM', KEYS[1], item)
  end
end
return found
"""

# Unsettled items untouched since a time that neither wait under a number nor are held: queued
# by an older version, or left so by a Redis restart. Scans a bounded number of the oldest.
UNTRACKED = """
local found = {}
for _, item in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])) do
  if not redis.call('ZSCORE', KEYS[2], item) and redis.call('HEXISTS', KEYS[3], item) == 0 then
    table.insert(found, item)
    if #found >= tonumber(ARGV[3]) then
      break
    end
  end
end
return found
"""


@functools.lru_cache(maxsize=64)
def _script(client: redis.Redis, source: str):
    """A Lua script bound to client, made once: these run for every task a worker receives or publishes."""
    return client.register_script(source)


def waiting_key(kind: str) -> str:
    """Items of a kind published and not yet received, scored by their publish's number."""
    return f"{PREFIX}waiting:{kind}"


def stamp(client: redis.Redis, kind: str, item_id: str) -> dict:
    """Number the publish about to happen for this item; return the message headers that carry it."""
    keys = [COUNTER, waiting_key(kind), f"{PREFIX}held:{kind}", f"{PREFIX}unsettled:{kind}"]
    seq = _script(client, STAMP)(keys=keys, args=[item_id, repr(time.time())])
    return {HEADER: seq}


def receive(client: redis.Redis, kind: str, item_id: str, worker: str, due: float, seq: int | None) -> None:
    """A worker received an item's task, due then (numbered seq, or None if unnumbered): hold it, in one round trip."""
    keys = [f"{PREFIX}held:{kind}", waiting_key(kind), RECEIVED]
    hold = json.dumps({"worker": worker, "due": due})
    _script(client, RECEIVE)(keys=keys, args=[item_id, hold, "" if seq is None else int(seq)])


def idle(client: redis.Redis, queue: str) -> bool:
    """No task queued, none taken off the queue and not yet received, no item in a worker's hands: nothing unsettled can still be posted."""
    # Settling an item lets go of its hold and of its number, so once everything has settled this holds at once.
    busy = client.pipeline(transaction=False)
    busy.llen(queue)
    for kind in ("events", "deliveries"):
        busy.zcard(waiting_key(kind))
        busy.hlen(f"{PREFIX}held:{kind}")
    return not any(busy.execute())


def advance(client: redis.Redis, queue: str, now: float) -> int:
    """Note how far the queue has been consumed; return the number it had passed at least GRACE seconds ago."""
    return int(_script(client, ADVANCE)(keys=[queue, COUNTER, RECEIVED, MARKS, PASSED], args=[repr(now), GRACE]))


def passed_over(client: redis.Redis, kind: str, passed: int, limit: int = 200) -> list[str]:
    """Unsettled items whose task the queue passed at or before number passed without a worker receiving it."""
    found = _script(client, PASSED_OVER)(keys=[waiting_key(kind), f"{PREFIX}unsettled:{kind}"], args=[passed, limit])
    return [item.decode() for item in found]


def untracked(client: redis.Redis, kind: str, before: float, limit: int = 200, scan: int = 2000) -> list[str]:
    """Unsettled items untouched since before that no number and no hold account for."""
    keys = [f"{PREFIX}unsettled:{kind}", waiting_key(kind), f"{PREFIX}held:{kind}"]
    return [item.decode() for item in _script(client, UNTRACKED)(keys=keys, args=[repr(before), scan, limit])]
