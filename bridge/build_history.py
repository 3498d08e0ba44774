"""The result of the last build per route and lineage (source, project, workflow, branch), kept in Redis.

Alert groups (bridge/alerts.py) use the same history: a group is its own lineage, firing is a "fail" and
resolved a "pass", and every notification is told once by its own event (its told_key), so a repeat of a
firing group finds "fail" before it.

record() runs in the worker, once per event that carries a build result. Its first call for a build's
result updates the lineage and keeps the verdict it gave (who was first, the result before, failures in
a row) under the build and result; every later call for that result (a redelivered or replayed event,
two workers at once, Jenkins' FINALIZED after COMPLETED) returns the kept verdict and changes nothing.
A build restarted with another result (Travis restarts keep their id) is a result of its own.
Both keys live in Redis, so a restarted worker reads the same history.
"""

from __future__ import annotations

import redis

from bridge.builds import Tracked, Verdict
from bridge.store import PREFIX

# A lineage outlives the retention window: a branch built once a month still hears "back to green".
LINEAGE_SECONDS = 90 * 86400
RECORD = """
local told = redis.call('GET', KEYS[2])
if told then
  return told
end
local previous = redis.call('HGET', KEYS[1], 'result') or ''
local failures = tonumber(redis.call('HGET', KEYS[1], 'failures') or '0')
local verdict = previous .. '|' .. failures .. '|' .. ARGV[2]
if ARGV[1] == 'fail' then
  if previous ~= 'fail' then
    failures = 0
  end
  redis.call('HSET', KEYS[1], 'result', 'fail', 'failures', failures + 1)
else
  redis.call('HSET', KEYS[1], 'result', 'pass', 'failures', 0)
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('SET', KEYS[2], verdict, 'EX', ARGV[3])
return verdict
"""


def key(*parts: str) -> bytes:
    """A Redis key from payload text; lone surrogates stay distinct rather than fail."""
    return (PREFIX + ":".join(parts)).encode("utf-8", "surrogatepass")


class BuildHistory:
    """Records build results; one per Redis client (the script is bound once)."""

    def __init__(self, client: redis.Redis, retention_seconds: float):
        self.record_script = client.register_script(RECORD)
        self.retention = int(retention_seconds)

    def record(self, route: str, build: Tracked, event_id: str) -> Verdict:
        """The verdict on this build's (or alert group's) result for this route: recorded now if no event told it before."""
        if build.result is None:
            return Verdict()
        keys = [key("build-lineage", route, build.lineage), key(*build.told_key(route, event_id))]
        args: list[str | int] = [build.result, event_id, self.retention, max(LINEAGE_SECONDS, self.retention)]
        previous, failures, first_event = self.record_script(keys=keys, args=args).decode().split("|", 2)
        return Verdict(previous, int(failures), first_event == event_id)
