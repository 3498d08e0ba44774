"""What a template may print: text and numbers; a null, an undefined, an object or a method prints as nothing.

Payload fields may be null, missing or of another type than a template expects. Every path by which a
value becomes text goes through printable(): {{ }} (the environment's finalize), `~` (the code
generator below), and the filters that turn values into text (e, escape, string, join, tojson).
Every path by which a template walks a value goes through items(): `for` loops (the code generator)
and the filters that iterate (map, select, sort, first, ...), so a number where a list was expected
is walked as an empty list instead of failing the message.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sized

from jinja2 import Undefined, nodes, pass_environment, pass_eval_context
from jinja2.compiler import CodeGenerator
from jinja2.filters import do_join, do_truncate, make_attrgetter
from jinja2.utils import _PassArg
from markupsafe import escape

from bridge.payload import Record

# Types whose attributes a template reaches as data; a method of one of them is shielded.
DATA = (str, int, float, dict, list, tuple)


class Method:
    """A method of payload data: it can be called, and prints as nothing (never '<built-in method ...>')."""

    __slots__ = ("function",)

    def __init__(self, function):
        self.function = function

    def __call__(self, *args, **kwargs):
        return self.function(*args, **kwargs)

    def __str__(self) -> str:
        return ""

    __html__ = __str__

    def __bool__(self) -> bool:
        return False

    def __len__(self) -> int:
        return 0

    def __iter__(self):
        return iter(())


def printable(value: object) -> object:
    """The value itself when it is text or a number; '' for null, undefined, objects, lists and methods."""
    if value is None or isinstance(value, (Undefined, Mapping, list, tuple, set, frozenset, Method)):
        return ""
    if callable(value) and not isinstance(value, str):
        return ""
    return value


def shielded(owner: object, value: object) -> object:
    """A method found on payload data, wrapped so that printing it shows nothing."""
    if isinstance(owner, DATA) and callable(value) and not isinstance(value, (Undefined, Method)):
        return Method(value)
    return value


def payload_field(owner: object, name: str) -> tuple[bool, object]:
    """(True, value) when owner is a payload object that has this field: fields win over dict methods."""
    if isinstance(owner, Record) and name in owner:
        return True, owner[name]
    return False, None


def json_default(value: object) -> None:
    """tojson of an undefined or a method: null, as for a missing field."""
    return None


def text(value: object) -> str:
    """Jinja's `string`, with printable() first."""
    return str(printable(value))


def escaped(value: object):
    """Jinja's `e` and `escape`, with printable() first."""
    return escape(printable(value))


def items(value: object) -> Iterable:
    """The value when it can be walked; nothing for a number, a boolean or a null."""
    return value if isinstance(value, Iterable) else ()


@pass_eval_context
def joined(eval_ctx, value, separator: str = "", attribute: str | None = None) -> str:
    """Jinja's `join`, with printable() on every item."""
    value = items(value)
    if attribute is not None:
        value = map(make_attrgetter(eval_ctx.environment, attribute), value)
    return do_join(eval_ctx, [printable(item) for item in value], separator)


@pass_environment
def truncated(environment, value, *args, **kwargs) -> str:
    """Jinja's `truncate` of the printable text (a number or an object where text was expected)."""
    return do_truncate(environment, text(value), *args, **kwargs)


def length(value: object) -> int:
    """Jinja's `length`; 0 for a value that has none (a number where a list was expected)."""
    return len(value) if isinstance(value, Sized) else 0


def mapping(value: object) -> Mapping:
    """The value when it is an object; nothing for anything else."""
    return value if isinstance(value, Mapping) else {}


def walking(jinja_filter: Callable, expect: Callable[[object], object]) -> Callable:
    """A Jinja filter whose input first goes through expect(), keeping how Jinja passes it its context."""
    position = 1 if _PassArg.from_obj(jinja_filter) else 0

    @functools.wraps(jinja_filter)
    def walk(*args, **kwargs):
        args = (*args[:position], expect(args[position]), *args[position + 1 :])
        return jinja_filter(*args, **kwargs)

    return walk


def textual(value: object) -> str:
    """The value when it is text (markup stays markup); its printable text otherwise."""
    return value if isinstance(value, str) else text(value)


# Jinja's filters that walk or edit their input, and what they need it to be.
WALKING_FILTERS = {
    **dict.fromkeys(("replace", "trim", "lower", "upper", "title", "capitalize", "center", "indent", "wordwrap", "wordcount", "striptags", "urlize"), textual),
    **dict.fromkeys(
        (
            "map",
            "select",
            "reject",
            "selectattr",
            "rejectattr",
            "sort",
            "unique",
            "first",
            "last",
            "list",
            "sum",
            "min",
            "max",
            "groupby",
            "batch",
            "slice",
            "reverse",
        ),
        items,
    ),
    **dict.fromkeys(("dictsort", "items"), mapping),
}

PRINT_FILTERS = {"e": escaped, "escape": escaped, "string": text, "join": joined, "truncate": truncated, "length": length, "count": length}


def walk_loops(tree: nodes.Template) -> nodes.Template:
    """Every `for` loop of a parsed template walks its sequence through the `_items` filter (items())."""
    for loop in tree.find_all(nodes.For):
        loop.iter = nodes.Filter(loop.iter, "_items", [], [], None, None, lineno=loop.iter.lineno)
    return tree


class PrintingCodeGenerator(CodeGenerator):
    """Compiles `a ~ b` to environment.concat, so concatenation prints a null or an object as nothing."""

    def visit_Concat(self, node, frame) -> None:
        if frame.eval_ctx.volatile or frame.eval_ctx.autoescape:
            return super().visit_Concat(node, frame)
        self.write("environment.concat((")
        for argument in node.nodes:
            self.visit(argument, frame)
            self.write(", ")
        self.write("))")
        return None
