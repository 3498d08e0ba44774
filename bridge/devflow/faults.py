"""The faults devflow injects: a FIFO of deterministic ones, then an optional seeded random profile."""

from __future__ import annotations

import copy
import random
import threading
from dataclasses import dataclass, field

KINDS = ("error", "throttle", "timeout")


@dataclass
class RandomProfile:
    """Per-request chances of a 5xx, a 429 with Retry-After, and a delay past the client's timeout."""

    seed: int
    error: float = 0.0
    throttle: float = 0.0
    timeout: float = 0.0
    error_statuses: list[int] = field(default_factory=lambda: [500, 502, 503, 504])
    retry_after: str = "1"
    timeout_delay: float | None = None
    path: str | None = None
    method: str | None = None

    def applies_to(self, method: str, path: str) -> bool:
        """Tell whether a request is subject to this profile."""
        return (not self.path or path.startswith(self.path)) and (not self.method or self.method == method)

    def fault_for(self, kind: str, rng: random.Random) -> dict:
        """The fault of one kind, in the shape queued faults have."""
        return FAULT_BUILDERS[kind](self, rng)


# One small builder per kind; the timeout is a delay-only fault: the client gives up, the post is stored.
FAULT_BUILDERS = {
    "error": lambda p, rng: {"status": rng.choice(p.error_statuses), "kind": "error"},
    "throttle": lambda p, rng: {"status": 429, "retry_after": p.retry_after, "kind": "throttle"},
    "timeout": lambda p, rng: {"delay": p.timeout_delay, "kind": "timeout"},
}


class Faults:
    """Thread-safe: a queued fault that matches fires first; otherwise the random profile draws once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.clear()

    def clear(self) -> None:
        """Drop every queued fault and the random profile."""
        with self._lock:
            self._queue: list[dict] = []
            self._profile: RandomProfile | None = None
            self._rng = random.Random()
            self._drawn = dict.fromkeys(("requests", *KINDS), 0)

    def add(self, fault: dict) -> None:
        """Queue a fault behind those already queued."""
        with self._lock:
            self._queue.append(dict(fault, remaining=fault["times"]))

    def queued(self) -> list[dict]:
        """The queued faults, first to fire first."""
        with self._lock:
            return copy.deepcopy(self._queue)

    def set_random(self, profile: RandomProfile | None) -> None:
        """Replace the random profile (None removes it); its generator and counts start afresh."""
        with self._lock:
            self._profile = profile
            self._rng = random.Random(profile.seed if profile else None)
            self._drawn = dict.fromkeys(("requests", *KINDS), 0)

    def random(self) -> dict | None:
        """The random profile with how many requests it saw and how many faults of each kind it drew."""
        with self._lock:
            if self._profile is None:
                return None
            return {**copy.deepcopy(vars(self._profile)), "drawn": dict(self._drawn)}

    def take(self, method: str, path: str) -> dict | None:
        """The fault for this request, if any: one use of a queued fault, else one random draw."""
        with self._lock:
            for fault in self._queue:
                if fault.get("path") and not path.startswith(fault["path"]):
                    continue
                if fault.get("method") and fault["method"] != method:
                    continue
                fault["remaining"] -= 1
                if fault["remaining"] <= 0:
                    self._queue.remove(fault)
                return copy.deepcopy(fault)
            return self._draw(method, path)

    def _draw(self, method: str, path: str) -> dict | None:
        # Draws depend only on the order of requests, so a seed replays the same faults for the same requests.
        profile = self._profile
        if profile is None or not profile.applies_to(method, path):
            return None
        self._drawn["requests"] += 1
        roll = self._rng.random()
        for kind in KINDS:
            chance = getattr(profile, kind)
            if roll < chance:
                self._drawn[kind] += 1
                return profile.fault_for(kind, self._rng)
            roll -= chance
        return None
