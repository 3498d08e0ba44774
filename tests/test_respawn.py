"""How serve treats a child that exits: restart after a short, growing wait; give up on one that keeps dying."""

from __future__ import annotations

import pytest

from bridge.respawn import Respawn

CASES = [
    # (exit times in seconds, wait after the last one: None means give up)
    ([0], 0.25),
    ([0, 1], 0.5),
    ([0, 1, 2, 3], 2.0),
    ([0, 1, 2, 3, 4], 2.0),
    ([0, 1, 2, 3, 4, 5], None),
    ([0, 10, 20, 30, 40, 59.9], None),
    ([0, 10, 20, 30, 40, 60], 2.0),  # the first left the 60 s window
    ([0, 100, 200, 300, 400, 500, 600], 0.25),  # rare deaths never add up
]


@pytest.mark.parametrize("times, wait", CASES, ids=[f"{len(t)}-exits-over-{t[-1]}s" for t, _ in CASES])
def test_wait_grows_and_gives_up_past_five_exits_in_sixty_seconds(times, wait):
    respawn = Respawn()
    waits = [respawn.exited(t) for t in times]
    assert waits[-1] == wait
    assert all(w is not None for w in waits[:-1])
