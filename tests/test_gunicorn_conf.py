"""gunicorn.conf.py: a response leaves in one write, and access lines are scrubbed whole.

OneWriteResponse relies on gunicorn's Response putting bytes on the wire only through util.write(self.sock, ...).
When a test here fails after a gunicorn upgrade, re-read gunicorn/http/wsgi.py (Response.write, send_headers,
_emit_body, create) and make OneWriteResponse match, then set WRITTEN_FOR.
"""

from __future__ import annotations

import logging
import runpy
from importlib.metadata import version

import pytest
from gunicorn.config import Config
from gunicorn.http import wsgi
from gunicorn.http.parser import RequestParser

from tests.e2e.processes import PROJECT

WRITTEN_FOR = "27.0.1"
CONF = runpy.run_path(str(PROJECT / "gunicorn.conf.py"))


class Wire:
    """A socket that records each write."""

    def __init__(self):
        self.writes: list[bytes] = []

    def sendall(self, data: bytes) -> None:
        self.writes.append(bytes(data))


def answer(method: str, status: str, body: list[bytes], response_class=None) -> list[bytes]:
    """The writes gunicorn makes to answer one request with status and body."""
    cfg = Config()
    [request] = list(RequestParser(cfg, iter([f"{method} /hooks/x HTTP/1.1\r\nHost: h\r\n\r\n".encode()]), ("127.0.0.1", 1)))
    wire = Wire()
    response, _ = wsgi.create(request, wire, ("127.0.0.1", 1), ("127.0.0.1", 2), cfg, response_class)
    response.start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(sum(map(len, body))))])
    for part in body:
        response.write(part)
    response.close()
    return wire.writes


def test_the_installed_gunicorn_is_the_one_one_write_responses_were_written_for():
    assert version("gunicorn") == WRITTEN_FOR, (
        f"gunicorn.conf.py's OneWriteResponse was written for gunicorn {WRITTEN_FOR}; {version('gunicorn')} is installed. "
        "Re-read gunicorn/http/wsgi.py Response.write and send_headers, run tests/test_gunicorn_conf.py, then update WRITTEN_FOR."
    )


def test_the_configuration_makes_every_response_a_one_write_response():
    # By name: each load of the file (other tests load it too) makes a class of its own.
    assert wsgi.Response.__name__ == "OneWriteResponse" and wsgi.Response.__mro__[1].__module__ == "gunicorn.http.wsgi"


def test_a_webhook_answer_leaves_in_one_write_where_plain_gunicorn_makes_two():
    assert len(answer("POST", "202 Accepted", [b'{"event": "e1"}\n'], CONF["OneWriteResponse"].__mro__[1])) == 2
    [write] = answer("POST", "202 Accepted", [b'{"event": "e1"}\n'])
    head, _, body = write.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 202 Accepted\r\n") and b"Content-Length: 16" in head
    assert body == b'{"event": "e1"}\n'


@pytest.mark.parametrize(
    "method, status, body, on_wire, writes",
    [
        ("POST", "200 OK", [b"a" * 10, b"b" * 20], b"a" * 10 + b"b" * 20, 2),  # later parts go as they come
        ("HEAD", "200 OK", [b"abc"], b"", 1),  # the head alone
        ("POST", "204 No Content", [], b"", 1),  # the head, sent when the response closes
    ],
)
def test_other_answers_keep_their_bytes(method, status, body, on_wire, writes):
    sent = answer(method, status, body)
    head, _, rest = b"".join(sent).partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status}".encode()) and rest == on_wire
    assert len(sent) == writes


def test_an_access_line_is_scrubbed_whole_once_the_app_is_loaded():
    import bridge.logsafe  # noqa: F401  (a worker has loaded it by the time it logs)

    logger = CONF["SafeLogger"](Config())
    record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, '"%(r)s" %(s)s', {"r": "POST /hooks/x?token=hunter2 HTTP/1.1", "s": 202}, None)
    assert all(f.filter(record) for f in logger.access_log.filters)
    assert "hunter2" not in record.getMessage() and '" 202' in record.getMessage()
