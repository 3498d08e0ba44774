"""hookdock: webhooks in, readable Flowdock messages out, delivered reliably."""

from __future__ import annotations

import os
from dataclasses import replace

import redis
from flask import Flask, current_app

from bridge.build_history import BuildHistory
from bridge.config import Config, load_config
from bridge.embedded import DEFAULT_DATA_DIR, EmbeddedRedis
from bridge.logsafe import SCRUB, keep_out_of_logs
from bridge.pipeline import Services
from bridge.ratelimit import RateLimiter
from bridge.render import Renderer
from bridge.store import Store

__version__ = "0.13.0"

# Connections per process; more requests than this wait for one, at most REDIS_POOL_WAIT seconds.
REDIS_POOL_SIZE = 50
REDIS_POOL_WAIT = 10


class MissingRedis(RuntimeError):
    """REDIS_URL is not set and nothing started an embedded Redis."""


def redis_url_from_env() -> str:
    """REDIS_URL, else a running embedded Redis, else a clear refusal: 6379 is never assumed."""
    url = os.environ.get("REDIS_URL")
    if url:
        return url
    embedded = EmbeddedRedis(DEFAULT_DATA_DIR)
    if embedded.socket.exists():
        return embedded.url
    raise MissingRedis("REDIS_URL is not set and no embedded Redis is running; run `python -m bridge serve`, or set REDIS_URL=redis://HOST:6379/0")


def build_services(config: Config, redis_url: str) -> Services:
    """Connect the pieces the web and the worker share; nothing touches the network yet."""
    # Under gevent every request is a greenlet needing its own connection: a full pool makes it wait its
    # turn (503 only after REDIS_POOL_WAIT s) where redis-py's default pool failed the 101st at once.
    pool = redis.BlockingConnectionPool.from_url(redis_url, max_connections=REDIS_POOL_SIZE, timeout=REDIS_POOL_WAIT, health_check_interval=30)
    client = redis.Redis(connection_pool=pool)
    store = Store(client, config.retention_days * 86400)
    services = replace(offline_services(config), store=store, limiter=RateLimiter(store))
    return replace(services, history=BuildHistory(client, config.retention_days * 86400))


def offline_services(config: Config) -> Services:
    """Services for rendering only (previews, checks): no Redis, no HTTP."""
    return Services(config, None, renderers(config), None, Renderer() if config.templates_fallback else None)


def renderers(config: Config) -> dict[str, Renderer]:
    """One renderer per lookup order: '' for the shared one, and one per route with its own folder."""
    shared = [d for d in (config.templates_dir or os.environ.get("HOOKDOCK_TEMPLATES"),) if d]
    found = {"": Renderer(shared)}
    for name, route in config.routes.items():
        if route.templates_dir:
            found[name] = Renderer([route.templates_dir, *shared])
    return found


class Extensions(dict):
    """app.extensions, making an entry the first time it is asked for: the web queues without Celery, so only the worker and tests load it."""

    def __init__(self, existing: dict, **factories):
        super().__init__(existing)
        self.factories = factories

    def __missing__(self, key: str):
        if key not in self.factories:
            raise KeyError(key)
        made = self[key] = self.factories[key]()
        return made


def celery_for(services: Services, redis_url: str):
    """The Celery app (bridge/tasks.py), imported only here: a web worker is ~20 MB smaller without it."""
    from bridge.tasks import make_celery

    return make_celery(services, redis_url)


def current_services() -> Services:
    """The current app's services: all that reading and replaying need."""
    return current_app.extensions["hookdock"]


def create_app(config: Config | None = None, redis_url: str | None = None) -> Flask:
    """The Flask app, with the Celery app beside it in app.extensions['celery'], made when first asked for."""
    from bridge import api, console, web

    config = config or load_config()
    redis_url = redis_url or redis_url_from_env()
    services = build_services(config, redis_url)
    keep_out_of_logs(config)
    app = Flask(__name__)
    app.logger.addFilter(SCRUB)  # Flask's own lines, such as an unhandled exception's
    app.config["MAX_CONTENT_LENGTH"] = config.max_body_bytes
    app.extensions["hookdock"] = services
    app.extensions = Extensions(app.extensions, celery=lambda: celery_for(services, redis_url))
    app.register_blueprint(web.bp)
    app.register_blueprint(api.bp)
    console.install(app)
    return app
