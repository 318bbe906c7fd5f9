"""Compilation of `$filter` and `$orderby` expressions to SQLAlchemy, on SQLite and PostgreSQL. The compiler is
here; what it compiles to (operands and their kinds) is in `query_operands`, the functions in `query_functions`,
the rewriting of a condition on a related entity into a semi-join in `query_navigation`.

Every sub-expression compiles to an operand with one or more *forms*: SQL expressions of a kind
(number, string, boolean, datetime, date, time, duration, geometry, json). Literals and most functions
have one form; a property whose type varies per row (an Observation's `result`) or a value inside JSON
(`properties/owner`) has several, and each operator picks the form that fits its other operand, so
`result gt 3` reads the numeric column and `result eq 'on'` the string one. Operands with no kind in
common are a `QueryError` (`name gt 3`), as are functions given the wrong kind of argument.

Backend differences handled here:
- datetimes: values are UTC; date parts use `strftime` on SQLite and `EXTRACT(... FROM t AT TIME ZONE
  'UTC')` on PostgreSQL; `now()` is the server's clock when the query is compiled;
- numbers: `div` and `mod` by zero give NULL (PostgreSQL would raise); `mod` of decimals follows the
  dividend's sign on both; `round` halves away from zero on both; `floor`/`ceiling` are CASE/CAST
  expressions on SQLite, whose math functions are a compile-time option many builds lack;
- strings: `instr` vs `strpos`; `tolower`/`toupper` fold ASCII only on SQLite;
- JSON: `json_type`/`json_extract` vs `jsonb_typeof`/`jsonb_extract_path`;
- geometry: PostGIS on PostgreSQL (`ST_GeomFromGeoJSON` of the stored GeoJSON, `ST_GeomFromText(wkt, 4326)`
  of literals), the shapely functions of `sqlite_functions` on SQLite. `geo.distance` and `geo.length`
  are planar, in degrees of WGS84 as FROST-Server computes them, identical on both backends.

Time comparisons follow 18-088 (section 9.3.3.5.1 and the interval functions of Table 23): intervals
are half-open (`start <= t < end`); `X lt Y` is "X before Y" (X's end, or X itself if an instant, at or
before Y's start, strictly before it for an instant); `X gt Y` is "X after Y"; `le`/`ge` compare both
starts and both ends; `eq` means same start and same end; an instant compared with an interval is the
interval [t, t]. `before after meets during overlaps starts finishes` are implemented as the table
defines them. A column that holds intervals in some rows and instants in others (`interval_end` NULL)
is decided row by row.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time
from typing import Any, Final, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.selectable import ScalarSelect

from citoyen.db import UTCDateTime, utcnow
from citoyen.sensing.query_ast import (
    Arithmetic,
    BooleanLiteral,
    Comparison,
    DateLiteral,
    DateTimeLiteral,
    DurationLiteral,
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
    PropertyResolver,
    QueryError,
    StringLiteral,
    TimeLiteral,
)
from citoyen.sensing.query_functions import compile_function
from citoyen.sensing.query_navigation import Navigated, navigation_head, push_not_down, strip_head
from citoyen.sensing.query_operands import KIND_WORDS, NO_VALUE, PREFERENCE, SORTABLE, Interval, Operand, describe

DialectName = Literal["sqlite", "postgresql"]


# Terms of one `$filter` that compare a related entity's property with the entity's own (`Datastream/Thing/name eq
# result`): each is a correlated subquery per row, which no semi-join replaces. 160 of them over the demo's 45,000
# Observations took 86 s on SQLite; 10 take about as long as a page of 10,000 Observations.
MAX_CORRELATED_PATHS: Final = 10


class Compiler:
    def __init__(self, resolver: PropertyResolver, dialect: str) -> None:
        if dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"unsupported SQL dialect {dialect!r}")
        self.resolver = resolver
        self.postgres = dialect == "postgresql"
        self.now = utcnow()
        self.correlated = 0  # property paths read through a correlated subquery per row (see MAX_CORRELATED_PATHS)

    # --- Literals ----------------------------------------------------------------------------------------

    def text(self, value: str) -> ColumnElement[Any]:
        bound = sa.literal(value, sa.Text())
        return sa.cast(bound, sa.Text()) if self.postgres else bound

    def number(self, value: int | float) -> ColumnElement[Any]:
        type_: sa.types.TypeEngine[Any] = sa.BigInteger() if isinstance(value, int) else sa.Float()
        return sa.literal(value, type_)

    def instant(self, value: datetime) -> ColumnElement[Any]:
        return sa.literal(value.astimezone(UTC), UTCDateTime())

    def time_of_day(self, value: time) -> ColumnElement[Any]:
        if self.postgres:
            return sa.literal(value, sa.Time())
        # The text SQLite's strftime('%H:%M:%f') gives, so that time(t) compares with it.
        return sa.literal(f"{value:%H:%M:%S}.{value.microsecond // 1000:03d}", sa.Text())

    def datetime_operand(self, value: datetime, label: str) -> Operand:
        return Operand({"datetime": self.instant(value)}, label, value=value)

    def literal(self, expression: Expression) -> Operand:
        match expression:
            case NumberLiteral(value=value):
                return Operand({"number": self.number(value)}, "a number", value=value)
            case StringLiteral(value=value):
                coerced: dict[str, ColumnElement[Any]] = {}
                try:
                    number = float(value)
                except ValueError:
                    pass
                else:
                    coerced["number"] = self.number(int(number) if number.is_integer() else number)
                return Operand({"string": self.text(value)}, "a string", coerced=coerced, value=value)
            case BooleanLiteral(value=value):
                return Operand({"boolean": sa.literal(value, sa.Boolean())}, "a boolean", value=value)
            case NullLiteral():
                return Operand({}, "null", value=None, is_null=True)
            case DateTimeLiteral(value=value):
                return self.datetime_operand(value, "a datetime")
            case DateLiteral(value=value):
                midnight = datetime(value.year, value.month, value.day, tzinfo=UTC)
                return Operand(
                    {"date": sa.literal(value, sa.Date())},
                    "a date",
                    coerced={"datetime": self.instant(midnight)},
                    value=value,
                )
            case TimeLiteral(value=value):
                return Operand({"time": self.time_of_day(value)}, "a time", value=value)
            case DurationLiteral(value=value):
                form = sa.literal(value, sa.Interval()) if self.postgres else self.number(value.total_seconds())
                return Operand({"duration": form}, "a duration", value=value)
            case IntervalLiteral(start=start, end=end):
                return Operand(
                    {"datetime": self.instant(start)},
                    "a time interval",
                    value=(start, end),
                    interval="yes",
                    interval_end=self.instant(end),
                )
            case GeometryLiteral(wkt=wkt):
                form = sa.func.ST_GeomFromText(self.text(wkt), 4326) if self.postgres else sa.literal(wkt, sa.Text())
                return Operand({"geometry": form}, "a geometry", value=wkt)
        raise AssertionError(f"not a literal: {expression!r}")

    # --- Properties ---------------------------------------------------------------------------------------

    def property(self, path: PropertyPath) -> Operand:
        try:
            resolved = self.resolver.resolve(path.segments)
        except QueryError as error:
            raise QueryError(error.message, error.position or path.position, error.option) from None
        name = str(path)
        if isinstance(resolved.expression, ScalarSelect):
            self.correlated += 1
        if resolved.kind == "json" and resolved.json_path:
            return Operand(self.json_forms(resolved.expression, resolved.json_path), f"{name} (a JSON value)")
        forms: dict[str, ColumnElement[Any]] = {resolved.kind: self.stored_form(resolved.kind, resolved.expression)}
        for kind, expression in resolved.alternatives.items():
            forms.setdefault(kind, self.stored_form(kind, expression))
        interval: Interval = "maybe" if resolved.interval_end is not None else "no"
        label = f"{name} ({KIND_WORDS[resolved.kind]})" if len(forms) == 1 else name
        return Operand(forms, label, interval=interval, interval_end=resolved.interval_end)

    def stored_form(self, kind: str, expression: ColumnElement[Any]) -> ColumnElement[Any]:
        if kind == "json":
            # JSON null reads as SQL NULL, so `properties eq null` holds for both.
            if self.postgres:
                document = self.jsonb(expression)
                return sa.case((sa.func.jsonb_typeof(document) != self.text("null"), document))
            return sa.case((sa.func.json_type(expression) != "null", expression))
        if kind == "geometry" and self.postgres:
            # Stored GeoJSON may be a Feature (a Location's `location`): take its geometry.
            document = self.jsonb(expression)
            return sa.func.ST_GeomFromGeoJSON(sa.func.coalesce(document.op("->")(self.text("geometry")), document))
        return expression

    def jsonb(self, expression: ColumnElement[Any]) -> ColumnElement[Any]:
        if isinstance(expression.type, postgresql.JSONB):
            return expression
        return sa.cast(sa.cast(expression, sa.Text()), postgresql.JSONB())

    def json_forms(self, column: ColumnElement[Any], path: tuple[str | int, ...]) -> dict[str, ColumnElement[Any]]:
        if self.postgres:
            document = self.jsonb(column)
            keys = [self.text(str(key)) for key in path]
            value_type = sa.func.jsonb_typeof(sa.func.jsonb_extract_path(document, *keys))
            text = sa.func.jsonb_extract_path_text(document, *keys)
            return {
                "number": sa.case((value_type == self.text("number"), sa.cast(text, sa.Float()))),
                "string": sa.case((value_type == self.text("string"), text)),
                "boolean": sa.case((value_type == self.text("boolean"), sa.cast(text, sa.Boolean()))),
            }
        json_path = "$" + "".join(f"[{key}]" if isinstance(key, int) else f'."{key}"' for key in path)
        bound_path = sa.literal(json_path, sa.Text())
        value_type = sa.func.json_type(column, bound_path)
        value = sa.func.json_extract(column, bound_path)
        return {
            "number": sa.case((value_type.in_(["integer", "real"]), value)),
            "string": sa.case((value_type == "text", value)),
            "boolean": sa.case((value_type == "true", sa.literal(True)), (value_type == "false", sa.literal(False))),
        }

    # --- Expressions ----------------------------------------------------------------------------------------

    def operand(self, expression: Expression) -> Operand:
        match expression:
            case PropertyPath():
                return self.property(expression)
            case FunctionCall():
                return compile_function(self, expression)
            case Comparison(operator=operator, left=left, right=right, position=position):
                condition = self.compare(operator, self.operand(left), self.operand(right), position)
                return Operand({"boolean": condition}, "a comparison")
            case Logical(operator=operator, left=left, right=right, position=position):
                a = self.condition(self.operand(left), operator, position)
                b = self.condition(self.operand(right), operator, position)
                return Operand({"boolean": sa.and_(a, b) if operator == "and" else sa.or_(a, b)}, "a condition")
            case Not(operand=inner, position=position):
                return Operand(
                    {"boolean": sa.not_(self.condition(self.operand(inner), "not", position))}, "a condition"
                )
            case Arithmetic():
                return self.arithmetic(expression)
        return self.literal(expression)

    def filter_condition(self, expression: Expression, operator: str, position: int | None) -> ColumnElement[Any]:
        """A condition in a positive place of `$filter` (under `and`/`or` only, no `not` above it).

        A part whose every property goes through the same mandatory to-one navigation property (`or` chains of
        `substringof('x', Datastream/Thing/name)` over Observations) becomes `key IN (SELECT id FROM target
        WHERE part)`, evaluated once, instead of a correlated subquery per row and term: 90 such terms over
        45,000 Observations took 6.5 s. Where the part is true for a row the two agree; where it is false or
        NULL both leave the row out, which is all that matters here. Under `not` NULL and false would differ, so
        a `not` over `and`/`or` is first pushed down to the terms (De Morgan's laws hold in SQL's three-valued
        logic), and a `not` over one term goes inside the semi-join with it."""
        expression = push_not_down(expression)
        head = navigation_head(expression)
        navigated: Navigated | None = None
        if head is not None and hasattr(self.resolver, "navigate"):
            navigated = self.resolver.navigate(head)
        if navigated is not None:
            inner = Compiler(navigated.resolver, "postgresql" if self.postgres else "sqlite")
            inner.now = self.now
            condition = inner.filter_condition(strip_head(expression), operator, position)
            return navigated.semi_join(condition)
        if isinstance(expression, Logical):
            a = self.filter_condition(expression.left, expression.operator, expression.position)
            b = self.filter_condition(expression.right, expression.operator, expression.position)
            return sa.and_(a, b) if expression.operator == "and" else sa.or_(a, b)
        operand = self.operand(expression)
        if operator == "$filter":
            form = operand.forms.get("boolean")
            if form is None:
                raise QueryError(
                    f"the filter must be a condition (a comparison or a boolean function), not {describe(operand)}",
                    getattr(expression, "position", None),
                )
            return form
        return self.condition(operand, operator, position or 0)

    def condition(self, operand: Operand, operator: str, position: int) -> ColumnElement[Any]:
        form = operand.forms.get("boolean")
        if form is None:
            raise QueryError(f"'{operator}' needs conditions, but got {describe(operand)}", position)
        return form

    def common_kind(self, left: Operand, right: Operand, verb: str, position: int) -> tuple[str, Operand, Operand]:
        for kind in PREFERENCE:
            if kind in left.forms and kind in right.forms:
                return kind, left, right
        for kind in PREFERENCE:
            if kind in left.coerced and kind in right.forms:
                return kind, replace(left, forms={kind: left.coerced[kind]}), right
            if kind in left.forms and kind in right.coerced:
                return kind, left, replace(right, forms={kind: right.coerced[kind]})
        hint = ""
        if {"datetime"} <= (left.forms.keys() | right.forms.keys()) and "string" in (
            left.forms.keys() | right.forms.keys()
        ):
            hint = "; write datetimes without quotes, e.g. 2024-05-01T12:00:00Z"
        raise QueryError(f"cannot {verb} {describe(left)} with {describe(right)}{hint}", position)

    def compare(self, operator: str, left: Operand, right: Operand, position: int) -> ColumnElement[Any]:
        if left.is_null or right.is_null:
            other = right if left.is_null else left
            if operator not in ("eq", "ne"):
                raise QueryError(f"'{operator}' cannot compare with null; use eq null or ne null", position)
            if other.is_null:
                return sa.literal(operator == "eq", sa.Boolean())
            if operator == "eq":
                return sa.and_(*(form.is_(None) for form in other.forms.values()))
            return sa.or_(*(form.is_not(None) for form in other.forms.values()))
        kind, left, right = self.common_kind(left, right, "compare", position)
        if kind == "datetime":
            return self.compare_times(operator, left, right)
        if kind == "geometry":
            raise QueryError(
                f"geometries cannot be compared with '{operator}'; use st_equals or geo.distance", position
            )
        if kind == "json":
            raise QueryError(f"JSON objects cannot be compared with '{operator}'; compare a member", position)
        a, b = left.forms[kind], right.forms[kind]
        match operator:
            case "eq":
                return a == b
            case "ne":
                return a.is_distinct_from(b)
            case "gt":
                return a > b
            case "ge":
                return a >= b
            case "lt":
                return a < b
            case "le":
                return a <= b
        raise AssertionError(operator)

    # --- Time ---------------------------------------------------------------------------------------------

    @staticmethod
    def start(operand: Operand) -> ColumnElement[Any]:
        return operand.forms["datetime"]

    @staticmethod
    def end(operand: Operand) -> ColumnElement[Any]:
        """The interval's end, or the instant itself (an instant is the interval [t, t])."""
        start = operand.forms["datetime"]
        if operand.interval == "no" or operand.interval_end is None:
            return start
        if operand.interval == "yes":
            return operand.interval_end
        return sa.func.coalesce(operand.interval_end, start)

    def before(self, x: Operand, y: Operand) -> ColumnElement[Any]:
        if x.interval == "no" or x.interval_end is None:
            return self.start(x) < self.start(y)
        if x.interval == "yes":
            return x.interval_end <= self.start(y)
        return sa.or_(
            sa.and_(x.interval_end.is_(None), self.start(x) < self.start(y)),
            sa.and_(x.interval_end.is_not(None), x.interval_end <= self.start(y)),
        )

    def after(self, x: Operand, y: Operand) -> ColumnElement[Any]:
        if y.interval == "no" or y.interval_end is None:
            return self.start(x) > self.start(y)
        if y.interval == "yes":
            return self.start(x) >= y.interval_end
        return sa.or_(
            sa.and_(y.interval_end.is_(None), self.start(x) > self.start(y)),
            sa.and_(y.interval_end.is_not(None), self.start(x) >= y.interval_end),
        )

    def compare_times(self, operator: str, x: Operand, y: Operand) -> ColumnElement[Any]:
        instants = x.interval == "no" and y.interval == "no"
        xs, ys = self.start(x), self.start(y)
        match operator:
            case "lt":
                return self.before(x, y)
            case "gt":
                return self.after(x, y)
            case "le":
                return xs <= ys if instants else sa.and_(xs <= ys, self.end(x) <= self.end(y))
            case "ge":
                return xs >= ys if instants else sa.and_(xs >= ys, self.end(x) >= self.end(y))
            case "eq":
                return xs == ys if instants else sa.and_(xs == ys, self.end(x) == self.end(y))
            case "ne":
                if instants:
                    return xs.is_distinct_from(ys)
                return sa.or_(xs.is_distinct_from(ys), self.end(x).is_distinct_from(self.end(y)))
        raise AssertionError(operator)

    def temporal_function(self, name: str, x: Operand, y: Operand) -> ColumnElement[Any]:
        xs, ys = self.start(x), self.start(y)
        match name:
            case "before":
                return self.before(x, y)
            case "after":
                return self.after(x, y)
            case "meets":
                return sa.or_(self.end(x) == ys, self.end(y) == xs)
            case "during":
                return sa.and_(xs >= ys, xs < self.end(y), self.end(x) <= self.end(y))
            case "overlaps":
                return sa.or_(
                    xs == ys,
                    sa.and_(xs > ys, xs < self.end(y)),
                    sa.and_(ys > xs, ys < self.end(x)),
                )
            case "starts":
                return xs == ys
            case "finishes":
                return self.end(x) == self.end(y)
        raise AssertionError(name)

    def utc_timestamp(self, expression: ColumnElement[Any], kind: str) -> ColumnElement[Any]:
        """On PostgreSQL, a timestamptz read in UTC (EXTRACT and casts otherwise use the session's zone)."""
        if self.postgres and kind == "datetime":
            return sa.func.timezone(self.text("UTC"), expression)
        return expression

    def shift(self, operand: Operand, duration: Operand, sign: int, position: int) -> Operand:
        """A datetime (or interval) moved by a duration."""
        if operand.value is not NO_VALUE and duration.value is not NO_VALUE:
            if operand.interval == "yes":
                start, end = operand.value
                moved = (start + sign * duration.value, end + sign * duration.value)
                return replace(self.literal(IntervalLiteral(*moved, position)), label=operand.label)
            return self.datetime_operand(operand.value + sign * duration.value, operand.label)

        def move(expression: ColumnElement[Any]) -> ColumnElement[Any]:
            step = duration.forms["duration"]
            if self.postgres:
                return expression + step if sign > 0 else expression - step
            modifier = (
                sa.literal("+" if sign > 0 else "-", sa.Text())
                .concat(sa.cast(step, sa.Text()))
                .concat(sa.literal(" seconds", sa.Text()))
            )
            # The text SQLAlchemy stores SQLite datetimes as (microseconds; strftime gives milliseconds).
            return sa.func.strftime("%Y-%m-%d %H:%M:%f000", expression, modifier)

        end = move(operand.interval_end) if operand.interval_end is not None else None
        return Operand(
            {"datetime": move(operand.forms["datetime"])},
            operand.label,
            interval=operand.interval,
            interval_end=end,
        )

    # --- Arithmetic -------------------------------------------------------------------------------------------

    def arithmetic(self, expression: Arithmetic) -> Operand:
        operator, position = expression.operator, expression.position
        left, right = self.operand(expression.left), self.operand(expression.right)
        if operator in ("add", "sub"):
            if "datetime" in left.forms and "duration" in right.forms:
                return self.shift(left, right, 1 if operator == "add" else -1, position)
            if operator == "add" and "duration" in left.forms and "datetime" in right.forms:
                return self.shift(right, left, 1, position)
        a = self.argument(left, "number", f"'{operator}'", position)
        b = self.argument(right, "number", f"'{operator}'", position)
        if operator == "add":
            result = a + b
        elif operator == "sub":
            result = a - b
        elif operator == "mul":
            result = a * b
        elif operator == "div":
            result = a / sa.func.nullif(b, 0)
        elif self.postgres:
            result = sa.func.mod(sa.cast(a, sa.Numeric()), sa.func.nullif(sa.cast(b, sa.Numeric()), 0))
        else:
            result = a - b * sa.cast(a / sa.func.nullif(b, 0), sa.BigInteger())
        return Operand({"number": result}, "a number")

    def argument(self, operand: Operand, kind: str, where: str, position: int) -> ColumnElement[Any]:
        form = operand.forms.get(kind)
        if form is None:
            form = operand.coerced.get(kind) if kind == "number" and "string" not in operand.forms else None
        if form is None:
            raise QueryError(f"{where} expects {KIND_WORDS[kind]}, but got {describe(operand)}", position)
        return form


# --- Public API -------------------------------------------------------------------------------------------------------


def compile_expression(expression: Expression, resolver: PropertyResolver, dialect_name: str) -> ColumnElement[Any]:
    """The SQL of an expression, in its first form (a number for `result`, the value for a JSON path)."""
    operand = Compiler(resolver, dialect_name).operand(expression)
    if not operand.forms:
        return sa.null()
    return next(iter(operand.forms.values()))


def compile_filter(
    expression: Expression, resolver: PropertyResolver, dialect_name: str, option: str = "$filter"
) -> ColumnElement[bool]:
    """The WHERE condition of a `$filter`; errors name `option` (pass "$expand" for a nested filter)."""
    try:
        compiler = Compiler(resolver, dialect_name)
        condition = compiler.filter_condition(expression, "$filter", None)
        if compiler.correlated > MAX_CORRELATED_PATHS:
            raise QueryError(
                f"{compiler.correlated} properties of related entities are compared with the entity's own, more than"
                f" the {MAX_CORRELATED_PATHS} this server accepts in one filter (conditions on related entities"
                " alone, such as substringof('x', Datastream/Thing/name), have no such limit)"
            )
    except QueryError as error:
        raise error.in_option(option) from None
    return condition


def compile_order_by(
    orderby: tuple[OrderBy, ...] | list[OrderBy],
    resolver: PropertyResolver,
    dialect_name: str,
    option: str = "$orderby",
) -> list[ColumnElement[Any]]:
    """ORDER BY clauses: nulls first ascending and last descending (18-088), on every backend.

    A property with several forms (`result`) sorts by each sortable form in turn, so numbers come in
    numeric order and strings in string order.
    """
    compiler = Compiler(resolver, dialect_name)
    clauses: list[ColumnElement[Any]] = []
    try:
        for item in orderby:
            operand = compiler.operand(item.expression)
            forms = [form for kind, form in operand.forms.items() if kind in SORTABLE]
            if not forms:
                raise QueryError(f"cannot sort by {describe(operand)}", getattr(item.expression, "position", None))
            for form in forms:
                clauses.append(form.desc().nulls_last() if item.descending else form.asc().nulls_first())
    except QueryError as error:
        raise error.in_option(option) from None
    return clauses
