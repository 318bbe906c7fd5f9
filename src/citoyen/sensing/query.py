"""SensorThings API (OGC 18-088) query options: parse them, then compile `$filter`/`$orderby` to SQL.

The contract with the entity code that serves a request:

1. ``options = parse_query_options(request.query_params)`` reads `$top $skip $count $select $orderby
   $expand $filter $resultFormat` (names case-insensitive; parameters without `$` are ignored) into a
   frozen `QueryOptions`. Nothing here knows the entity model: property names are checked later, by the
   resolver. `$expand` items are normalised (`Datastreams/ObservedProperty` nests, repeated navigation
   properties merge) and each `ExpandItem` carries the `QueryOptions` of its level.
2. For each level, the caller supplies a `PropertyResolver` for the entity type being filtered, whose
   `resolve(path)` returns a `ResolvedProperty` (the SQL expression of the property and its kind; see
   its docstring for multi-typed `result`, time intervals and JSON paths).
3. ``where = compile_filter(options.filter, resolver, dialect_name)`` and
   ``order = compile_order_by(options.orderby, resolver, dialect_name)`` give SQLAlchemy clauses for
   ``select(...).where(where).order_by(*order)``; `compile_expression` compiles any expression.

Every problem is a `QueryError` (a ValueError) with a human message, the option it concerns and a
1-based position in that option's value: ``$filter: expected an operand after 'gt', found end of input
at position 11``. Answer it with HTTP 400. Type errors (`name gt 3`, `year(name)`) and unknown
properties surface when compiling, unknown functions and wrong arities when parsing.

On SQLite the spatial functions need `register_sqlite_functions` on each connection (`citoyen.engines`
hands it to the engine); on PostgreSQL they need the PostGIS extension (`CREATE EXTENSION postgis`).

Supported: comparison `eq ne gt ge lt le`, logic `and or not`, arithmetic `add sub mul div mod`,
parentheses; literals (numbers, 'strings' with '' for a quote, true/false/null, ISO 8601 datetimes
with a timezone, dates, times, `duration'P1DT2H'`, intervals `start/end` or `start/P1D`,
`geography'POINT(7 51)'`/`geometry'…'` WKT); all functions of 18-088 Table 23 (string, date, interval,
math, geo., st_) plus OData's `contains`. See `query_sql` for how each compiles on each backend.
"""

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
    PropertyKind,
    PropertyPath,
    PropertyResolver,
    QueryError,
    QueryLimits,
    QueryOptions,
    ResolvedProperty,
    StringLiteral,
    TimeLiteral,
)
from citoyen.sensing.query_operands import MAX_DATETIME, MIN_DATETIME
from citoyen.sensing.query_parser import (
    FUNCTION_ARITY,
    parse_expand,
    parse_filter,
    parse_orderby,
    parse_query_options,
    parse_select,
)
from citoyen.sensing.query_sql import compile_expression, compile_filter, compile_order_by
from citoyen.sensing.sqlite_functions import register_sqlite_functions

__all__ = [
    "FUNCTION_ARITY",
    "MAX_DATETIME",
    "MIN_DATETIME",
    "Arithmetic",
    "BooleanLiteral",
    "Comparison",
    "DateLiteral",
    "DateTimeLiteral",
    "DurationLiteral",
    "ExpandItem",
    "Expression",
    "FunctionCall",
    "GeometryLiteral",
    "IntervalLiteral",
    "Logical",
    "Not",
    "NullLiteral",
    "NumberLiteral",
    "OrderBy",
    "PropertyKind",
    "PropertyPath",
    "PropertyResolver",
    "QueryError",
    "QueryLimits",
    "QueryOptions",
    "ResolvedProperty",
    "StringLiteral",
    "TimeLiteral",
    "compile_expression",
    "compile_filter",
    "compile_order_by",
    "parse_expand",
    "parse_filter",
    "parse_orderby",
    "parse_query_options",
    "parse_select",
    "register_sqlite_functions",
]
