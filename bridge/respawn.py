"""When serve restarts a child that exited: after a short, growing wait, unless it keeps dying."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

# More exits than this within the window and the child is given up on: restarting it again would only hide the cause.
MAX_EXITS = 5
WINDOW = 60.0
FIRST_WAIT = 0.25
LONGEST_WAIT = 2.0


@dataclass
class Respawn:
    """The recent exits of one child, and what to do about the next."""

    exits: deque[float] = field(default_factory=deque)

    def exited(self, now: float) -> float | None:
        """Note an exit at now (monotonic seconds); return the wait before restarting, or None to give up."""
        self.exits.append(now)
        while self.exits[0] <= now - WINDOW:
            self.exits.popleft()
        if len(self.exits) > MAX_EXITS:
            return None
        return min(LONGEST_WAIT, FIRST_WAIT * 2 ** (len(self.exits) - 1))

    def recent(self) -> int:
        """How many exits the window holds."""
        return len(self.exits)
