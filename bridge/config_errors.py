"""Configuration problems as one line: file, line, dotted key, what is wrong and the fix."""

from __future__ import annotations

import yaml
from pydantic import ValidationError


class ConfigError(Exception):
    """A configuration problem, phrased as file:line: key: problem; fix."""


class FieldError(ValueError):
    """A validator's complaint that knows which key it is about."""

    def __init__(self, loc: tuple, message: str):
        super().__init__(message)
        self.loc = loc


class EmptySecret(ValueError):
    """A secret key that is present but empty; describe() names the variables it came from."""


def describe(exc: ValidationError, path: str, lines: dict, variables: dict, target_types: frozenset = frozenset()) -> str:
    """Turn pydantic's first error into one line a person can act on."""
    err = exc.errors()[0]
    loc = tuple(p for p in err["loc"] if p != "path")
    if loc[:1] == ("targets",) and len(loc) > 2 and loc[2] in target_types:
        loc = loc[:2] + loc[3:]  # the target's type, which pydantic names in the path, is not a key of the file
    if err["type"] == "unknown_target_type":
        loc += ("type",)
    cause = err.get("ctx", {}).get("error")
    if isinstance(cause, FieldError):
        return where(path, lines, cause.loc) + f" {cause}"
    if isinstance(cause, EmptySecret):
        return where(path, lines, loc) + empty_secret(variables.get(loc, []))
    if err["type"] == "extra_forbidden":
        return where(path, lines, loc) + " unknown key; fix: remove it or check its spelling against bridge.example.yml"
    if err["type"] == "missing":
        return where(path, lines, loc) + " is required; fix: add it (see bridge.example.yml)"
    message = err["msg"].removeprefix("Value error, ")
    fix = "" if "; fix:" in message else "; fix: correct this value (see bridge.example.yml)"
    return where(path, lines, loc) + f" {message}{fix}"


def empty_secret(names: list[str]) -> str:
    """Why a secret is empty and how to give it one: from the variables it names, or written empty."""
    if names:
        return f" is empty ({' and '.join(names)} set to an empty or blank string); fix: export {names[0]}=<the secret>"
    return " is empty; fix: write the secret as ${VARIABLE} and export VARIABLE=<the secret>"


def where(path: str, lines: dict, loc: tuple) -> str:
    """'file:line: dotted.key:' for the deepest key of loc that the file has."""
    key = ".".join(str(p) for p in loc) or "(top level)"
    for depth in range(len(loc), -1, -1):
        if loc[:depth] in lines:
            return f"{path}:{lines[loc[:depth]]}: {key}:"
    return f"{path}: {key}:"


def key_lines(node: yaml.Node, loc: tuple = ()) -> dict[tuple, int]:
    """Map each key path of a composed YAML document to its 1-based line."""
    found = {loc: node.start_mark.line + 1}
    if isinstance(node, yaml.MappingNode):
        for key, child in node.value:
            found[loc + (key.value,)] = key.start_mark.line + 1
            found.update({k: v for k, v in key_lines(child, loc + (key.value,)).items() if k != loc + (key.value,)})
    elif isinstance(node, yaml.SequenceNode):
        for i, child in enumerate(node.value):
            found.update(key_lines(child, loc + (i,)))
    return found
