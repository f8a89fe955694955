"""The display filter language of `-Y FILTER` (and of the TUI's filter bar): tshark's spelling, over the JSON
form of a message.

    type == "video" && media.keyframe          command == publish || command in {play, play2}
    !(dir == c2s) and length > 4096            summary contains "NetStream.Publish"
    args.1.code matches "^NetStream\\.Play\\."   stream_id != 0 and not media.sequence_header

Fields are the message's JSON keys (`MESSAGE_FIELDS`, as in the contract, plus `flow`, its flow's id) and
dotted paths into their values (`media.codec`, `args.0`, `args.1.code`: list items by position). A bare field
is true when the message has it. Operators: `==` `!=` `<` `<=` `>` `>=` (also `eq ne lt le gt ge`),
`contains`, `matches` (a regular expression, searched), `in {v1, v2 ...}`, `and`/`&&`, `or`/`||`,
`not`/`!`, parentheses. Values: numbers, double-quoted strings (with `\\"` and `\\\\`), `true`, `false`,
`null`, and bare words (`c2s`, `publish`) as strings. A comparison with a field the message lacks is false;
on a list it holds when it holds for any item (`!=`: for every item).

`compile_filter(text)` raises FilterError, whose text is one line naming what is wrong (an unknown field, a
syntax error and where); the returned function takes the message's JSON dict.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# The top-level keys a message's JSON can have (export/message_json.py), and `flow`.
MESSAGE_FIELDS = frozenset((
    "flow", "index", "dir", "frame", "time", "csid", "stream_id", "timestamp", "type_id", "length", "type",
    "command", "transaction_id", "args", "decode_error", "value", "limit_type", "event", "event_type",
    "event_stream_id", "buffer_ms", "event_timestamp", "data", "parts", "shared_object", "media", "summary",
    "chunks", "fmt", "inferred",
))

Predicate = Callable[[dict[str, Any]], bool]


class FilterError(ValueError):
    """A filter that cannot be used: the message is one line."""


_MISSING = object()
_WORD_OPERATORS = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">=",
                   "contains": "contains", "matches": "matches", "in": "in"}
_TOKEN = re.compile(r"""
    \s*(?:
      (?P<string>"(?:[^"\\]|\\.)*")
    | (?P<number>-?\d+(?:\.\d+)?(?![\w.]))
    | (?P<op>==|!=|<=|>=|&&|\|\||[<>!(){},])
    | (?P<word>[A-Za-z_][\w.\-]*)
    | (?P<bad>\S)
    )""", re.VERBOSE)


def _tokens(text: str) -> list[tuple[str, str, int]]:
    """(kind, text, position) of each token, then ("end", "", len(text))."""
    out = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        found = _TOKEN.match(text, pos)
        if found is None:  # (only trailing space is left; rstrip took it)
            break
        kind = found.lastgroup or "bad"
        value = found.group(kind)
        start = found.start(kind)
        if kind == "bad":
            if value == '"':
                raise FilterError(f"unterminated string at character {start + 1}")
            raise FilterError(f"unexpected {value!r} at character {start + 1}")
        out.append((kind, value, start))
        pos = found.end()
    out.append(("end", "", len(text)))
    return out


def _string_value(token: str) -> str:
    return re.sub(r"\\(.)", r"\1", token[1:-1])


class _Parser:
    def __init__(self, text: str, fields: frozenset[str], fields_hint: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0
        self.fields = fields
        self.fields_hint = fields_hint
        self.used: set[str] = set()

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.at]

    def take(self) -> tuple[str, str, int]:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def expect(self, text: str) -> None:
        kind, value, pos = self.take()
        if value != text:
            raise FilterError(f"expected {text!r} at character {pos + 1}, found {_shown(kind, value)}")

    def parse(self) -> Predicate:
        if self.peek()[0] == "end":
            raise FilterError("empty filter")
        predicate = self.disjunction()
        kind, value, pos = self.peek()
        if kind != "end":
            raise FilterError(f"unexpected {_shown(kind, value)} at character {pos + 1}")
        return predicate

    def disjunction(self) -> Predicate:
        parts = [self.conjunction()]
        while self.peek()[1] in ("or", "||"):
            self.take()
            parts.append(self.conjunction())
        if len(parts) == 1:
            return parts[0]
        return lambda message: any(part(message) for part in parts)

    def conjunction(self) -> Predicate:
        parts = [self.negation()]
        while self.peek()[1] in ("and", "&&"):
            self.take()
            parts.append(self.negation())
        if len(parts) == 1:
            return parts[0]
        return lambda message: all(part(message) for part in parts)

    def negation(self) -> Predicate:
        if self.peek()[1] in ("not", "!"):
            self.take()
            inner = self.negation()
            return lambda message: not inner(message)
        return self.primary()

    def primary(self) -> Predicate:
        kind, value, pos = self.take()
        if value == "(":
            inner = self.disjunction()
            self.expect(")")
            return inner
        if kind != "word" or value in ("and", "or", "not", "in", "contains", "matches", "true", "false", "null"):
            raise FilterError(f"expected a field at character {pos + 1}, found {_shown(kind, value)}")
        path = self.field_path(value, pos)
        op_kind, op, op_pos = self.peek()
        op = _WORD_OPERATORS.get(op, op) if op_kind == "word" else op
        if op not in ("==", "!=", "<", "<=", ">", ">=", "contains", "matches", "in"):
            return lambda message: _lookup(message, path) is not _MISSING  # a bare field: present
        self.take()
        if op == "in":
            self.expect("{")
            values = [self.value()]
            while self.peek()[1] != "}":
                if self.peek()[1] == ",":
                    self.take()
                values.append(self.value())
            self.expect("}")
            return lambda message: _any_item(_lookup(message, path), lambda item: any(_equal(item, v) for v in values))
        literal = self.value()
        return _comparison(path, op, literal, op_pos)

    def field_path(self, name: str, pos: int) -> list[str | int]:
        parts = name.split(".")
        if parts[0] not in self.fields:
            raise FilterError(f"unknown field {parts[0]!r} at character {pos + 1} ({self.fields_hint}: "
                              f"{', '.join(sorted(self.fields))})")
        if any(not part for part in parts):
            raise FilterError(f"bad field name {name!r} at character {pos + 1}")
        self.used.add(parts[0])
        return [int(part) if part.isdigit() else part for part in parts]

    def value(self) -> Any:
        kind, value, pos = self.take()
        if kind == "string":
            return _string_value(value)
        if kind == "number":
            return float(value) if "." in value else int(value)
        if kind == "word":
            return {"true": True, "false": False, "null": None}.get(value, value)
        raise FilterError(f"expected a value at character {pos + 1}, found {_shown(kind, value)}")


def _shown(kind: str, value: str) -> str:
    return "the end" if kind == "end" else repr(value)


def _lookup(message: Any, path: list[str | int]) -> Any:
    value = message
    for part in path:
        if isinstance(value, dict):
            value = value.get(part if isinstance(part, str) else str(part), _MISSING)
        elif isinstance(value, list) and isinstance(part, int):
            value = value[part] if part < len(value) else _MISSING
        else:
            return _MISSING
        if value is _MISSING:
            return _MISSING
    return value


def _any_item(value: Any, test: Callable[[Any], bool]) -> bool:
    if value is _MISSING:
        return False
    if isinstance(value, list):
        return any(test(item) for item in value)
    return test(value)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _equal(have: Any, want: Any) -> bool:
    if _number(have) and _number(want):
        return bool(have == want)
    if isinstance(have, str) and isinstance(want, str):  # (str subclasses too: directions are a StrEnum)
        return str(have) == want
    return type(have) is type(want) and bool(have == want)


def _order(have: Any, want: Any, op: str) -> bool:
    if not ((_number(have) and _number(want)) or (isinstance(have, str) and isinstance(want, str))):
        return False
    if op == "<":
        return bool(have < want)
    if op == "<=":
        return bool(have <= want)
    if op == ">":
        return bool(have > want)
    return bool(have >= want)


def _comparison(path: list[str | int], op: str, literal: Any, pos: int) -> Predicate:
    if op == "==":
        return lambda message: _any_item(_lookup(message, path), lambda item: _equal(item, literal))
    if op == "!=":
        def differs(message: dict[str, Any]) -> bool:
            value = _lookup(message, path)
            if value is _MISSING:
                return False
            items = value if isinstance(value, list) else [value]
            return all(not _equal(item, literal) for item in items)
        return differs
    if op == "contains":
        def contains(message: dict[str, Any]) -> bool:
            value = _lookup(message, path)
            if isinstance(value, str):
                return isinstance(literal, str) and literal in value
            if isinstance(value, list):
                return any(_equal(item, literal) or (isinstance(item, str) and isinstance(literal, str)
                                                      and literal in item) for item in value)
            if isinstance(value, dict):
                return literal in value
            return False
        return contains
    if op == "matches":
        if not isinstance(literal, str):
            raise FilterError(f"'matches' needs a string (a regular expression) after character {pos + 1}")
        try:
            pattern = re.compile(literal)
        except re.error as exc:
            raise FilterError(f"bad regular expression {literal!r}: {exc}") from None
        return lambda message: _any_item(_lookup(message, path),
                                         lambda item: isinstance(item, str) and pattern.search(item) is not None)
    return lambda message: _any_item(_lookup(message, path), lambda item: _order(item, literal, op))


def compile_filter(text: str, fields: frozenset[str] = MESSAGE_FIELDS,
                   fields_hint: str = "message fields") -> Predicate:
    """The predicate of a display filter over a message's JSON dict (FilterError: one line). `fields`: the
    top-level fields it may name (another set for views that hold less than the whole message)."""
    return _Parser(text, fields, fields_hint).parse()


def fields_used(text: str, fields: frozenset[str] = MESSAGE_FIELDS) -> set[str]:
    """The top-level fields a (valid) filter names."""
    parser = _Parser(text, fields, "")
    parser.parse()
    return parser.used
