"""kombu's Redis transport, with one client per channel for its one-off commands instead of a new redis.Redis for each.

Stock kombu 5.7.0 builds a redis.Redis (about 60 us of CPU) for every acknowledgement, every
unacked write and every publish (Channel.conn_or_acquire); the connection pool behind it is the
channel's anyway, so one client per pool does the same. Written for the versions in WRITTEN_FOR;
tests/test_kombu_redis.py fails loudly when an upgrade changes what this relies on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import redis as stock

# The scheme bridge/tasks.py gives kombu for redis:// and unix:// URLs; rediss:// keeps kombu's own
# transport, since kombu turns TLS on by the transport's name.
SCHEME = "hookdock-redis"
WRITTEN_FOR = {"kombu": "5.7.0", "redis": "8.1.0"}


class Channel(stock.Channel):
    """A channel that keeps the client it makes for one-off commands, as long as its connection pool lives."""

    _one_off: Any = None

    @contextmanager
    def conn_or_acquire(self, client: Any = None) -> Iterator[Any]:
        """The client given, else this channel's one client on its current pool (a reconnect makes a new pool, and so a new client)."""
        if client is not None:
            yield client
            return
        kept = self._one_off
        if kept is None or kept.connection_pool is not self.pool:
            kept = self._one_off = self._create_client()
        yield kept


class Transport(stock.Transport):
    """kombu's Redis transport with the channel above."""

    Channel = Channel


TRANSPORT_ALIASES.setdefault(SCHEME, f"{__name__}:Transport")
