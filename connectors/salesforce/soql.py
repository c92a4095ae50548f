"""SOQL: quoting and IN lists for the connector, and the small parser the sandbox
evaluates queries with.

The client only ever builds the queries below, so the sandbox understands exactly that
subset of SOQL (https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/):

    SELECT f1, f2, Rel.Field FROM Obj
      [WHERE cond [AND cond]...] [ORDER BY f [ASC|DESC], ...] [LIMIT n]

with ``cond`` one of ``f = v``, ``f != v``, ``f < v``, ``f <= v``, ``f > v``, ``f >= v``,
``f IN (v, ...)``, ``f NOT IN (v, ...)``, ``f LIKE 'x%'``. Values are quoted strings,
``true``/``false``/``null``, numbers, and unquoted date or datetime literals.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^'\\]|\\.)*')
      | (?P<op>!=|<=|>=|=|<|>|\(|\)|,)
      | (?P<word>[A-Za-z0-9_.:+\-]+)
    )""",
    re.VERBOSE,
)
DATETIME_LITERAL = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$")
DATE_LITERAL = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# The URL-encoded IN list of one query at most: with the columns and headers, a query's
# GET stays under Salesforce's 16,384 bytes of URI and headers (Help article 000386264).
IN_LIST_BYTES = 8_000


class SoqlError(ValueError):
    """A query the parser refuses (Salesforce answers MALFORMED_QUERY)."""


def quote(value: str) -> str:
    """``value`` as a SOQL string literal: backslashes and single quotes escaped."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return f"'{escaped}'"


def in_lists(values: list[str], most: int = 200) -> Iterator[list[str]]:
    """``values`` cut into SOQL ``IN (…)`` lists of at most ``most`` values whose
    quoted, URL-encoded text fits ``IN_LIST_BYTES`` (a query is a GET: its URL counts
    against Salesforce's 16,384 bytes, and non-ASCII text grows up to ninefold there)."""
    chunk: list[str] = []
    size = 0
    for value in values:
        cost = len(quote_plus(quote(value))) + len(quote_plus(", "))
        if chunk and (len(chunk) >= most or size + cost > IN_LIST_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(value)
        size += cost
    if chunk:
        yield chunk


def datetime_literal(moment: datetime) -> str:
    """An unquoted SOQL datetime literal in UTC, e.g. ``2024-01-31T10:00:00.000Z``."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


@dataclass
class Condition:
    field: str
    op: str  # =, !=, <, <=, >, >=, IN, NOT IN, LIKE
    value: Any


@dataclass
class Query:
    fields: list[str]
    sobject: str
    where: list[Condition] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    limit: int | None = None


def _tokens(text: str) -> list[str]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise SoqlError(f"unexpected token at: {text[pos : pos + 20]!r}")
        tokens.append(match.group(match.lastgroup or "word"))
        pos = match.end()
    return tokens


def literal(token: str) -> Any:
    """The Python value of one SOQL literal token (datetimes as aware datetimes)."""
    if token.startswith("'"):
        return re.sub(r"\\(.)", r"\1", token[1:-1])
    lowered = token.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    if DATETIME_LITERAL.match(token):
        return datetime.fromisoformat(token.replace("Z", "+00:00"))
    if DATE_LITERAL.match(token):
        return datetime.fromisoformat(token).date()
    try:
        return float(token) if "." in token else int(token)
    except ValueError as exc:
        raise SoqlError(f"unexpected token {token!r}") from exc


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.pos = 0

    def peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else ""

    def take(self) -> str:
        token = self.peek()
        if not token:
            raise SoqlError("unexpected end of query")
        self.pos += 1
        return token

    def expect(self, word: str) -> None:
        token = self.take()
        if token.upper() != word:
            raise SoqlError(f"expected {word}, found {token!r}")

    def keyword(self, *words: str) -> bool:
        if all(self.peek(i).upper() == w for i, w in enumerate(words)):
            self.pos += len(words)
            return True
        return False

    def parse(self) -> Query:
        self.expect("SELECT")
        fields = [self.take()]
        while self.peek() == ",":
            self.take()
            fields.append(self.take())
        self.expect("FROM")
        query = Query(fields=fields, sobject=self.take())
        if self.keyword("WHERE"):
            query.where.append(self.condition())
            while self.keyword("AND"):
                query.where.append(self.condition())
        if self.keyword("ORDER", "BY"):
            query.order.append(self.order_item())
            while self.peek() == ",":
                self.take()
                query.order.append(self.order_item())
        if self.keyword("LIMIT"):
            query.limit = int(self.take())
        if self.peek():
            raise SoqlError(f"unexpected token {self.peek()!r}")
        return query

    def condition(self) -> Condition:
        name = self.take()
        if self.keyword("NOT", "IN"):
            return Condition(name, "NOT IN", self.values())
        if self.keyword("IN"):
            return Condition(name, "IN", self.values())
        if self.keyword("LIKE"):
            return Condition(name, "LIKE", literal(self.take()))
        op = self.take()
        if op not in ("=", "!=", "<", "<=", ">", ">="):
            raise SoqlError(f"unknown operator {op!r}")
        return Condition(name, op, literal(self.take()))

    def values(self) -> list[Any]:
        if self.take() != "(":
            raise SoqlError("expected (")
        found = [literal(self.take())]
        while self.peek() == ",":
            self.take()
            found.append(literal(self.take()))
        if self.take() != ")":
            raise SoqlError("expected )")
        return found

    def order_item(self) -> tuple[str, bool]:
        name = self.take()
        descending = False
        if self.peek().upper() in ("ASC", "DESC"):
            descending = self.take().upper() == "DESC"
        return name, descending


def parse(text: str) -> Query:
    """Parse one SOQL query of the supported subset; SoqlError when it is not."""
    return _Parser(text).parse()
