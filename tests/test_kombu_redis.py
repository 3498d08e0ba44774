"""bridge/kombu_redis.py: kombu's Redis channel keeps one client for its one-off commands, and still acknowledges and publishes.

These tests guard what bridge/kombu_redis.py overrides in kombu's internals. When one fails after an
upgrade, re-read kombu/transport/redis.py (Channel.conn_or_acquire, Channel._create_client,
Channel.pool, Channel._disconnect_pools, QoS.append, QoS.ack, Channel._put) and kombu/connection.py
(how a URL's scheme picks its transport), make bridge/kombu_redis.py match, then set its WRITTEN_FOR.
"""

from __future__ import annotations

import inspect
from importlib.metadata import version

import pytest
import redis
from kombu import Connection, Exchange, Producer, Queue
from kombu.transport import redis as stock

from bridge import kombu_redis
from bridge.tasks import broker_url

RECHECK = (
    "bridge/kombu_redis.py overrides kombu's Redis Channel.conn_or_acquire as {package} {written} has it; {installed} is installed. "
    "Re-read kombu/transport/redis.py (Channel.conn_or_acquire, _create_client, pool, _disconnect_pools, QoS.append, QoS.ack, _put), "
    "make bridge/kombu_redis.py match, run tests/test_kombu_redis.py and tests/e2e/test_delivery.py, then set kombu_redis.WRITTEN_FOR."
)


def drift(what: str) -> str:
    """A failure's message: what no longer holds, and what to re-read."""
    return f"{what}: kombu {version('kombu')} changed what bridge/kombu_redis.py overrides. " + RECHECK.format(
        package="kombu", written=kombu_redis.WRITTEN_FOR["kombu"], installed=version("kombu")
    )


@pytest.mark.parametrize("package", sorted(kombu_redis.WRITTEN_FOR))
def test_the_installed_kombu_and_redis_are_the_ones_the_channel_was_written_for(package):
    written, installed = kombu_redis.WRITTEN_FOR[package], version(package)
    assert installed == written, RECHECK.format(package=package, written=written, installed=installed)


def test_kombus_channel_still_has_what_the_override_relies_on():
    assert list(inspect.signature(stock.Channel.conn_or_acquire).parameters) == ["self", "client"], drift("Channel.conn_or_acquire(client=None)")
    assert list(inspect.signature(stock.Channel._create_client).parameters) == ["self", "asynchronous"], drift("Channel._create_client(asynchronous=False)")
    assert isinstance(inspect.getattr_static(stock.Channel, "pool"), property), drift("Channel.pool")


def test_redis_and_unix_urls_go_through_the_hookdock_transport_and_tls_keeps_kombus():
    for url in ("redis://127.0.0.1:7/2", "unix:///tmp/hookdock.sock"):
        assert Connection(broker_url(url)).transport_cls == kombu_redis.SCHEME, drift(f"{url} did not pick {kombu_redis.SCHEME}")
        assert type(Connection(broker_url(url)).transport) is kombu_redis.Transport, drift("TRANSPORT_ALIASES")
    assert Connection(broker_url("unix:///tmp/hookdock.sock")).hostname == "socket:///tmp/hookdock.sock"
    assert type(Connection(broker_url("rediss://example.org:6380/0")).transport) is stock.Transport


def test_publishing_consuming_and_acking_make_one_client_per_pool(redis_url, monkeypatch):
    made = []
    create = stock.Channel._create_client

    def counted(self, asynchronous=False):
        client = create(self, asynchronous)
        made.append((asynchronous, client))
        return client

    monkeypatch.setattr(stock.Channel, "_create_client", counted)
    queue = Queue("kombu-redis-test", Exchange("kombu-redis-test", type="direct"), routing_key="kombu-redis-test")
    with Connection(broker_url(redis_url)) as connection:
        channel = connection.channel()
        producer = Producer(channel)
        bound = queue(channel)
        bound.declare()
        for i in range(5):
            producer.publish({"n": i}, exchange=queue.exchange, routing_key="kombu-redis-test", declare=[queue])
            message = bound.get(no_ack=False)
            assert message.payload == {"n": i}
            message.ack()
        one_off = [client for asynchronous, client in made if not asynchronous]
        assert len({id(client) for client in one_off}) == 1, drift(f"{len(one_off)} clients for 5 publishes, gets and acks")
        unacked = redis.Redis.from_url(redis_url)
        assert (unacked.hlen("unacked"), unacked.zcard("unacked_index"), unacked.llen("kombu-redis-test")) == (0, 0, 0)
        # A reconnect drops the pools: the next command gets a client on the new pool, not the kept one.
        kept = one_off[0]
        channel._disconnect_pools()
        producer.publish({"n": 5}, exchange=queue.exchange, routing_key="kombu-redis-test", declare=[queue])
        assert bound.get(no_ack=True).payload == {"n": 5}
        assert made[-1][1] is not kept and made[-1][1].connection_pool is channel.pool
