"""The targets' HTTP client: requests' bytes on the wire, its environment read once per origin, its exceptions."""

from __future__ import annotations

import base64
import datetime
import ipaddress
import select
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from urllib3 import exceptions as errors

from bridge.targets.base import USER_AGENT, Request
from bridge.targets.client import Client, mapped
from tests.support import free_port

ENVIRONMENT = ["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"]


@dataclass
class Seen:
    """One request as it reached a Recorder."""

    method: str
    target: str
    headers: dict
    body: bytes
    port: int


class Handler(BaseHTTPRequestHandler):
    """Records a request, waits while the server holds answers back, then gives the server's reply."""

    protocol_version = "HTTP/1.1"

    def answer(self) -> None:
        server = self.server
        assert isinstance(server, Recorder)
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        server.seen.append(Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body, self.client_address[1]))
        server.released.wait(5)
        status, headers, payload = server.reply
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_POST = do_PUT = answer

    def log_message(self, *args) -> None:
        pass


class Recorder(ThreadingHTTPServer):
    """A loopback HTTP(S) server that keeps every request it gets; it stands in for a chat, or for a forward proxy."""

    daemon_threads = True

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.seen: list[Seen] = []
        self.reply: tuple[int, dict, bytes] = (202, {"Content-Type": "application/json"}, b'{"id": 7}')
        self.released = threading.Event()
        self.released.set()
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.server_address[1]}"


class Tunnel(BaseHTTPRequestHandler):
    """A forward proxy's CONNECT: records the request, opens the tunnel, then carries bytes both ways until either side closes."""

    protocol_version = "HTTP/1.1"

    def do_CONNECT(self) -> None:
        server = self.server
        assert isinstance(server, Recorder)
        server.seen.append(Seen(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, b"", self.client_address[1]))
        host, port = self.path.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5) as upstream:
            self.send_response(200, "Connection established")
            self.end_headers()
            ends = [self.connection, upstream]
            while True:
                ready, _, _ = select.select(ends, [], [], 5)
                chunks = [(end, end.recv(65536)) for end in ready]
                if not ready or any(not chunk for _, chunk in chunks):
                    return
                for end, chunk in chunks:
                    (upstream if end is self.connection else self.connection).sendall(chunk)

    def log_message(self, *args) -> None:
        pass


def running(server: Recorder):
    # A short poll: shutdown() waits for the loop to notice it.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield server
    server.released.set()
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def no_environment(monkeypatch):
    """No proxy or CA bundle but what a test sets (this VM sets REQUESTS_CA_BUNDLE)."""
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def chat():
    yield from running(Recorder())


@pytest.fixture
def proxy():
    yield from running(Recorder())


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1: its PEM file, and a server context holding it and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hookdock test chat")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    pem, key_file = folder / "chat.pem", folder / "chat.key"
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pem, key_file)
    return pem, context


@pytest.fixture
def tls_chat(certificate):
    yield from running(Recorder(certificate[1]))


def post(url: str, **fields) -> Request:
    return Request("POST", url, **fields)


REQUESTS = [
    # Flowdock: JSON with a token as the Basic user name (bytes); Matrix: a PUT with a bearer header; Zulip: a form with bytes auth.
    lambda url: post(f"{url}/flows/acme/main/messages", json={"event": "message", "content": "héllo ✓", "tags": ["a"], "n": 1.5}, auth=(b"tok", b"")),
    lambda url: Request("PUT", f"{url}/_matrix/client/v3/rooms/!r:x/send/m.room.message/t1", json={"body": "x"}, headers={"Authorization": "Bearer abc"}),
    lambda url: post(f"{url}/api/v1/messages", form={"type": "stream", "to": "dev", "content": "a&b = ü\n", "skip": None}, auth=(b"bot@x", b"key")),
    # Text credentials go out as Latin-1; a target's header wins over a default whatever its case.
    lambda url: post(f"{url}/hooks/x?api-version=1&sig=s", json={"text": "hi"}, auth=("jörg", "pässword"), headers={"accept": "text/plain"}),
    lambda url: post(f"{url}/empty"),
]


@pytest.mark.parametrize("make", REQUESTS, ids=["flowdock", "matrix", "zulip", "latin1-auth", "no-body"])
def test_the_bytes_on_the_wire_are_those_requests_sends(chat, make):
    request = make(chat.url)
    Client().send(request, timeout=5)
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **request.headers}
    requests.Session().request(
        request.method, request.url, json=request.json, data=request.form, auth=request.auth, headers=headers, timeout=5, allow_redirects=False
    )
    ours, theirs = chat.seen
    assert (ours.method, ours.target, ours.headers, ours.body) == (theirs.method, theirs.target, theirs.headers, theirs.body)
    assert ours.headers["user-agent"] == USER_AGENT


def test_the_answer_reads_as_a_requests_response(chat):
    chat.reply = (429, {"Content-Type": "application/json", "Retry-After": "3", "Flowdock-User": "9"}, '{"message": "slow down", "who": "zoë"}'.encode())
    response = Client().send(post(f"{chat.url}/m", json={}), timeout=5)
    assert (response.status_code, response.ok, response.reason, response.encoding) == (429, False, "Too Many Requests", "utf-8")
    assert response.headers["retry-after"] == "3" and response.headers.get("FLOWDOCK-USER") == "9"
    assert response.json() == {"message": "slow down", "who": "zoë"} and "zoë" in response.text
    assert response.url == f"{chat.url}/m"


def test_a_redirect_is_answered_not_followed(chat):
    chat.reply = (301, {"Location": f"{chat.url}/elsewhere"}, b"")
    assert Client().send(post(f"{chat.url}/moved", json={}), timeout=5).status_code == 301
    assert [seen.target for seen in chat.seen] == ["/moved"]


def test_one_origin_keeps_one_pool_and_its_connection(chat):
    client = Client()
    for _ in range(3):
        client.send(post(f"{chat.url}/m", json={}), timeout=5)
    assert len(client.origins) == 1
    assert len({seen.port for seen in chat.seen}) == 1


def test_a_proxy_gets_the_whole_url_and_its_credentials_and_the_environment_is_read_once_per_origin(monkeypatch, chat, proxy):
    monkeypatch.setenv("HTTP_PROXY", f"http://hook%40dock:s3cret@127.0.0.1:{proxy.server_address[1]}")
    client = Client()
    client.send(post("http://chat.example.invalid/flows/a/b/messages", json={"content": "x"}), timeout=5)
    [seen] = proxy.seen
    assert (seen.method, seen.target, seen.headers["host"]) == ("POST", "http://chat.example.invalid/flows/a/b/messages", "chat.example.invalid")
    assert seen.headers["proxy-authorization"] == "Basic " + base64.b64encode(b"hook@dock:s3cret").decode()
    # The origin keeps what it read; another origin reads the environment as it is now.
    monkeypatch.delenv("HTTP_PROXY")
    client.send(post("http://chat.example.invalid/other", json={}), timeout=5)
    client.send(post(f"{chat.url}/direct", json={}), timeout=5)
    assert [s.target for s in proxy.seen] == ["http://chat.example.invalid/flows/a/b/messages", "http://chat.example.invalid/other"]
    assert [s.target for s in chat.seen] == ["/direct"] and "proxy-authorization" not in chat.seen[0].headers


def test_no_proxy_sends_a_host_direct(monkeypatch, chat, proxy):
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    Client().send(post(f"{chat.url}/m", json={}), timeout=5)
    assert (len(chat.seen), proxy.seen) == (1, [])


def test_a_socks_proxy_is_refused_clearly_without_its_password(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "socks5h://me:pw-hidden@127.0.0.1:1080")
    with pytest.raises(requests.exceptions.InvalidSchema, match="socks proxies are not supported") as caught:
        Client().send(post("https://chat.example.com/m", json={}), timeout=5)
    assert "pw-hidden" not in str(caught.value)


def test_the_ca_bundle_of_the_environment_is_used_and_verification_stays_on(monkeypatch, tls_chat, certificate):
    with pytest.raises(requests.exceptions.SSLError):
        Client().send(post(f"{tls_chat.url}/m", json={}), timeout=5)  # certifi's bundle does not know this chat
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate[0]))
    assert Client().send(post(f"{tls_chat.url}/m", json={}), timeout=5).status_code == 202
    assert len(tls_chat.seen) == 1


@pytest.fixture
def tunnel():
    server = Recorder()
    server.RequestHandlerClass = Tunnel
    yield from running(server)


def test_an_https_chat_through_a_proxy_goes_through_its_tunnel_with_the_certificate_checked(monkeypatch, tunnel, tls_chat, certificate):
    monkeypatch.setenv("HTTPS_PROXY", f"http://hook:s3cret@127.0.0.1:{tunnel.server_address[1]}")
    with pytest.raises(requests.exceptions.SSLError):
        Client().send(post(f"{tls_chat.url}/m", json={}), timeout=5)  # the tunnel changes nothing about whom the chat must prove to be
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate[0]))
    assert Client().send(post(f"{tls_chat.url}/m", json={"content": "x"}), timeout=5).status_code == 202
    host = tls_chat.url.removeprefix("https://")
    assert [(seen.method, seen.target) for seen in tunnel.seen] == [("CONNECT", host)] * 2
    assert tunnel.seen[-1].headers["proxy-authorization"] == "Basic " + base64.b64encode(b"hook:s3cret").decode()
    [seen] = tls_chat.seen
    assert (seen.target, seen.body, "proxy-authorization" in seen.headers) == ("/m", b'{"content": "x"}', False)


def test_a_ca_directory_is_passed_on_as_one(monkeypatch, tmp_path):
    monkeypatch.setenv("CURL_CA_BUNDLE", str(tmp_path))
    client = Client()
    with pytest.raises(requests.ConnectionError):
        client.send(post(f"https://127.0.0.1:{free_port()}/m", json={}), timeout=5)
    [origin] = client.origins.values()
    assert (origin.pool.ca_cert_dir, origin.pool.ca_certs, origin.pool.cert_reqs) == (str(tmp_path), None, "CERT_REQUIRED")


def test_a_refused_connection_is_a_connection_error_whose_text_holds_no_url():
    with pytest.raises(requests.ConnectionError) as caught:
        Client().send(post(f"http://127.0.0.1:{free_port()}/services/T0/B0/XXXXsecretXXXX", json={}), timeout=5)
    assert not isinstance(caught.value, requests.Timeout)
    assert "XXXXsecretXXXX" not in str(caught.value)


def test_a_slow_answer_is_a_read_timeout(chat):
    chat.released.clear()
    started = time.monotonic()
    with pytest.raises(requests.ReadTimeout):
        Client().send(post(f"{chat.url}/m", json={}), timeout=0.3)
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    "raised, expected",
    [
        (errors.ConnectTimeoutError("connect timed out"), requests.ConnectTimeout),
        (errors.NewConnectionError(None, "refused"), requests.ConnectionError),
        (errors.ReadTimeoutError(None, "/m", "read timed out"), requests.ReadTimeout),
        (errors.ProxyError("Unable to connect to proxy", OSError("refused")), requests.exceptions.ProxyError),
        (errors.SSLError("bad certificate"), requests.exceptions.SSLError),
        (errors.ProtocolError("Connection aborted.", ConnectionResetError()), requests.ConnectionError),
        (ConnectionResetError("reset"), requests.ConnectionError),
    ],
)
def test_urllib3_errors_become_requests_ones(raised, expected):
    found = mapped(raised)
    assert type(found) is expected and isinstance(found, requests.RequestException)
    assert str(found) == str(raised)
