"""Group commit: what concurrent callers hand in at once is flushed together, one round trip for the lot.

A caller that finds no flush in flight flushes at once (a lone request waits for nothing); callers that
arrive meanwhile queue, and the first of them leads the next flush with those queued by then (MOST at most). No timer
ever holds an item back. threading's primitives are gevent's under the gunicorn worker (it patches them).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

# Items per flush at most: in an overload hundreds may queue, and a flush holds a packed copy of each at once.
MOST = 32
Item = TypeVar("Item")
Result = TypeVar("Result")


class Interrupted(RuntimeError):
    """The caller leading a flush was stopped before it finished (a killed greenlet): its outcome is unknown."""


class _Waiter(Generic[Item, Result]):
    """One caller's item, and what the flush made of it."""

    __slots__ = ("item", "ready", "leads", "result", "error")

    def __init__(self, item: Item):
        self.item = item
        self.ready = threading.Event()
        self.leads = False
        self.result: Result | None = None
        self.error: BaseException | None = None

    def outcome(self) -> Result:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]  # set by the flush whenever error is not


class GroupCommit(Generic[Item, Result]):
    """Runs flush(items) -> one result per item, for every caller waiting; a result that is an exception is raised to its caller only."""

    def __init__(self, flush: Callable[[list[Item]], list[Result | Exception]], most: int = MOST):
        self._flush = flush
        self._most = most
        self._lock = threading.Lock()
        self._queue: list[_Waiter[Item, Result]] = []
        self._busy = False

    @property
    def queued(self) -> int:
        """Callers waiting for the next flush."""
        return len(self._queue)

    def submit(self, item: Item) -> Result:
        """The item's result, flushed with whatever else is waiting; its exception if the flush failed."""
        waiter: _Waiter[Item, Result] = _Waiter(item)
        with self._lock:
            self._queue.append(waiter)
            leads, self._busy = not self._busy, True
        if not leads:
            try:
                waiter.ready.wait()
            except BaseException:
                self._withdraw(waiter)
                raise
            if not waiter.leads:
                return waiter.outcome()
        self._lead()
        return waiter.outcome()

    def _withdraw(self, waiter: _Waiter[Item, Result]) -> None:
        """Take a caller stopped while waiting out of the queue, passing on the lead if it had just been handed it."""
        with self._lock:
            # Still queued means no flush took its item: dropping it loses nothing (its caller answers no one).
            if waiter in self._queue:
                self._queue.remove(waiter)
            handed = waiter.leads
        if handed:
            # Otherwise no one would lead again: every later caller would queue behind a flush that never comes.
            self._hand_over([])

    def _lead(self) -> None:
        """Flush the first MOST queued, hand each their outcome, then pass the lead to the first still queued."""
        with self._lock:
            batch, self._queue = self._queue[: self._most], self._queue[self._most :]
        try:
            results = self._flush([w.item for w in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"a flush of {len(batch)} items gave {len(results)} results")
            for waiter, result in zip(batch, results, strict=True):
                if isinstance(result, Exception):
                    waiter.error = result
                else:
                    waiter.result = result
        except Exception as exc:
            for waiter in batch:
                waiter.error = exc
        except BaseException:
            # This caller is being stopped; the others get an error of their own rather than its GreenletExit.
            for waiter in batch:
                waiter.error = Interrupted("the flush carrying this item was interrupted")
            raise
        finally:
            self._hand_over(batch)

    def _hand_over(self, batch: list[_Waiter[Item, Result]]) -> None:
        for waiter in batch:
            waiter.ready.set()
        with self._lock:
            following = self._queue[0] if self._queue else None
            if following is None:
                self._busy = False
            else:
                following.leads = True
        if following is not None:
            following.ready.set()
