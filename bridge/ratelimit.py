"""Outbound pacing per target: a token bucket kept in Redis, shared by every worker process."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bridge.config import RateLimit

if TYPE_CHECKING:  # the store runs this module's Lua among its steps, so it imports this module
    from bridge.store import Store

PREFIX = "hookdock:rate:"

# GCRA, the token bucket written as one timestamp: "tat" is when the bucket would be full again.
# Redis's own clock is used so workers on different hosts agree. A caller whose wait would exceed
# max_wait reserves nothing and comes back later; otherwise its slot is reserved and it sleeps.
# A function, so that the worker's steps (bridge/store.py's STEPS) reserve exactly as RESERVE does.
RESERVING = """
local function reserve(key, interval, burst, max_wait)
  local now_parts = redis.call('TIME')
  local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
  local tat = tonumber(redis.call('GET', key) or '0')
  if tat < now then tat = now end
  local wait = tat - now - (burst - 1) * interval
  if wait < 0 then wait = 0 end
  if wait > max_wait then return tostring(wait) end
  local new_tat = tat + interval
  redis.call('SET', key, tostring(new_tat), 'PX', math.ceil((new_tat - now) * 1000) + 1000)
  return tostring(wait)
end
"""
RESERVE = RESERVING + "return reserve(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]))\n"


def bucket(target: str) -> str:
    """The key of a target's bucket."""
    return PREFIX + target


def terms(limit: RateLimit, max_wait: float) -> list[float]:
    """reserve()'s arguments after the key: the interval between sends, the burst, and the longest wait worth reserving."""
    return [1.0 / limit.per_second, limit.burst, max_wait]


class RateLimiter:
    """Reserve send slots so that a burst of events becomes a steady stream."""

    def __init__(self, store: Store):
        self.store = store

    def reserve(self, target: str, limit: RateLimit, max_wait: float) -> float:
        """Seconds until this send may go; above max_wait nothing was reserved."""
        # Over the store's own connection: a script call through redis-py's pool cost the worker twice the CPU.
        return float(self.store.call(RESERVE, [bucket(target)], terms(limit, max_wait)))
