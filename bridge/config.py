"""Load bridge.yml: YAML, ${VAR} from the environment, validated into typed settings."""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import AfterValidator, Field, SecretStr, ValidationError, model_validator

from bridge.config_base import RateLimit, Secret, Strict
from bridge.config_errors import ConfigError
from bridge.config_errors import FieldError as _FieldError
from bridge.config_errors import describe as _describe
from bridge.config_errors import key_lines as _key_lines
from bridge.config_errors import where as _where
from bridge.sources import SOURCES
from bridge.sources.generic.settings import GenericSettings
from bridge.sources.standard_webhooks import decode_key
from bridge.targets import TARGETS, AnyTarget, flowdock

DEFAULT_PATH = "bridge.yml"
# What a good URL looks like, by key, for the fix of a bad one.
EXAMPLE_URLS = {
    "api_url": "https://api.flowdock.com",
    "url": "the webhook URL the chat gave you (https://...)",
    "server": "https://chat.example.com",
    "homeserver": "https://matrix.example.org",
    "site": "https://example.zulipchat.com",
}
ENV_PATTERN = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
KNOWN_SOURCES = tuple(SOURCES)
# The keys typed Secret below: their fixes never suggest a ${VAR:-default}, which would be a public secret.
SECRET_KEYS = frozenset({"secret", "signing_secret", "token", "password", "flow_token", "admin_token", "url", "access_token", "api_key"})
__all__ = ["Config", "ConfigError", "RateLimit", "Route", "Secret", "Strict", "Target"]


# The Flowdock target, the default type; every type's settings are in its module under bridge/targets/.
Target = flowdock.Settings


def _signing_key(secret: SecretStr) -> SecretStr:
    try:
        decode_key(secret.get_secret_value())
    except ValueError as exc:
        raise ValueError(f"{exc}; fix: copy the signing token whole from the sender's webhook settings (it starts with whsec_)") from None
    return secret


# A Standard Webhooks key (GitLab's signing token): whsec_<base64>, checked at start-up rather than at every delivery.
SigningKey = Annotated[Secret, AfterValidator(_signing_key)]


class Route(Strict):
    """One webhook URL, /hooks/<name>: who sends to it and where its messages go."""

    source: str
    secret: Secret | None = None
    # GitLab's signing token (whsec_<base64>): deliveries must carry a valid Standard Webhooks signature.
    signing_secret: SigningKey | None = None
    # Travis CI signs with its RSA key: the PEM public key from https://api.travis-ci.com/config.
    public_key: Secret | None = None
    # Buildkite: "signature" (X-Buildkite-Signature, the default) or "token" (X-Buildkite-Token); the other is refused.
    auth: Literal["signature", "token"] | None = None
    targets: list[str] = Field(min_length=1)
    tags: list[str] = []
    # This route's own template overrides, looked up before templates_dir and the built-in ones.
    templates_dir: str | None = None
    # Filters (see bridge/routing.py); patterns may use * and ?. An absent list lets everything through.
    events: list[str] | None = None
    exclude_events: list[str] = []
    branches: list[str] | None = None
    labels: list[str] | None = None
    repositories: list[str] | None = None
    exclude_authors: list[str] = []
    private: bool = True
    # source: generic only: its templates, event name, delivery id and authentication (bridge/sources/generic/).
    generic: GenericSettings | None = None
    # Confidential issues and internal notes (GitLab) reach this route only when this is true.
    confidential: bool = False
    # Payload text may ping people (@nick, @all) and add tags (#word) only when this is true.
    allow_mentions: bool = False

    def credentials(self) -> dict[str, str]:
        """The secrets this route was given, by key, and its `auth` choice if any, for its source's verify()."""
        secrets = {key: value.get_secret_value() for key, value in self if isinstance(value, SecretStr)}
        return {**secrets, "auth": self.auth} if self.auth else secrets


class Delivery(Strict):
    """How hard delivery tries before an event becomes a dead letter."""

    max_attempts: int = Field(default=8, ge=1, le=50)
    # Seconds before the second try; each later wait doubles, up to backoff_cap.
    backoff_base: float = Field(default=2.0, gt=0)
    backoff_cap: float = Field(default=300.0, gt=0)
    timeout: float = Field(default=10.0, gt=0, le=120)
    # Seconds a task may take: a hold of a live worker overdue by more than this (plus backoff_cap and
    # timeout) is taken for lost and queued again. A dead worker's work comes back far sooner (recovery).
    visibility_timeout: float = Field(default=900.0, ge=5)

    @model_validator(mode="after")
    def waits_fit_in_the_visibility_timeout(self) -> Delivery:
        """The rule from when kombu handed out tasks again after this long, kept so that every configuration stays as valid as it was."""
        if self.backoff_cap + self.timeout >= self.visibility_timeout:
            raise _FieldError(
                ("delivery", "backoff_cap"),
                f"backoff_cap plus timeout must stay below visibility_timeout ({self.visibility_timeout:g} s); fix: lower backoff_cap or raise visibility_timeout",
            )
        return self


class Config(Strict):
    """The whole bridge.yml."""

    api_url: str = "https://api.flowdock.com"
    allow_insecure_http: bool = False
    max_body_bytes: int = Field(default=25 * 1024 * 1024, gt=0)
    retention_days: float = Field(default=7, gt=0)
    templates_dir: str | None = None
    # When an override fails, post with the built-in template instead (the failure is still recorded).
    templates_fallback: bool = False
    # Bearer token of the admin API under /api/; without it the API is off.
    admin_token: Secret | None = None
    delivery: Delivery = Delivery()
    targets: dict[str, AnyTarget] = Field(min_length=1)
    routes: dict[str, Route] = Field(min_length=1)
    path: str = Field(default=DEFAULT_PATH, exclude=True)

    @model_validator(mode="after")
    def references_resolve(self) -> Config:
        """Routes name known sources and targets, carry their source's credentials; the API URL is safe."""
        for name, route in self.routes.items():
            if "/" in name or not name.strip():
                # The name is one segment of /hooks/<name>: a slash or a blank name could never receive a webhook.
                raise _FieldError(("routes", name), f"route name {name!r} cannot be part of /hooks/<name>; fix: use letters, digits, - or _")
            if route.source not in KNOWN_SOURCES:
                raise _FieldError(("routes", name, "source"), f"unknown source {route.source!r}; fix: use one of: {', '.join(KNOWN_SOURCES)}")
            check_credentials(name, route)
            for i, target in enumerate(route.targets):
                if target not in self.targets:
                    raise _FieldError(
                        ("routes", name, "targets", i), f"unknown target {target!r}; fix: define it under targets: or use one of: {', '.join(self.targets)}"
                    )
        check_api_url(self.api_url, self.allow_insecure_http)
        for target_name, settings in self.targets.items():
            for key, url in settings.urls().items():
                check_api_url(url, self.allow_insecure_http, ("targets", target_name, key))
        return self


def check_credentials(name: str, route: Route) -> None:
    """A route sets at least one credential its source checks, and none that its source would ignore."""
    source = SOURCES[route.source]
    given = {key: value for key, value in route.credentials().items() if key != "auth"}
    for key in given:
        if key not in source.AUTH_KEYS:
            raise _FieldError(("routes", name, key), f"{route.source} routes do not use {key}; fix: remove it, or use {' or '.join(source.AUTH_KEYS)}")
    if not given:
        raise _FieldError(("routes", name, source.AUTH_KEYS[0]), source.AUTH_FIX)
    modes = getattr(source, "AUTH_MODES", ())
    if route.auth is not None and route.auth not in modes:
        fix = f"use one of: {', '.join(modes)}" if modes else "remove it"
        raise _FieldError(("routes", name, "auth"), f"{route.source} routes do not choose auth {route.auth!r}; fix: {fix}")
    problem = getattr(source, "credential_problem", lambda credentials: None)(given)
    if problem:
        raise _FieldError(("routes", name, problem[0]), problem[1])
    route_problem = getattr(source, "route_problem", None)
    if route_problem is None and route.generic is not None:
        raise _FieldError(("routes", name, "generic"), f"{route.source} routes do not read a generic: block; fix: remove it, or use source: generic")
    found = route_problem(route) if route_problem is not None else None
    if found:
        raise _FieldError(("routes", name, *found[0]), found[1])


def check_api_url(url: str, allow_insecure_http: bool, loc: tuple = ("api_url",)) -> None:
    """Refuse plain http except to loopback hosts or with an explicit opt-in (the URL itself may be a secret: never quoted)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        shown = repr(url) if loc == ("api_url",) else "the value"
        raise _FieldError(loc, f"{shown} is not an http(s) URL; fix: use for example {EXAMPLE_URLS.get(loc[-1], 'https://api.flowdock.com')}")
    if parts.scheme == "http" and not allow_insecure_http and not _is_loopback(parts.hostname):
        raise _FieldError(loc, "plain http is only allowed to loopback hosts; fix: use https:// or set allow_insecure_http: true")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def find_path(explicit: str | None = None) -> Path:
    """--config, else HOOKDOCK_CONFIG, else ./bridge.yml."""
    return Path(explicit or os.environ.get("HOOKDOCK_CONFIG") or DEFAULT_PATH)


def load_config(explicit: str | None = None) -> Config:
    """Read, interpolate and validate the configuration, or raise one clear ConfigError."""
    path = find_path(explicit)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file; fix: copy bridge.example.yml to {path}, or pass --config / set HOOKDOCK_CONFIG") from None
    return parse_config(text, str(path))


def parse_config(text: str, path: str = DEFAULT_PATH) -> Config:
    """Validate configuration text; errors name path, line, key and the fix."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else path
        raise ConfigError(f"{where}: not valid YAML ({getattr(exc, 'problem', exc)}); fix the syntax there") from None
    lines = _key_lines(node) if node is not None else {}
    raw = yaml.safe_load(text) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: the file must be a mapping with targets: and routes:")
    variables: dict[tuple, list[str]] = {}
    data = _interpolate(raw, (), path, lines, variables)
    try:
        config = Config.model_validate({**data, "path": path})
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path, lines, variables, frozenset(TARGETS))) from None
    except _FieldError as exc:
        raise ConfigError(_where(path, lines, exc.loc) + f" {exc}") from None
    return _with_resolved_folders(config, path, lines)


def _with_resolved_folders(config: Config, path: str, lines: dict) -> Config:
    """Template folders relative to the configuration file, and refused if they do not exist."""

    def resolve(folder: str | None, loc: tuple) -> str | None:
        if folder is None:
            return None
        found = Path(folder) if Path(folder).is_absolute() else Path(path).resolve().parent / folder
        if not found.is_dir():
            raise ConfigError(_where(path, lines, loc) + f" folder {found} does not exist; fix: create it or correct the path")
        return str(found)

    routes = {
        name: route.model_copy(update={"templates_dir": resolve(route.templates_dir, ("routes", name, "templates_dir"))})
        for name, route in config.routes.items()
    }
    return config.model_copy(update={"templates_dir": resolve(config.templates_dir, ("templates_dir",)), "routes": routes})


def _interpolate(value: Any, loc: tuple, path: str, lines: dict, variables: dict) -> Any:
    """Replace ${VAR} and ${VAR:-default} in every string, naming the key when a variable is unset; note each key's variables."""
    if isinstance(value, dict):
        return {k: _interpolate(v, loc + (k,), path, lines, variables) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, loc + (i,), path, lines, variables) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match) -> str:
        name, default = match.group(1), match.group(2)
        variables.setdefault(loc, []).append(name)
        if default is not None:
            return os.environ.get(name) or default  # as in the shell: unset or empty takes the default
        if name in os.environ:
            return os.environ[name]
        fix = f"export {name}=<the secret>" if loc and loc[-1] in SECRET_KEYS else f"export {name}=... or write ${{{name}:-default}}"
        raise ConfigError(_where(path, lines, loc) + f" environment variable {name} is not set; fix: {fix}")

    return ENV_PATTERN.sub(substitute, value)
