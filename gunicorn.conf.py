"""gunicorn's settings for the web: `python -m bridge serve`, the Dockerfile (so docker-compose) and `make bench` all load this file.

gunicorn also reads it by itself when started from this folder, so a bare `gunicorn app:app` gets the same settings.
Nothing from `bridge` is imported here: the master must stay free of the app's modules so that each worker can
let gevent patch the standard library before the app (redis, kombu, requests, ssl) is imported.
"""

import os

wsgi_app = "app:app"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# Each connection is a greenlet, not a process: a client that sends its headers slowly, or not at all,
# costs a little memory instead of a whole worker, so 200 of them cannot keep a signed webhook waiting.
worker_class = "gevent"
# At most this many connections per worker at once; past it the worker stops accepting until one ends.
worker_connections = 1000
# Seconds a client has to send a request's line and headers (the gevent worker bounds every header
# read with it, the first request's too), and how long an idle keep-alive connection is kept. 0 would
# turn the bound off, so it must stay above 0.
keepalive = 5
# Seconds a worker may go without a heartbeat before the master replaces it.
timeout = 30
graceful_timeout = 20
# No control socket: it defaults to one path per user, which several gunicorns on one host would share.
control_socket_disable = True

accesslog = "-"
