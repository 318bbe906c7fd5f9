"""Parsing of SensorThings query options into `query_ast` objects, with errors that point at the problem.

One LALR grammar (`query_grammar.lark`) with a start symbol per option; the tree is built by a
transformer run during the parse, so no intermediate parse tree is kept. The parser is built once per
process (it is immutable) and shared.

Every parse is bounded by `QueryLimits`: the length of the value is checked first, then, while the tree is
built, its terms, the nesting of expressions and the depth of `$expand` paths, so that a hostile value is
refused before anything deep (a recursive compile, an expand merge) walks it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Final

import shapely
import shapely.wkt
from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedInput, UnexpectedToken

from citoyen.sensing.query_ast import (
    Arithmetic,
    BooleanLiteral,
    Comparison,
    DateLiteral,
    DateTimeLiteral,
    DurationLiteral,
    ExpandItem,
    Expression,
    FunctionCall,
    GeometryLiteral,
    IntervalLiteral,
    Logical,
    Not,
    NullLiteral,
    NumberLiteral,
    OrderBy,
    PropertyPath,
    QueryError,
    QueryLimits,
    QueryOptions,
    StringLiteral,
    TimeLiteral,
)

GRAMMAR_PATH: Final = Path(__file__).with_name("query_grammar.lark")

# Built-in functions of 18-088 Table 23 (and OData's `contains`), with their (min, max) arity.
FUNCTION_ARITY: Final[Mapping[str, tuple[int, int]]] = {
    "substringof": (2, 2),
    "contains": (2, 2),
    "startswith": (2, 2),
    "endswith": (2, 2),
    "length": (1, 1),
    "indexof": (2, 2),
    "substring": (2, 3),
    "tolower": (1, 1),
    "toupper": (1, 1),
    "trim": (1, 1),
    "concat": (2, 2),
    "year": (1, 1),
    "month": (1, 1),
    "day": (1, 1),
    "hour": (1, 1),
    "minute": (1, 1),
    "second": (1, 1),
    "fractionalseconds": (1, 1),
    "date": (1, 1),
    "time": (1, 1),
    "totaloffsetminutes": (1, 1),
    "now": (0, 0),
    "mindatetime": (0, 0),
    "maxdatetime": (0, 0),
    "before": (2, 2),
    "after": (2, 2),
    "meets": (2, 2),
    "during": (2, 2),
    "overlaps": (2, 2),
    "starts": (2, 2),
    "finishes": (2, 2),
    "round": (1, 1),
    "floor": (1, 1),
    "ceiling": (1, 1),
    "geo.distance": (2, 2),
    "geo.length": (1, 1),
    "geo.intersects": (2, 2),
    "st_equals": (2, 2),
    "st_disjoint": (2, 2),
    "st_touches": (2, 2),
    "st_within": (2, 2),
    "st_overlaps": (2, 2),
    "st_crosses": (2, 2),
    "st_intersects": (2, 2),
    "st_contains": (2, 2),
    "st_relate": (3, 3),
}

RESULT_FORMATS: Final = {"dataarray": "dataArray"}
_MAX_COUNT_DIGITS: Final = 15  # $top/$skip beyond 10**15 are nonsense and would overflow a BIGINT OFFSET

_DURATION = re.compile(
    r"(?P<sign>[+-])?P(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?"
)
_SRID_PREFIX = re.compile(r"^\s*SRID=(\d+);", re.IGNORECASE)


# --- Literal conversion ----------------------------------------------------------------------------------


def _parse_datetime(text: str, position: int) -> datetime:
    if not re.search(r"(Z|[+-]\d{2}:\d{2})$", text):
        raise QueryError(f"datetime {text} needs a timezone, such as {text}Z or {text}+01:00", position)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise QueryError(f"invalid datetime {text}", position) from None


def _parse_duration(text: str, position: int) -> timedelta:
    match = _DURATION.fullmatch(text)
    if not match or text.rstrip("T").endswith("P") or text.endswith("T"):
        raise QueryError(f"invalid ISO 8601 duration {text!r}, expected e.g. P1DT2H30M", position)
    if match["years"] or match["months"]:
        raise QueryError(f"duration {text} has years or months, which have no fixed length; use days", position)
    value = timedelta(
        weeks=int(match["weeks"] or 0),
        days=int(match["days"] or 0),
        hours=int(match["hours"] or 0),
        minutes=int(match["minutes"] or 0),
        seconds=float(match["seconds"] or 0),
    )
    return -value if match["sign"] == "-" else value


def _parse_interval(text: str, position: int) -> IntervalLiteral:
    start_text, end_text = text.split("/")
    start_is_duration = start_text.lstrip("+-").startswith("P")
    end_is_duration = end_text.lstrip("+-").startswith("P")
    if start_is_duration and end_is_duration:
        raise QueryError(f"interval {text} needs at least one datetime", position)
    if start_is_duration:
        end = _parse_datetime(end_text, position + len(start_text) + 1)
        start = end - _parse_duration(start_text, position)
    elif end_is_duration:
        start = _parse_datetime(start_text, position)
        end = start + _parse_duration(end_text, position + len(start_text) + 1)
    else:
        start = _parse_datetime(start_text, position)
        end = _parse_datetime(end_text, position + len(start_text) + 1)
    if end < start:
        raise QueryError(f"interval {text} ends before it starts", position)
    return IntervalLiteral(start, end, position)


def _parse_geometry(text: str, position: int) -> GeometryLiteral:
    wkt = text[text.index("'") + 1 : -1]
    srid = _SRID_PREFIX.match(wkt)
    if srid:
        if srid.group(1) != "4326":
            raise QueryError(f"only WGS84 (SRID=4326) geometries are supported, not SRID={srid.group(1)}", position)
        wkt = wkt[srid.end() :]
    try:
        geometry = shapely.wkt.loads(wkt)
    except shapely.errors.ShapelyError:
        raise QueryError(f"invalid WKT geometry {wkt.strip()!r}", position) from None
    if geometry.is_empty:
        raise QueryError("empty geometry", position)
    return GeometryLiteral(geometry.wkt, position)


def _position(token: Token) -> int:
    return (token.start_pos or 0) + 1


# --- Limits ----------------------------------------------------------------------------------------------------

DEFAULT_LIMITS: Final = QueryLimits()


@dataclass
class _Budget:
    """What the value being parsed has used of its limits; depths are kept by node identity while parsing."""

    limits: QueryLimits
    terms: int = 0
    depths: dict[int, int] = field(default_factory=dict)


# The budget of the parse running in this context (the shared parser's transformer has no other way to know it).
_BUDGET: ContextVar[_Budget | None] = ContextVar("citoyen_query_budget", default=None)


def _counted(node: Expression, *children: Any, chained: Any = None) -> Expression:
    """Count one expression node against the terms and nesting limits. A `chained` child (the left side of
    `a or b or c`, compiled as one flat list) is at the same level as the node."""
    budget = _BUDGET.get()
    if budget is None:
        return node
    limits = budget.limits
    budget.terms += 1
    if budget.terms > limits.expression_terms:
        raise QueryError(
            f"more than {limits.expression_terms} terms (operands, operators and functions), the most this server"
            " accepts in one option",
            node.position,
        )
    depth = 1 + max((budget.depths.get(id(child), 0) for child in children), default=0)
    if chained is not None:
        depth = max(depth, budget.depths.get(id(chained), 0))
    if depth > limits.expression_depth:
        raise QueryError(
            f"the expression nests more than {limits.expression_depth} levels deep, the most this server accepts",
            node.position,
        )
    budget.depths[id(node)] = depth
    return node


def _expand_depth(item: ExpandItem) -> int:
    budget = _BUDGET.get()
    return 1 if budget is None else budget.depths.get(id(item), 1)


def _check_expand_depth(item: ExpandItem, depth: int, position: int) -> None:
    budget = _BUDGET.get()
    if budget is None:
        return
    if depth > budget.limits.expand_depth:
        raise QueryError(
            f"more than {budget.limits.expand_depth} navigation properties in one path, the most this server expands",
            position,
        )
    budget.depths[id(item)] = depth


def _count_expand_items(items: tuple[ExpandItem, ...], limits: QueryLimits) -> None:
    count, pending = 0, list(items)
    while pending:  # not recursive: the count is checked before anything else walks the tree
        item = pending.pop()
        count += 1
        pending.extend(item.options.expand)
    if count > limits.expand_items:
        raise QueryError(
            f"{count} navigation properties expanded, more than the {limits.expand_items} this server accepts"
        )


# --- Tree building -----------------------------------------------------------------------------------------


def _number(text: str, position: int) -> NumberLiteral:
    # SQL integers are 64-bit, and a float beyond double range is infinite: refused here, not by the database.
    if not any(c in text for c in ".eE"):
        if len(text.lstrip("-")) > 19 or not -(2**63) <= int(text) < 2**63:
            raise QueryError(f"the number {text[:30]} is outside the 64-bit integer range", position)
        return NumberLiteral(int(text), position)
    value = float(text)
    if not math.isfinite(value):
        raise QueryError(f"the number {text[:30]} is too large", position)
    return NumberLiteral(value, position)


def _literal(token: Token) -> Expression:
    """The literal a token spells (numbers, strings, times, geometries, ...)."""
    position = _position(token)
    text = str(token)
    match token.type:
        case "NUMBER":
            return _number(text, position)
        case "STRING":
            return StringLiteral(text[1:-1].replace("''", "'"), position)
        case "TRUE" | "FALSE":
            return BooleanLiteral(token.type == "TRUE", position)
        case "NULL":
            return NullLiteral(position)
        case "DATETIME":
            return DateTimeLiteral(_parse_datetime(text, position), position)
        case "DATE":
            try:
                return DateLiteral(date.fromisoformat(text), position)
            except ValueError:
                raise QueryError(f"invalid date {text}", position) from None
        case "TIME":
            try:
                return TimeLiteral(time.fromisoformat(text), position)
            except ValueError:
                raise QueryError(f"invalid time {text}", position) from None
        case "DURATION":
            return DurationLiteral(_parse_duration(text[text.index("'") + 1 : -1], position), position)
        case "INTERVAL":
            return _parse_interval(text, position)
        case "GEOMETRY":
            return _parse_geometry(text, position)
    raise AssertionError(f"literal token {token.type} not handled")


class _Build(Transformer[Token, Any]):
    """Builds AST and option records while the LALR parser reduces (Lark calls these per rule)."""

    def literal(self, children: list[Token]) -> Expression:
        (token,) = children
        return _counted(_literal(token))

    def index(self, children: list[Token]) -> int:
        if len(children[0]) > 9:  # no JSON array is that long; the database would overflow on it
            raise QueryError(f"array index {children[0][:30]} is too large", _position(children[0]))
        return int(children[0])

    def property_path(self, children: list[Token | int]) -> PropertyPath:
        first = children[0]
        assert isinstance(first, Token)
        segments = tuple(child if isinstance(child, int) else str(child) for child in children)
        return _counted(PropertyPath(segments, _position(first)))  # type: ignore[return-value]

    def function_call(self, children: list[Any]) -> FunctionCall:
        name_token: Token = children[0]
        arguments = tuple(child for child in children[1:] if child is not None)
        name = str(name_token).lower()
        position = _position(name_token)
        arity = FUNCTION_ARITY.get(name)
        if arity is None:
            raise QueryError(f"unknown function '{name_token}'", position)
        low, high = arity
        if not low <= len(arguments) <= high:
            expected = str(low) if low == high else f"{low} or {high}"
            plural = "" if expected == "1" else "s"
            raise QueryError(f"{name}() takes {expected} argument{plural}, got {len(arguments)}", position)
        return _counted(FunctionCall(name, arguments, position), *arguments)  # type: ignore[return-value]

    def compare(self, children: list[Any]) -> Comparison:
        left, operator, right = children
        node = Comparison(str(operator).lower(), left, right, _position(operator))  # type: ignore[arg-type]
        return _counted(node, left, right)  # type: ignore[return-value]

    def arithmetic(self, children: list[Any]) -> Arithmetic:
        left, operator, right = children
        node = Arithmetic(str(operator).lower(), left, right, _position(operator))  # type: ignore[arg-type]
        return _counted(node, left, right)  # type: ignore[return-value]

    def logical(self, children: list[Any]) -> Logical:
        left, operator, right = children
        node = Logical(str(operator).lower(), left, right, _position(operator))  # type: ignore[arg-type]
        if isinstance(left, Logical) and left.operator == node.operator:
            return _counted(node, right, chained=left)  # type: ignore[return-value]
        return _counted(node, left, right)  # type: ignore[return-value]

    def negation(self, children: list[Any]) -> Not:
        operator, operand = children
        return _counted(Not(operand, _position(operator)), operand)  # type: ignore[return-value]

    def filter(self, children: list[Expression]) -> Expression:
        return children[0]

    def order_item(self, children: list[Any]) -> OrderBy:
        direction = children[1] if len(children) > 1 else None
        return OrderBy(children[0], descending=direction is not None and direction.type == "DESC")

    def orderby(self, children: list[OrderBy]) -> tuple[OrderBy, ...]:
        return tuple(children)

    def select_path(self, children: list[Token]) -> tuple[str, ...]:
        return tuple(str(child) for child in children)

    def select(self, children: list[tuple[str, ...]]) -> tuple[tuple[str, ...], ...]:
        return tuple(dict.fromkeys(children))

    # Inner options of $expand become (name, value, position) triples, gathered by expand_item.
    def inner_filter(self, children: list[Any]) -> tuple[str, Any, int]:
        return ("filter", children[1], _position(children[0]))

    def inner_orderby(self, children: list[Any]) -> tuple[str, Any, int]:
        return ("orderby", children[1], _position(children[0]))

    def inner_select(self, children: list[Any]) -> tuple[str, Any, int]:
        return ("select", children[1], _position(children[0]))

    def inner_expand(self, children: list[Any]) -> tuple[str, Any, int]:
        return ("expand", children[1], _position(children[0]))

    def inner_top(self, children: list[Any]) -> tuple[str, Any, int]:
        return ("top", _count_value(children[1], "$top"), _position(children[0]))

    def inner_skip(self, children: list[Any]) -> tuple[str, Any, int]:
        return ("skip", _count_value(children[1], "$skip"), _position(children[0]))

    def inner_count(self, children: list[Any]) -> tuple[str, Any, int]:
        return ("count", children[1].type == "TRUE", _position(children[0]))

    def expand_item(self, children: list[Any]) -> ExpandItem:
        tokens = [child for child in children if isinstance(child, Token)]
        names = [str(token) for token in tokens]
        given: dict[str, Any] = {}
        for option in children:
            if isinstance(option, tuple):
                name, value, position = option
                if name in given:
                    raise QueryError(f"${name} given twice for {names[-1]}", position)
                given[name] = value
        inner = max((_expand_depth(child) for child in given.get("expand", ())), default=0)
        item = ExpandItem(names[-1], QueryOptions(**given))
        for name in reversed(names[:-1]):
            item = ExpandItem(name, QueryOptions(expand=(item,)))
        _check_expand_depth(item, len(names) + inner, _position(tokens[0]))
        return item

    def expand(self, children: list[ExpandItem]) -> tuple[ExpandItem, ...]:
        depths: dict[str, int] = {}
        for child in children:
            depths[child.navigation] = max(depths.get(child.navigation, 0), _expand_depth(child))
        merged = merge_expands(children)
        budget = _BUDGET.get()
        if budget is not None:
            for item in merged:
                budget.depths[id(item)] = depths[item.navigation]
        return merged


def _count_value(token: Token, option: str) -> int:
    if len(token) > _MAX_COUNT_DIGITS:
        raise QueryError(f"{option} is too large", _position(token))
    return int(token)


def merge_expands(items: Iterable[ExpandItem]) -> tuple[ExpandItem, ...]:
    """One item per navigation property: `A/B,A/C,A($top=1)` → `A($top=1;$expand=B,C)`."""
    merged: dict[str, ExpandItem] = {}
    for item in items:
        previous = merged.get(item.navigation)
        merged[item.navigation] = item if previous is None else _merge_two(previous, item)
    return tuple(merged.values())


def _merge_two(first: ExpandItem, second: ExpandItem) -> ExpandItem:
    a, b = first.options, second.options
    values: dict[str, Any] = {}
    for name in ("top", "skip", "count", "filter", "result_format"):
        x, y = getattr(a, name), getattr(b, name)
        if x is not None and y is not None and x != y:
            raise QueryError(f"{first.navigation} is expanded twice with different ${name}")
        values[name] = x if x is not None else y
    for name in ("select", "orderby"):
        x, y = getattr(a, name), getattr(b, name)
        if x and y and x != y:
            raise QueryError(f"{first.navigation} is expanded twice with different ${name}")
        values[name] = x or y
    values["expand"] = merge_expands((*a.expand, *b.expand))
    return ExpandItem(first.navigation, QueryOptions(**values))


@cache
def _parser() -> Lark:
    return Lark(
        GRAMMAR_PATH.read_text(encoding="utf-8"),
        parser="lalr",
        lexer="contextual",
        start=["filter", "orderby", "select", "expand"],
        transformer=_Build(),
        maybe_placeholders=True,
    )


# --- Error messages -----------------------------------------------------------------------------------------

_OPERAND_TERMINALS: Final = frozenset(
    {"IDENT", "NUMBER", "STRING", "TRUE", "FALSE", "NULL", "DATETIME", "DATE", "TIME", "INTERVAL"}
    | {"DURATION", "GEOMETRY", "LPAR", "NOT"}
)
_COMPARISON_TERMINALS: Final = frozenset({"EQ", "NE", "GT", "GE", "LT", "LE"})
_OPERATOR_TERMINALS: Final = _COMPARISON_TERMINALS | {"AND", "OR", "ADD", "SUB", "MUL", "DIV", "MOD"}
_PUNCTUATION: Final = {
    "RPAR": "')'",
    "LPAR": "'('",
    "COMMA": "','",
    "SEMICOLON": "';'",
    "SLASH": "'/'",
    "EQUAL": "'='",
    "RSQB": "']'",
    "INT": "a non-negative integer",
    "ASC": "asc",
    "DESC": "desc",
    "$END": "end of input",
}
_INNER_OPTIONS: Final = ("$filter", "$orderby", "$select", "$expand", "$top", "$skip", "$count")


def _describe_expected(expected: set[str], previous: Token | None) -> str:
    if expected == {"IDENT"}:
        return "expected a property name"
    if expected == {"TRUE", "FALSE"}:
        return "expected true or false"
    if expected & _OPERAND_TERMINALS and not expected & _OPERATOR_TERMINALS:
        if previous is not None and previous.type in _OPERATOR_TERMINALS | {"NOT", "EQUAL", "COMMA", "LPAR"}:
            return f"expected an operand after '{previous}'"
        return "expected an operand"
    if expected & {"FILTER_OPTION", "TOP_OPTION"}:
        return "expected a query option (" + ", ".join(_INNER_OPTIONS) + ")"
    words = sorted({_PUNCTUATION[name] for name in expected if name in _PUNCTUATION})
    if expected & _OPERATOR_TERMINALS:
        words.insert(0, "an operator")
    if not words:
        return "unexpected input"
    return "expected " + (", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1 else words[0])


def _describe_found(token: Token) -> str:
    return "end of input" if token.type == "$END" else f"'{token}'"


def _previous_token(text: str, position: int) -> Token | None:
    previous = None
    try:
        for token in _parser().lex(text[:position]):
            previous = token
    except UnexpectedInput:
        pass
    return previous


def _acceptable(error: UnexpectedToken) -> set[str]:
    """The terminals the parser would really accept here (LALR lookahead sets are merged across contexts)."""
    expected = set(error.expected)
    if error.interactive_parser is None:
        return expected
    try:
        accepted = set(error.interactive_parser.accepts())  # type: ignore[no-untyped-call]
    except (UnexpectedInput, QueryError):
        return expected
    return accepted or expected


def _translate(error: UnexpectedInput, text: str) -> QueryError:
    if isinstance(error, UnexpectedCharacters):
        position = error.pos_in_stream or 0
        option = re.match(r"\$[A-Za-z]\w*", text[position:])
        if option and option.group(0).lower() not in _INNER_OPTIONS:
            allowed = ", ".join(_INNER_OPTIONS)
            return QueryError(
                f"unknown query option '{option.group(0)}' (allowed inside $expand: {allowed})", position + 1
            )
        if text[position] == "'":
            return QueryError("unterminated string (a quote inside a string is written '')", position + 1)
        return QueryError(f"unexpected character {text[position]!r}", position + 1)
    if isinstance(error, UnexpectedToken):
        token = error.token
        at_end = token.type == "$END"
        offset = len(text) if at_end else (token.start_pos or 0)
        previous = _previous_token(text, offset)
        if token.type in _COMPARISON_TERMINALS and previous is not None and previous.type not in _OPERATOR_TERMINALS:
            return QueryError("comparisons cannot be chained: join them with 'and' or 'or'", offset + 1)
        message = _describe_expected(_acceptable(error), previous)
        return QueryError(f"{message}, found {_describe_found(token)}", offset + 1)
    return QueryError("invalid syntax", (error.pos_in_stream or 0) + 1)


def _check_length(text: str, limits: QueryLimits) -> None:
    if len(text) > limits.option_length:
        raise QueryError(f"the value is {len(text)} characters long, more than the {limits.option_length} accepted")


def _parse(text: str, start: str, limits: QueryLimits) -> Any:
    if not text.strip():
        raise QueryError("empty value", 1)
    _check_length(text, limits)
    token = _BUDGET.set(_Budget(limits))
    try:
        return _parser().parse(text, start=start)
    except UnexpectedInput as error:
        raise _translate(error, text) from None
    except RecursionError:  # a safety net: the limits above stop what we know to nest deeply
        raise QueryError("the value nests too deeply") from None
    finally:
        _BUDGET.reset(token)


# --- Public parsing functions ----------------------------------------------------------------------------------


def parse_filter(text: str, limits: QueryLimits = DEFAULT_LIMITS) -> Expression:
    """The AST of a `$filter` value; raises `QueryError` naming `$filter`."""
    try:
        result: Expression = _parse(text, "filter", limits)
    except QueryError as error:
        raise error.in_option("$filter") from None
    return result


def parse_orderby(text: str, limits: QueryLimits = DEFAULT_LIMITS) -> tuple[OrderBy, ...]:
    try:
        result: tuple[OrderBy, ...] = _parse(text, "orderby", limits)
    except QueryError as error:
        raise error.in_option("$orderby") from None
    return result


def parse_select(text: str, limits: QueryLimits = DEFAULT_LIMITS) -> tuple[tuple[str, ...], ...]:
    try:
        result: tuple[tuple[str, ...], ...] = _parse(text, "select", limits)
    except QueryError as error:
        raise error.in_option("$select") from None
    return result


def parse_expand(text: str, limits: QueryLimits = DEFAULT_LIMITS) -> tuple[ExpandItem, ...]:
    try:
        result: tuple[ExpandItem, ...] = _parse(text, "expand", limits)
        _count_expand_items(result, limits)
    except QueryError as error:
        raise error.in_option("$expand") from None
    return result


def _parse_count_option(text: str, option: str) -> int:
    stripped = text.strip()
    if not stripped.isdigit() or not stripped.isascii():
        raise QueryError(f"expected a non-negative integer, got {text!r}", 1, option)
    if len(stripped) > _MAX_COUNT_DIGITS:
        raise QueryError("value is too large", 1, option)
    return int(stripped)


def _parse_bool_option(text: str, option: str) -> bool:
    value = text.strip().lower()
    if value not in ("true", "false"):
        raise QueryError(f"expected true or false, got {text!r}", 1, option)
    return value == "true"


def _parse_result_format(text: str) -> str:
    value = RESULT_FORMATS.get(text.strip().lower())
    if value is None:
        supported = ", ".join(RESULT_FORMATS.values())
        raise QueryError(f"unsupported result format {text!r} (supported: {supported})", 1, "$resultFormat")
    return value


def parse_query_options(params: Mapping[str, str], limits: QueryLimits = DEFAULT_LIMITS) -> QueryOptions:
    """Parse the system query options of a request (`$top`, `$filter`, ...; other parameters are ignored).

    Option names are matched case-insensitively (as FROST-Server and OData 4.01 do). Unknown `$options`,
    malformed values and values beyond `limits` raise `QueryError` with the option's name and the position
    in its value.
    """
    values: dict[str, Any] = {}
    for key, text in params.items():
        if not key.startswith("$"):
            continue
        try:
            _check_length(text, limits)
        except QueryError as error:
            raise error.in_option(key) from None
        match key.lower():
            case "$top":
                values["top"] = _parse_count_option(text, key)
            case "$skip":
                values["skip"] = _parse_count_option(text, key)
            case "$count":
                values["count"] = _parse_bool_option(text, key)
            case "$select":
                values["select"] = parse_select(text, limits)
            case "$orderby":
                values["orderby"] = parse_orderby(text, limits)
            case "$expand":
                values["expand"] = parse_expand(text, limits)
            case "$filter":
                values["filter"] = parse_filter(text, limits)
            case "$resultformat":
                values["result_format"] = _parse_result_format(text)
            case _:
                known = "$top, $skip, $count, $select, $orderby, $expand, $filter, $resultFormat"
                raise QueryError(f"unknown query option {key!r} (supported: {known})")
    return QueryOptions(**values)
