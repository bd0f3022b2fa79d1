"""MLflow's search grammar (runs, experiments, registered models): tokenizer and parser.

A filter is comparisons joined by AND (OR and parentheses around clauses are
rejected, as in MLflow). Each comparison is `<entity>.<key> <op> <value>`;
a key without an entity prefix is an attribute. Keys may be backtick- or
double-quoted; unquoted keys may contain dots (`tags.mlflow.user`).
Strings take single or double quotes, a doubled quote escapes it (`'it''s'`);
backslashes stay literal so LIKE patterns such as `'a\\_b'` reach SQL as written.

The parser only validates and normalises; each service's `search.py` turns
the result into SQL (tracking for runs and experiments, the registry with
its own `Scope`s for models and versions). Errors are `InvalidArgument` with
`field` set to "filter" or "order_by" and a message quoting the offending
token and its 1-based column.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from switchyard.core.validation import storable
from switchyard.errors import InvalidArgument

# Size limits. They bound parse time and statement size, not semantics: a filter
# can carry an IN list of a few thousand run ids (~35 chars each); MLflow caps
# keys at 250 chars; a bigint must fit the columns it is compared with.
MAX_FILTER_CHARS = 100_000
MAX_CLAUSES = 100
MAX_IN_VALUES = 10_000
MAX_KEY_CHARS = 250
MAX_ORDER_BY = 20
_BIGINT_MAX = 2**63 - 1

RUN_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")

_NUMERIC_OPS = frozenset({"=", "!=", ">", ">=", "<", "<="})
_STRING_OPS = frozenset({"=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"})
_KV_OPS = _STRING_OPS | {"IS NULL", "IS NOT NULL"}
_ID_OPS = frozenset({"=", "!=", "IN", "NOT IN"})

_ENTITY_SPELLINGS = {
    "metric": "metric metrics",
    "param": "param params parameter parameters",
    "tag": "tag tags",
    "attribute": "attribute attributes attr run",
    "dataset": "dataset datasets",
}
_ENTITIES = {word: kind for kind, words in _ENTITY_SPELLINGS.items() for word in words.split()}
# MLflow's alternate spellings for attributes.
_ATTRIBUTE_ALIASES = dict.fromkeys(("created", "Created"), "start_time")
_ATTRIBUTE_ALIASES.update(dict.fromkeys(("run name", "Run name", "Run Name"), "run_name"))
# Attribute -> value type. "int" is milliseconds since the epoch.
_RUN_ATTRIBUTES = {
    "run_id": "run_id",
    "run_name": "string",
    "status": "status",
    "user_id": "string",
    "artifact_uri": "string",
    "start_time": "int",
    "end_time": "int",
}
_EXPERIMENT_FILTER_ATTRIBUTES = {
    "name": "string",
    "creation_time": "int",
    "last_update_time": "int",
}
_EXPERIMENT_ORDER_ATTRIBUTES = ("name", "experiment_id", "creation_time", "last_update_time")
_DATASET_KEYS = ("name", "digest", "context")
_HEX32 = re.compile(r"[0-9a-fA-F]{32}")
_INTEGER = re.compile(r"[+-]?\d+")


@dataclass(frozen=True)
class Comparison:
    kind: str  # "metric" | "param" | "tag" | "attribute" | "dataset"
    key: str
    op: str  # "=", "!=", ">", ">=", "<", "<=", "LIKE", "ILIKE", "IN", "NOT IN", "IS NULL", ...
    value: object  # float | int | str | tuple[str, ...] | None


@dataclass(frozen=True)
class OrderKey:
    kind: str
    key: str
    ascending: bool


# --- tokenizer ---------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    kind: str  # word, bquote, string ('), dstring ("), number, op, "(", ")", ",", ".", end
    value: str  # unquoted content (the raw text for words, numbers, operators)
    pos: int  # 0-based offset into the source
    spaced: bool  # whitespace precedes it; parts of one key must touch

    def show(self) -> str:
        return "end of input" if self.kind == "end" else repr(self.value)


# A word may hold dots (`tags.mlflow.user`); the parser splits it. Segments after
# a dot may start with a digit (`metrics.1st`).
_WORD = re.compile(r"[^\W\d][\w\-/:]*(?:\.[\w\-/:]+)*")
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_OPERATORS = ("!=", ">=", "<=", "<>", "==", "=", ">", "<")


class _Error(Exception):
    """Carries a message and offset until the public wrapper adds the field."""

    def __init__(self, message: str, pos: int) -> None:
        super().__init__(message)
        self.message = message
        self.pos = pos


def _read_quoted(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    parts: list[str] = []
    i = start + 1
    while True:
        end = text.find(quote, i)
        if end < 0:
            what = "quoted name" if quote == "`" else "string"
            raise _Error(f"unterminated {what} starting {text[start : start + 20]!r}", start)
        parts.append(text[i:end])
        if text.startswith(quote, end + 1):  # doubled quote: a literal quote
            parts.append(quote)
            i = end + 2
            continue
        return "".join(parts), end + 1


def tokenize(text: str) -> list[Token]:
    """Split a filter or order_by clause into tokens, ending with an "end" token."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while True:
        j = i
        while j < n and text[j].isspace():
            j += 1
        spaced, i = j > i, j
        if i >= n:
            tokens.append(Token("end", "", n, spaced))
            return tokens
        ch = text[i]
        if ch in "'\"`":
            value, end = _read_quoted(text, i)
            kind = {"`": "bquote", '"': "dstring"}.get(ch, "string")
            tokens.append(Token(kind, value, i, spaced))
            i = end
            continue
        if ch in "(),." and not (ch == "." and _NUMBER.match(text, i)):
            tokens.append(Token(ch, ch, i, spaced))
            i += 1
            continue
        op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
        if op is not None:
            tokens.append(Token("op", op, i, spaced))
            i += len(op)
            continue
        m = _NUMBER.match(text, i)
        if m is not None:
            end = m.end()
            if end < n and (text[end].isalnum() or text[end] in "_."):
                raise _Error(f"invalid number {text[i : end + 1]!r}", i)
            tokens.append(Token("number", m.group(), i, spaced))
            i = end
            continue
        m = _WORD.match(text, i)
        if m is not None:
            tokens.append(Token("word", m.group(), i, spaced))
            i = m.end()
            continue
        raise _Error(f"unexpected character {ch!r}", i)


# --- parser ------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What one search accepts: which entities, and which attributes of what type."""

    entities: tuple[str, ...]  # canonical entity kinds accepted here
    prefixes: str  # how to name them in errors
    attributes: dict[str, str]  # attribute -> value type


_RUN_FILTER = Scope(
    ("metric", "param", "tag", "attribute", "dataset"),
    "metrics, params, tags, attributes, datasets",
    _RUN_ATTRIBUTES,
)
_RUN_ORDER = Scope(
    ("metric", "param", "tag", "attribute"), "metrics, params, tags, attributes", _RUN_ATTRIBUTES
)
_EXPERIMENT_FILTER = Scope(("attribute", "tag"), "attributes, tags", _EXPERIMENT_FILTER_ATTRIBUTES)
_EXPERIMENT_ORDER = Scope(
    ("attribute",), "attributes", dict.fromkeys(_EXPERIMENT_ORDER_ATTRIBUTES, "int")
)

_OPS_BY_TYPE = {
    "number": _NUMERIC_OPS,
    "int": _NUMERIC_OPS,
    "string": _STRING_OPS,
    "status": _STRING_OPS,
    "run_id": _ID_OPS,
}
_OP_ORDER: tuple[str, ...] = ("=", "!=", ">", ">=", "<", "<=", "LIKE", "ILIKE", "IN", "NOT IN")
_OP_ORDER += ("IS NULL", "IS NOT NULL")
_NAME_PARTS = ("word", "bquote", "dstring")


def _describe(kind: str, key: str) -> str:
    return f"{kind} {key!r}"


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0

    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind != "end":
            self.i += 1
        return tok

    @staticmethod
    def is_word(tok: Token, *words: str) -> bool:
        return tok.kind == "word" and tok.value.upper() in words

    # `metrics.acc`, `tags.mlflow.user`, metrics.`my metric`, `status`
    def key(self, scope: Scope) -> tuple[str, str, Token]:
        first = self.take()
        if first.kind == "(":
            raise _Error("parentheses are only supported around IN lists", first.pos)
        if self.is_word(first, "AND", "OR") or first.kind not in _NAME_PARTS:
            raise _Error(f"expected a key such as metrics.<name>, got {first.show()}", first.pos)
        segments = first.value.split(".") if first.kind == "word" else [first.value]
        while self.peek().kind == "." and not self.peek().spaced:
            self.take()
            part = self.take()
            if part.kind not in _NAME_PARTS or part.spaced:
                raise _Error(f"expected a key after '.', got {part.show()}", part.pos)
            segments += part.value.split(".") if part.kind == "word" else [part.value]

        if len(segments) == 1:
            kind, key = "attribute", segments[0]
        else:
            found = _ENTITIES.get(segments[0].lower())
            if found is None or found not in scope.entities:
                raise _Error(
                    f"unknown entity {segments[0]!r}; expected one of {scope.prefixes}", first.pos
                )
            kind, key = found, ".".join(segments[1:])
        if not key:
            raise _Error(f"empty key after {segments[0]!r}", first.pos)
        if len(key) > MAX_KEY_CHARS:
            raise _Error(
                f"key {key[:40]!r}... is longer than {MAX_KEY_CHARS} characters", first.pos
            )
        if kind == "attribute":
            key = _ATTRIBUTE_ALIASES.get(key, key)
            if key not in scope.attributes:
                valid = ", ".join(scope.attributes)
                raise _Error(f"unknown attribute {key!r}; valid attributes are {valid}", first.pos)
        if kind == "dataset" and key not in _DATASET_KEYS:
            valid = ", ".join(_DATASET_KEYS)
            raise _Error(f"unknown dataset field {key!r}; valid fields are {valid}", first.pos)
        return kind, key, first

    def operator(self, kind: str, key: str) -> tuple[str, Token]:
        tok = self.take()
        if tok.kind == "op":
            if tok.value in ("<>", "=="):
                raise _Error(f"unsupported operator {tok.value!r}; use '!=' or '='", tok.pos)
            return tok.value, tok
        word = tok.value.upper() if tok.kind == "word" else ""
        if word in ("LIKE", "ILIKE", "IN"):
            return word, tok
        if word == "NOT":
            nxt = self.take()
            if self.is_word(nxt, "IN"):
                return "NOT IN", tok
            raise _Error(f"expected IN after NOT, got {nxt.show()}", nxt.pos)
        if word == "IS":
            nxt = self.take()
            negated = self.is_word(nxt, "NOT")
            if negated:
                nxt = self.take()
            if self.is_word(nxt, "NULL"):
                return ("IS NOT NULL" if negated else "IS NULL"), tok
            raise _Error(f"expected NULL or NOT NULL after IS, got {nxt.show()}", nxt.pos)
        hint = " (quote keys that contain spaces with backticks)" if tok.kind == "word" else ""
        raise _Error(
            f"expected an operator after {_describe(kind, key)}, got {tok.show()}{hint}", tok.pos
        )

    def comparison(self, scope: Scope) -> Comparison:
        kind, key, _ = self.key(scope)
        op, op_tok = self.operator(kind, key)
        if kind == "metric":
            vtype = "number"
        elif kind == "attribute":
            vtype = scope.attributes[key]
        else:
            vtype = "string"
        allowed = _KV_OPS if kind in ("param", "tag") else _OPS_BY_TYPE[vtype]
        if op not in allowed:
            ops = ", ".join(o for o in _OP_ORDER if o in allowed)
            raise _Error(
                f"operator {op!r} is not supported for {_describe(kind, key)}; use one of {ops}",
                op_tok.pos,
            )
        value: object
        if op in ("IS NULL", "IS NOT NULL"):
            value = None
        elif op in ("IN", "NOT IN"):
            value = self.in_list(kind, key, vtype, op)
        else:
            value = self.scalar(kind, key, vtype, op)
        return Comparison(kind, key, op, value)

    def in_list(self, kind: str, key: str, vtype: str, op: str) -> tuple[str, ...]:
        opening = self.take()
        if opening.kind != "(":
            raise _Error(f"expected '(' after {op}, got {opening.show()}", opening.pos)
        if self.peek().kind == ")":
            raise _Error(f"{op} list for {_describe(kind, key)} is empty", opening.pos)
        values: list[str] = []
        while True:
            tok = self.take()
            if tok.kind not in ("string", "dstring"):
                raise _Error(f"{op} lists hold quoted strings, got {tok.show()}", tok.pos)
            values.append(_check_string(kind, key, vtype, op, tok))
            if len(values) > MAX_IN_VALUES:
                raise _Error(f"{op} list has more than {MAX_IN_VALUES} values", opening.pos)
            sep = self.take()
            if sep.kind == ")":
                return tuple(values)
            if sep.kind != ",":
                raise _Error(f"expected ',' or ')' in {op} list, got {sep.show()}", sep.pos)

    def scalar(self, kind: str, key: str, vtype: str, op: str) -> object:
        tok = self.take()
        what = _describe(kind, key)
        if vtype in ("number", "int"):
            if tok.kind != "number":
                raise _Error(f"expected a number for {what}, got {tok.show()}", tok.pos)
            return float(tok.value) if vtype == "number" else _to_int(tok)
        if tok.kind not in ("string", "dstring"):
            hint = " (quote string values)" if tok.kind in ("word", "number") else ""
            raise _Error(f"expected a quoted string for {what}, got {tok.show()}{hint}", tok.pos)
        return _check_string(kind, key, vtype, op, tok)


def _to_int(tok: Token) -> int:
    if _INTEGER.fullmatch(tok.value):
        number = int(tok.value)
    else:
        as_float = float(tok.value)
        if not as_float.is_integer():
            raise _Error(f"expected an integer (epoch milliseconds), got {tok.value!r}", tok.pos)
        number = int(as_float)
    if abs(number) > _BIGINT_MAX:
        raise _Error(f"number {tok.value!r} is out of range", tok.pos)
    return number


def _check_string(kind: str, key: str, vtype: str, op: str, tok: Token) -> str:
    value = tok.value
    if vtype == "run_id":
        compact = value.replace("-", "") if len(value) == 36 else value
        if not _HEX32.fullmatch(compact):
            raise _Error(f"run_id {value!r} is not a 32-character hex run id", tok.pos)
        return compact.lower()
    if vtype == "status" and op not in ("LIKE", "ILIKE") and value not in RUN_STATUSES:
        valid = ", ".join(RUN_STATUSES)
        raise _Error(f"status {value!r} is not one of {valid}", tok.pos)
    return value


def _fail(field: str, text: str, error: _Error) -> InvalidArgument:
    what = "filter" if field == "filter" else f"order_by {text!r}"
    return InvalidArgument(
        f"invalid {what} at column {error.pos + 1}: {error.message}", field=field
    )


def parse_filter(text: str, scope: Scope) -> list[Comparison]:
    if len(text) > MAX_FILTER_CHARS:
        raise InvalidArgument(
            f"filter is {len(text)} characters; the limit is {MAX_FILTER_CHARS}", field="filter"
        )
    storable(text, "filter")  # its strings end up in SQL parameters
    try:
        parser = _Parser(text)
        found: list[Comparison] = []
        if parser.peek().kind == "end":
            return found
        while True:
            found.append(parser.comparison(scope))
            tok = parser.take()
            if tok.kind == "end":
                break
            if parser.is_word(tok, "AND"):
                if parser.peek().kind == "end":
                    raise _Error("dangling AND: expected a comparison after it", tok.pos)
                continue
            if parser.is_word(tok, "OR"):
                raise _Error("'OR' is not supported; join clauses with AND", tok.pos)
            raise _Error(f"unexpected {tok.show()}; join clauses with AND", tok.pos)
        if len(found) > MAX_CLAUSES:
            raise _Error(f"more than {MAX_CLAUSES} clauses", 0)
        return found
    except _Error as error:
        raise _fail("filter", text, error) from None


def parse_order_by(clauses: Sequence[str], scope: Scope) -> list[OrderKey]:
    if isinstance(clauses, str):  # a lone string is a list of characters to Python
        clauses = [clauses]
    if len(clauses) > MAX_ORDER_BY:
        raise InvalidArgument(
            f"{len(clauses)} order_by clauses; the limit is {MAX_ORDER_BY}", field="order_by"
        )
    keys: list[OrderKey] = []
    for clause in clauses:
        storable(clause, "order_by")
        try:
            parser = _Parser(clause)
            if parser.peek().kind == "end":
                raise _Error("empty clause", 0)
            kind, key, _ = parser.key(scope)
            ascending = True
            tok = parser.take()
            if parser.is_word(tok, "ASC", "DESC"):
                ascending = tok.value.upper() == "ASC"
                tok = parser.take()
            if tok.kind != "end":
                raise _Error(f"unexpected {tok.show()}; expected ASC or DESC", tok.pos)
        except _Error as error:
            raise _fail("order_by", clause, error) from None
        keys.append(OrderKey(kind, key, ascending))
    return keys


def parse_run_filter(text: str) -> list[Comparison]:
    """Parse a search_runs filter; an empty or blank filter matches everything."""
    return parse_filter(text, _RUN_FILTER)


def parse_experiment_filter(text: str) -> list[Comparison]:
    """Parse a search_experiments filter: name, creation/update times and tags."""
    return parse_filter(text, _EXPERIMENT_FILTER)


def parse_run_order_by(clauses: Sequence[str]) -> list[OrderKey]:
    """Parse order_by for runs: metrics, params, tags and attributes; ASC by default."""
    return parse_order_by(clauses, _RUN_ORDER)


def parse_experiment_order_by(clauses: Sequence[str]) -> list[OrderKey]:
    """Parse order_by for experiments: name, experiment_id, creation/update times."""
    return parse_order_by(clauses, _EXPERIMENT_ORDER)
