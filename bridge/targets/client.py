"""The targets' HTTP client: requests' wire format and environment over urllib3 pools, without a requests Session's CPU per post."""

from __future__ import annotations

import json
import os
from base64 import b64encode
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
import urllib3
from requests import exceptions as failures
from requests import utils
from requests.structures import CaseInsensitiveDict
from urllib3 import exceptions as errors

from bridge.targets.base import USER_AGENT, Request

# What a requests Session sends on every request (its Accept-Encoding and Connection too), with the Accept and User-Agent of ours.
DEFAULT_HEADERS = CaseInsensitiveDict({**utils.default_headers(), "Accept": "application/json", "User-Agent": USER_AGENT})
# requests' pool size; a worker process posts one message at a time.
POOL_SIZE = requests.adapters.DEFAULT_POOLSIZE
# Origins are few (one per chat host); many URLs of one origin differ only in an id (Matrix transactions, Mattermost posts).
URL_CACHE = 1024

Key = tuple[str, str | None, int | None]


@dataclass(frozen=True)
class Target:
    """A URL as requests reads it: the URL itself, its origin, the request line's forms of it, and credentials written in it."""

    url: str
    origin: Key
    path: str
    absolute: str
    auth: tuple[str, str] | None


@dataclass(frozen=True)
class Origin:
    """One chat origin: the pool it posts on (direct or through its proxy)."""

    pool: urllib3.HTTPConnectionPool
    # A plain-HTTP request through a proxy names the whole URL; a direct one or one tunnelled (https) names only the path.
    absolute: bool


class Client:
    """Sends the targets' requests; an origin's pool, proxy and CA bundle are settled at its first request and kept."""

    def __init__(self) -> None:
        self.origins: dict[Key, Origin] = {}

    def send(self, request: Request, timeout: float) -> requests.Response:
        """Send one request as requests would; redirects are not followed (a webhook URL that moved is a configuration error)."""
        target = read_url(request.url)
        origin = self.origins.get(target.origin) or self.origins.setdefault(target.origin, open_origin(target))
        body, content_type = encode(request)
        headers = headers_for(request, body, content_type, request.auth or target.auth)
        try:
            raw = origin.pool.urlopen(
                request.method,
                target.absolute if origin.absolute else target.path,
                body=body,
                headers=headers,
                # No retries inside urllib3: retrying a post is the pipeline's decision, counted and recorded there.
                retries=False,
                redirect=False,
                assert_same_host=False,
                timeout=timeout,
            )
        except (errors.HTTPError, OSError) as exc:
            raise mapped(exc) from exc
        return response_of(raw, target.url)


@lru_cache(maxsize=URL_CACHE)
def read_url(url: str) -> Target:
    """requests' own preparation of a URL (IDNA host, quoting, errors), done once per URL."""
    prepared = requests.PreparedRequest()
    prepared.prepare_url(url, None)
    assert prepared.url is not None
    parts = urlsplit(prepared.url)
    found = utils.get_auth_from_url(prepared.url)
    return Target(
        prepared.url, (parts.scheme.lower(), parts.hostname, parts.port), prepared.path_url, utils.urldefragauth(prepared.url), found if any(found) else None
    )


def open_origin(target: Target) -> Origin:
    """A new origin's pool, with the proxy and CA bundle that requests would take from the environment for it."""
    scheme, host, port = target.origin
    proxy, verify = environment(target.url)
    try:
        pool = manager_for(proxy).connection_from_host(host, port, scheme, pool_kwargs=tls_settings(scheme, verify))
    except errors.LocationValueError as exc:
        raise failures.InvalidURL(exc) from exc
    return Origin(pool, proxy is not None and scheme != "https")


def environment(url: str) -> tuple[str | None, Any]:
    """The proxy (HTTP(S)_PROXY, ALL_PROXY, NO_PROXY) and the verify setting (REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE) requests would use for url."""
    with requests.Session() as session:
        settings = session.merge_environment_settings(url, {}, None, None, None)
    return utils.select_proxy(url, settings["proxies"]), settings["verify"]


def manager_for(proxy: str | None) -> urllib3.PoolManager:
    """A pool manager going direct, or through an http(s) proxy with its credentials as Proxy-Authorization."""
    if proxy is None:
        return urllib3.PoolManager(num_pools=1, maxsize=POOL_SIZE)
    proxy = utils.prepend_scheme_if_needed(proxy, "http")
    if proxy.lower().startswith("socks"):
        # Going direct instead would bypass a proxy someone set on purpose; the URL is left out, it may hold a password.
        raise failures.InvalidSchema("socks proxies are not supported for chat posts; set an http:// or https:// proxy")
    if not urllib3.util.parse_url(proxy).host:
        raise failures.InvalidProxyURL("Please check proxy URL. It is malformed and could be missing the host.")
    user, password = utils.get_auth_from_url(proxy)
    headers = {"Proxy-Authorization": basic_auth(user, password)} if user else {}
    return urllib3.ProxyManager(proxy, num_pools=1, maxsize=POOL_SIZE, proxy_headers=headers)


def tls_settings(scheme: str, verify: Any) -> dict[str, Any]:
    """The pool's certificate settings as requests makes them: verification on, with the environment's CA bundle or certifi's."""
    if scheme != "https":
        return {}
    location = utils.DEFAULT_CA_BUNDLE_PATH if verify is True else verify
    if not location or not os.path.exists(location):
        raise OSError(f"Could not find a suitable TLS CA certificate bundle, invalid path: {location}")
    return {"cert_reqs": "CERT_REQUIRED", ("ca_cert_dir" if os.path.isdir(location) else "ca_certs"): location}


def encode(request: Request) -> tuple[bytes | None, str | None]:
    """The body and its Content-Type as requests makes them: a form when there is one, else JSON as json.dumps writes it (NaN refused)."""
    if request.form:
        return form_body(request.form).encode(), "application/x-www-form-urlencoded"
    if request.json is None:
        return None, None
    try:
        return json.dumps(request.json, allow_nan=False).encode(), "application/json"
    except ValueError as exc:
        raise failures.InvalidJSONError(exc) from exc


def form_body(form: dict) -> str:
    """A urlencoded form as requests writes one: UTF-8, a list value repeats its key, None values left out."""
    pairs = []
    for key, values in form.items():
        for value in values if isinstance(values, list | tuple) else [values]:
            if value is not None:
                pairs.append((key, value))
    return urlencode(pairs)


def headers_for(request: Request, body: bytes | None, content_type: str | None, auth: tuple | None) -> CaseInsensitiveDict:
    """requests' headers for this request: the defaults, the request's own, the body's length and type, Basic auth."""
    headers = DEFAULT_HEADERS.copy()
    headers.update(request.headers)
    if body is not None:
        headers["Content-Length"] = str(len(body))
    elif request.method not in ("GET", "HEAD"):
        headers["Content-Length"] = "0"
    if content_type:
        headers.setdefault("Content-Type", content_type)
    if auth:
        headers["Authorization"] = basic_auth(*auth)
    return headers


def basic_auth(user: str | bytes, password: str | bytes) -> str:
    """A Basic Authorization value as requests makes one: bytes as they are, text encoded as Latin-1."""
    pair = [part.encode("latin1") if isinstance(part, str) else part for part in (user, password)]
    return "Basic " + b64encode(b":".join(pair)).decode("ascii")


# urllib3's exceptions and the requests ones its adapter turns them into, first match wins; anything else is a ConnectionError.
# urllib3 counts a refused connection as a connect timeout (NewConnectionError is a ConnectTimeoutError); requests does not.
MAPPED: tuple[tuple[type[Exception], type[failures.RequestException]], ...] = (
    (errors.ProxyError, failures.ProxyError),
    (errors.SSLError, failures.SSLError),
    (errors.NewConnectionError, failures.ConnectionError),
    (errors.ConnectTimeoutError, failures.ConnectTimeout),
    (errors.ReadTimeoutError, failures.ReadTimeout),
    (errors.InvalidHeader, failures.InvalidHeader),
    (errors.DecodeError, failures.ContentDecodingError),
    (errors.LocationValueError, failures.InvalidURL),
)


def mapped(exc: Exception) -> failures.RequestException:
    """The requests exception for what urllib3 raised, as requests' adapter maps them."""
    return next((theirs(exc) for ours, theirs in MAPPED if isinstance(exc, ours)), failures.ConnectionError(exc))


def response_of(raw: urllib3.BaseHTTPResponse, url: str) -> requests.Response:
    """A requests Response holding urllib3's answer, read whole: what the targets' answer() functions read."""
    response = requests.Response()
    response.status_code = raw.status
    response.headers = CaseInsensitiveDict(raw.headers)
    response.encoding = utils.get_encoding_from_headers(response.headers)
    response.reason = raw.reason or ""
    response.url = url
    response.raw = raw
    response._content = raw.data
    return response
