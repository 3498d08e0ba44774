"""Outbound pacing per target: a token bucket kept in Redis, shared by every worker process."""

from __future__ import annotations

from bridge.config import RateLimit
from bridge.store import Store

PREFIX = "hookdock:rate:"

# GCRA, the token bucket written as one timestamp: "tat" is when the bucket would be full again.
# Redis's own clock is used so workers on different hosts agree. A caller whose wait would exceed
# max_wait reserves nothing and comes back later; otherwise its slot is reserved and it sleeps.
RESERVE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local interval, burst, max_wait = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - now - (burst - 1) * interval
if wait < 0 then wait = 0 end
if wait > max_wait then return tostring(wait) end
local new_tat = tat + interval
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil((new_tat - now) * 1000) + 1000)
return tostring(wait)
"""


class RateLimiter:
    """Reserve send slots so that a burst of events becomes a steady stream."""

    def __init__(self, store: Store):
        self.store = store

    def reserve(self, target: str, limit: RateLimit, max_wait: float) -> float:
        """Seconds until this send may go; above max_wait nothing was reserved."""
        # Over the store's own connection: a script call through redis-py's pool cost the worker twice the CPU.
        return float(self.store.call(RESERVE, [PREFIX + target], [1.0 / limit.per_second, limit.burst, max_wait]))
