"""The functions of `$filter` (18-088 Table 23: string, date, math, temporal, geo. and st_ ones, plus OData's
`contains`), compiled for `query_sql`'s compiler on SQLite and PostgreSQL: what each takes and gives, and the
SQL it becomes on each backend."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final, Protocol

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from citoyen.sensing.query_ast import Expression, FunctionCall, QueryError
from citoyen.sensing.query_operands import KIND_WORDS, MAX_DATETIME, MIN_DATETIME, Operand, describe


class Compiler(Protocol):
    """What a function's compilation asks of `query_sql.Compiler` (which calls these functions): described here so
    that this module does not import the compiler back."""

    postgres: bool
    now: datetime

    def number(self, value: int | float) -> ColumnElement[Any]: ...

    def datetime_operand(self, value: datetime, label: str) -> Operand: ...

    def operand(self, expression: Expression) -> Operand: ...

    def temporal_function(self, name: str, x: Operand, y: Operand) -> ColumnElement[Any]: ...

    def utc_timestamp(self, expression: ColumnElement[Any], kind: str) -> ColumnElement[Any]: ...

    def argument(self, operand: Operand, kind: str, where: str, position: int) -> ColumnElement[Any]: ...


def compile_function(compiler: Compiler, call: FunctionCall) -> Operand:
    """A function call as an operand; a wrong kind of argument is a `QueryError` (unknown functions and wrong
    arities were refused by the parser)."""
    name, position = call.name, call.position
    if name == "now":
        return compiler.datetime_operand(compiler.now, "now()")
    if name == "mindatetime":
        return compiler.datetime_operand(MIN_DATETIME, "mindatetime()")
    if name == "maxdatetime":
        return compiler.datetime_operand(MAX_DATETIME, "maxdatetime()")
    arguments = [compiler.operand(argument) for argument in call.arguments]
    where = f"{name}()"

    def arg(index: int, kind: str) -> ColumnElement[Any]:
        return compiler.argument(arguments[index], kind, f"{where} argument {index + 1}", position)

    handler = STRING_FUNCTIONS.get(name)
    if handler is not None:
        kinds, result_kind, build = handler
        values = [arg(index, kind) for index, kind in enumerate(kinds[: len(arguments)])]
        return Operand({result_kind: build(compiler, *values)}, f"{where} ({KIND_WORDS[result_kind]})")
    if name in DATE_PARTS:
        return date_part(compiler, name, arguments[0], where, position)
    if name in ("date", "time"):
        value = arg(0, "datetime")
        moment = compiler.utc_timestamp(value, "datetime")
        result: ColumnElement[Any]
        if name == "date":
            result = sa.cast(moment, sa.Date()) if compiler.postgres else sa.func.date(value)
        else:
            result = sa.cast(moment, sa.Time()) if compiler.postgres else sa.func.strftime("%H:%M:%f", value)
        return Operand({name: result}, f"{where} (a {name})")
    if name == "totaloffsetminutes":
        # Stored datetimes are UTC; a literal keeps the offset the client wrote.
        value = arguments[0].value
        if isinstance(value, datetime):
            minutes = int(value.utcoffset().total_seconds() // 60)  # type: ignore[union-attr]
            return Operand({"number": compiler.number(minutes)}, f"{where} (a number)", value=minutes)
        stored = arg(0, "datetime")
        return Operand({"number": sa.case((stored.is_not(None), compiler.number(0)))}, f"{where} (a number)")
    if name in ("round", "floor", "ceiling"):
        return Operand({"number": rounding(compiler, name, arg(0, "number"))}, f"{where} (a number)")
    if name in TEMPORAL_FUNCTIONS:
        x, y = arguments
        for index, operand in enumerate(arguments):
            if "datetime" not in operand.forms:
                raise QueryError(
                    f"{where} argument {index + 1} expects a datetime or interval, but got {describe(operand)}",
                    position,
                )
        return Operand({"boolean": compiler.temporal_function(name, x, y)}, f"{where} (a boolean)")
    return spatial(compiler, name, arguments, arg)


def date_part(compiler: Compiler, name: str, operand: Operand, where: str, position: int) -> Operand:
    accepted = ("datetime", "date") if name in ("year", "month", "day") else ("datetime", "time")
    kind = next((kind for kind in accepted if kind in operand.forms), None)
    if kind is None:
        expected = " or ".join(KIND_WORDS[kind] for kind in accepted)
        raise QueryError(f"{where} expects {expected}, but got {describe(operand)}", position)
    value = operand.forms[kind]
    if compiler.postgres:
        moment = compiler.utc_timestamp(value, kind)
        seconds = sa.extract("second", moment)
        if name == "fractionalseconds":
            result: ColumnElement[Any] = sa.cast(seconds - sa.func.floor(seconds), sa.Float())
        elif name == "second":
            result = sa.cast(sa.func.floor(seconds), sa.Integer())
        else:
            result = sa.cast(sa.extract(name, moment), sa.Integer())
    elif name == "fractionalseconds":
        fraction = sa.cast(sa.func.strftime("%f", value), sa.Float()) - sa.cast(
            sa.func.strftime("%S", value), sa.Integer()
        )
        result = sa.func.round(fraction, 3)
    else:
        result = sa.cast(sa.func.strftime(DATE_PARTS[name], value), sa.Integer())
    return Operand({"number": result}, f"{where} (a number)")


def rounding(compiler: Compiler, name: str, value: ColumnElement[Any]) -> ColumnElement[Any]:
    if compiler.postgres:
        if name == "round":
            # round(double precision) rounds halves to even; numeric rounds them away from zero, like SQLite.
            return sa.cast(sa.func.round(sa.cast(value, sa.Numeric())), sa.Float())
        return sa.func.floor(value) if name == "floor" else sa.func.ceiling(value)
    if name == "round":
        return sa.func.round(value)
    truncated = sa.cast(value, sa.BigInteger())
    if name == "floor":
        return sa.case((value < truncated, truncated - 1), else_=truncated)
    return sa.case((value > truncated, truncated + 1), else_=truncated)


def spatial(
    compiler: Compiler, name: str, arguments: list[Operand], arg: Callable[[int, str], ColumnElement[Any]]
) -> Operand:
    where = f"{name}()"
    if name == "geo.length":
        (geometry,) = (arg(0, "geometry"),)
        result = sa.func.ST_Length(geometry) if compiler.postgres else sa.func.citoyen_geo_length(geometry)
        return Operand({"number": sa.type_coerce(result, sa.Float())}, f"{where} (a number)")
    a, b = arg(0, "geometry"), arg(1, "geometry")
    if name == "geo.distance":
        result = sa.func.ST_Distance(a, b) if compiler.postgres else sa.func.citoyen_geo_distance(a, b)
        return Operand({"number": sa.type_coerce(result, sa.Float())}, f"{where} (a number)")
    predicate = "st_intersects" if name == "geo.intersects" else name
    if predicate == "st_relate":
        pattern = arg(2, "string")
        test = sa.func.ST_Relate(a, b, pattern) if compiler.postgres else sa.func.citoyen_st_relate(a, b, pattern)
    elif compiler.postgres:
        test = getattr(sa.func, POSTGIS_NAMES[predicate])(a, b)
    else:
        test = getattr(sa.func, f"citoyen_{predicate}")(a, b)
    return Operand({"boolean": sa.type_coerce(test, sa.Boolean())}, f"{where} (a boolean)")


def _instr(compiler: Compiler, haystack: ColumnElement[Any], needle: ColumnElement[Any]) -> ColumnElement[Any]:
    return sa.func.strpos(haystack, needle) if compiler.postgres else sa.func.instr(haystack, needle)


def _startswith(_: Compiler, text: ColumnElement[Any], prefix: ColumnElement[Any]) -> ColumnElement[Any]:
    return sa.func.substr(text, 1, sa.func.length(prefix)) == prefix


def _endswith(_: Compiler, text: ColumnElement[Any], suffix: ColumnElement[Any]) -> ColumnElement[Any]:
    # substr from length(text) - length(suffix) + 1: an empty suffix gives '' (true), a longer one never matches.
    return sa.func.substr(text, sa.func.length(text) - sa.func.length(suffix) + 1) == suffix


def _substring(
    _: Compiler, text: ColumnElement[Any], start: ColumnElement[Any], length: ColumnElement[Any] | None = None
) -> ColumnElement[Any]:
    first = sa.cast(start, sa.Integer()) + 1  # OData counts from 0, SQL from 1
    if length is None:
        return sa.func.substr(text, first)
    return sa.func.substr(text, first, sa.cast(length, sa.Integer()))


def _concat(_: Compiler, first: ColumnElement[Any], second: ColumnElement[Any]) -> ColumnElement[Any]:
    return sa.type_coerce(first, sa.Text()).concat(second)


_StringBuilder = Callable[..., ColumnElement[Any]]
STRING_FUNCTIONS: Final[Mapping[str, tuple[tuple[str, ...], str, _StringBuilder]]] = {
    "substringof": (("string", "string"), "boolean", lambda c, needle, text: _instr(c, text, needle) > 0),
    "contains": (("string", "string"), "boolean", lambda c, text, needle: _instr(c, text, needle) > 0),
    "startswith": (("string", "string"), "boolean", _startswith),
    "endswith": (("string", "string"), "boolean", _endswith),
    "length": (("string",), "number", lambda _, text: sa.func.length(text)),
    "indexof": (("string", "string"), "number", lambda c, text, needle: _instr(c, text, needle) - 1),
    "substring": (("string", "number", "number"), "string", _substring),
    "tolower": (("string",), "string", lambda _, text: sa.func.lower(text)),
    "toupper": (("string",), "string", lambda _, text: sa.func.upper(text)),
    "trim": (("string",), "string", lambda _, text: sa.func.trim(text)),
    "concat": (("string", "string"), "string", _concat),
}
DATE_PARTS: Final[Mapping[str, str]] = {
    "year": "%Y",
    "month": "%m",
    "day": "%d",
    "hour": "%H",
    "minute": "%M",
    "second": "%S",
    "fractionalseconds": "%f",
}
TEMPORAL_FUNCTIONS: Final = frozenset({"before", "after", "meets", "during", "overlaps", "starts", "finishes"})
POSTGIS_NAMES: Final[Mapping[str, str]] = {
    "st_equals": "ST_Equals",
    "st_disjoint": "ST_Disjoint",
    "st_touches": "ST_Touches",
    "st_within": "ST_Within",
    "st_overlaps": "ST_Overlaps",
    "st_crosses": "ST_Crosses",
    "st_intersects": "ST_Intersects",
    "st_contains": "ST_Contains",
}
