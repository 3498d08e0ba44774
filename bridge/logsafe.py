"""Secrets never reach a log: scrub the configured secrets, query strings and credentials out of log text."""

from __future__ import annotations

import logging
import re
import traceback

from pydantic import BaseModel, SecretStr

from bridge.targets.base import url_parts

HIDDEN = "[hidden]"
# Every secret of the loaded configuration: tokens, passwords, webhook secrets, the admin token.
SECRETS: set[str] = set()
# What a client may put a credential in, whether or not it is one we know.
PATTERNS = (
    (re.compile(r"(?<=\S)\?[^\s'\"]+"), "?" + HIDDEN),  # a query string: ?token=...
    (re.compile(r"(?i)\b(basic|bearer)(\s+)[A-Za-z0-9._~+/=-]+"), r"\1\2" + HIDDEN),  # an Authorization value
    (re.compile(r"(//[^/\s:@]*:)[^@\s/]+@"), r"\1" + HIDDEN + "@"),  # a password in a URL: redis://:pw@host
)


def keep_out_of_logs(config: BaseModel) -> None:
    """Remember every secret of this configuration, so that no log line of this process shows it."""
    SECRETS.update(secret for secret in secret_values(config) if secret)


def secret_values(value) -> set[str]:
    """The plain values of every SecretStr in a configuration, however deep."""
    if isinstance(value, SecretStr):
        # A webhook URL's secret is its path (and query), which error texts quote without the host.
        return {value.get_secret_value(), *url_parts(value.get_secret_value())}
    if isinstance(value, BaseModel):
        children = [getattr(value, name) for name in type(value).model_fields]
    elif isinstance(value, dict):
        children = list(value.values())
    elif isinstance(value, (list, tuple)):
        children = list(value)
    else:
        return set()
    return set().union(*map(secret_values, children))


def hide_secrets(text: str) -> str:
    """text with every secret of the configuration replaced by [hidden], and nothing else changed."""
    # Longest first, so a secret that contains another is hidden whole.
    for secret in sorted(SECRETS, key=len, reverse=True):
        text = text.replace(secret, HIDDEN)
    return text


def hide_secrets_in(value: object) -> object:
    """A copy of a JSON-like value (a stored delivery: message, errors) with every configured secret hidden in its strings."""
    if isinstance(value, str):
        return hide_secrets(value)
    if isinstance(value, dict):
        return {key: hide_secrets_in(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [hide_secrets_in(item) for item in value]
    return value


def scrub(text: str) -> str:
    """text with every known secret, query string and credential replaced by [hidden]."""
    text = hide_secrets(text)
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def scrub_record(record: logging.LogRecord) -> bool:
    """A logging filter: the record's message and traceback, scrubbed, and always kept."""
    message = record.getMessage()
    if record.exc_info:
        # An exception's message may quote what the client sent: format it now, then scrub it with the rest.
        message += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
    record.msg, record.args, record.exc_info, record.exc_text = scrub(message), (), None, None
    return True


class ScrubFilter(logging.Filter):
    """scrub_record as a logging.Filter, for the loggers of the web process."""

    def filter(self, record: logging.LogRecord) -> bool:
        return scrub_record(record)


# One instance: logging adds the same filter to a logger only once, however many apps are created.
SCRUB = ScrubFilter()
