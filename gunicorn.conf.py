"""gunicorn's settings for the web: `python -m bridge serve`, the Dockerfile (so docker-compose) and `make bench` all load this file.

gunicorn also reads it by itself when started from this folder, so a bare `gunicorn app:app` gets the same settings.
Nothing from `bridge` is imported here: the master must stay free of the app's modules so that each worker can
let gevent patch the standard library before the app (redis, ssl) is imported.
"""

import os
import sys

from gunicorn import util
from gunicorn.glogging import Logger
from gunicorn.http import wsgi

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
# Seconds a request may go without a byte of its body arriving (or of our answer being taken) before
# the read fails: the app answers 408, and a client that stalls mid-body does not hold a connection forever.
BODY_IDLE_SECONDS = 10
# Seconds a worker may go without a heartbeat before the master replaces it.
timeout = 30
graceful_timeout = 20
# No control socket: it defaults to one path per user, which several gunicorns on one host would share.
control_socket_disable = True


def pre_request(worker, req):
    """Bound each socket read and write of this request's body and answer; its headers were bounded by keepalive."""
    sock = getattr(getattr(req, "unreader", None), "sock", None)
    if sock is not None:
        sock.settimeout(BODY_IDLE_SECONDS)


accesslog = "-"
# Secrets never reach the access log: no query string, no Basic user, no referrer, and only the
# request headers named in SafeLogger.HEADERS; see SafeLogger below.
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s" %({x-github-event}i)s %({x-github-delivery}i)s'


class SafeLogger(Logger):
    """gunicorn's logger with only harmless access-log atoms, whatever access_log_format asks for, in lines scrubbed whole."""

    ATOMS = ("h", "t", "m", "U", "H", "s", "B", "b", "T", "D", "M", "L", "p", "a")
    HEADERS = ("{x-github-event}i", "{x-github-delivery}i", "{content-type}i", "{content-length}i", "{x-forwarded-for}i", "{x-request-id}i")

    def atoms(self, resp, req, environ, request_time):
        everything = super().atoms(resp, req, environ, request_time)
        kept = {key: everything[key] for key in (*self.ATOMS, *self.HEADERS) if key in everything}
        # The request line without its query string; no user name, no referrer. The line is scrubbed whole, once (setup).
        return {**kept, "r": f"{kept.get('m')} {kept.get('U')} {kept.get('H')}", "q": "", "u": "-", "l": "-", "f": "-"}

    def setup(self, cfg):
        super().setup(cfg)
        self.error_log.addFilter(SCRUB_RECORDS)
        # One scrub of the formatted line rather than one per atom: a sixth of a webhook's time in the web went there.
        self.access_log.addFilter(SCRUB_RECORDS)


class ScrubRecords:
    """Scrubs gunicorn's access and error lines: a refused request line is quoted there, query string and all."""

    def filter(self, record) -> bool:
        logsafe = sys.modules.get("bridge.logsafe")
        return logsafe.scrub_record(record) if logsafe else True


# One instance: setup() runs again on reload, and logging adds the same filter only once.
SCRUB_RECORDS = ScrubRecords()

logger_class = SafeLogger


class _Gather:
    """Stands in for the socket while gunicorn writes a response's head and first body part, to send them together."""

    def __init__(self):
        self.parts = []

    def sendall(self, data):
        self.parts.append(data)


# gunicorn's own class, even when this file is loaded again (a reload): one OneWriteResponse must not wrap another.
_PLAIN_RESPONSE = next(cls for cls in wsgi.Response.__mro__ if cls.__module__ == wsgi.__name__)


class OneWriteResponse(_PLAIN_RESPONSE):
    """gunicorn's response, sending its head with the first part of the body in one write instead of two.

    Each write is a syscall, and a TCP segment the client must wake for: a webhook's answer (head and a
    small JSON body) was two. Relies on write() putting bytes on the wire only through util.write(self.sock, ...),
    as gunicorn 27.0.1 does; tests/test_gunicorn_conf.py fails when an upgrade changes that.
    """

    def write(self, arg):
        if self.headers_sent:
            return super().write(arg)
        sock, gather = self.sock, _Gather()
        self.sock = gather
        try:
            super().write(arg)
        finally:
            self.sock = sock
            if gather.parts:
                util.write(sock, b"".join(gather.parts))


# gunicorn's workers make each response with wsgi.create(), which looks Response up in its module.
wsgi.Response = OneWriteResponse
