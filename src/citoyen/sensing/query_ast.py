"""The parsed form of SensorThings query options: expression AST, option records, errors, resolver contract.

Nothing here touches SQL or the grammar: `query_parser` builds these objects, `query_sql` compiles them.
Positions are 1-based character offsets into the query option's value as the client sent it (after
URL decoding), so an error can point at the exact spot.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal, Protocol

from sqlalchemy.sql.elements import ColumnElement


class QueryError(ValueError):
    """A query option the server cannot honour: bad syntax, unknown property or function, type mismatch.

    `message` says what is wrong in plain words, `position` (1-based, into the option's value) where,
    and `option` which query option (`$filter`, `$expand`, ...) it came from. `str(error)` joins them:
    ``$filter: expected an operand after 'gt' at position 11``.
    """

    def __init__(self, message: str, position: int | None = None, option: str | None = None) -> None:
        self.message = message
        self.position = position
        self.option = option
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.option}: {self.message}" if self.option else self.message
        return text if self.position is None else f"{text} at position {self.position}"

    def in_option(self, option: str) -> QueryError:
        """The same error, attributed to a query option (kept when an inner parse already named one)."""
        return self if self.option else QueryError(self.message, self.position, option)


# --- Expressions -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NumberLiteral:
    value: int | float
    position: int


@dataclass(frozen=True, slots=True)
class StringLiteral:
    value: str
    position: int


@dataclass(frozen=True, slots=True)
class BooleanLiteral:
    value: bool
    position: int


@dataclass(frozen=True, slots=True)
class NullLiteral:
    position: int


@dataclass(frozen=True, slots=True)
class DateTimeLiteral:
    """A timezone-aware instant, keeping the offset the client wrote (for `totaloffsetminutes`)."""

    value: datetime
    position: int


@dataclass(frozen=True, slots=True)
class DateLiteral:
    value: date
    position: int


@dataclass(frozen=True, slots=True)
class TimeLiteral:
    value: time
    position: int


@dataclass(frozen=True, slots=True)
class DurationLiteral:
    """`duration'P1DT2H'`: days, hours, minutes and seconds (years and months have no fixed length)."""

    value: timedelta
    position: int


@dataclass(frozen=True, slots=True)
class IntervalLiteral:
    """A half-open time interval `start/end` (ISO 8601; either side may be a duration)."""

    start: datetime
    end: datetime
    position: int


@dataclass(frozen=True, slots=True)
class GeometryLiteral:
    """`geography'POINT(7.5 51.5)'` or `geometry'…'`: WKT in WGS84 (lon lat), validated when parsed."""

    wkt: str
    position: int


@dataclass(frozen=True, slots=True)
class PropertyPath:
    """`name`, `Datastream/Thing/name`, `properties/owner`, `properties/list[0]` (ints are array indexes)."""

    segments: tuple[str | int, ...]
    position: int

    def __str__(self) -> str:
        text = ""
        for segment in self.segments:
            text += f"[{segment}]" if isinstance(segment, int) else (f"/{segment}" if text else segment)
        return text


@dataclass(frozen=True, slots=True)
class FunctionCall:
    """A built-in function; the name is lower-cased and checked against the known functions and arities."""

    name: str
    arguments: tuple[Expression, ...]
    position: int


ComparisonOperator = Literal["eq", "ne", "gt", "ge", "lt", "le"]
ArithmeticOperator = Literal["add", "sub", "mul", "div", "mod"]
LogicalOperator = Literal["and", "or"]


@dataclass(frozen=True, slots=True)
class Comparison:
    operator: ComparisonOperator
    left: Expression
    right: Expression
    position: int  # of the operator


@dataclass(frozen=True, slots=True)
class Arithmetic:
    operator: ArithmeticOperator
    left: Expression
    right: Expression
    position: int


@dataclass(frozen=True, slots=True)
class Logical:
    operator: LogicalOperator
    left: Expression
    right: Expression
    position: int


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expression
    position: int


Literal_ = (
    NumberLiteral
    | StringLiteral
    | BooleanLiteral
    | NullLiteral
    | DateTimeLiteral
    | DateLiteral
    | TimeLiteral
    | DurationLiteral
    | IntervalLiteral
    | GeometryLiteral
)
Expression = Literal_ | PropertyPath | FunctionCall | Comparison | Arithmetic | Logical | Not


# --- Query options -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueryLimits:
    """What one request may ask for (the `sta_max_*` settings); beyond any, parsing raises a `QueryError`
    that names the limit, before anything is compiled or run.

    - `option_length`: characters of one option's value;
    - `expression_terms`, `expression_depth`: nodes (operands, operators, functions) of all the expressions of
      one option, and how deeply one nests (each `and`/`or` of a chain is one level);
    - `expand_depth`: navigation segments of one `$expand` path, nested levels included;
    - `expand_items`: navigation properties expanded, all levels together (after merging repeats).
    """

    option_length: int = 8_000
    expression_terms: int = 1_000
    expression_depth: int = 100
    expand_depth: int = 4
    expand_items: int = 16


@dataclass(frozen=True, slots=True)
class OrderBy:
    expression: Expression
    descending: bool = False


@dataclass(frozen=True, slots=True)
class ExpandItem:
    """One navigation property to expand inline, with the options that apply to the expanded entities.

    Paths are normalised: `$expand=Datastreams/ObservedProperty` becomes
    `ExpandItem("Datastreams", QueryOptions(expand=(ExpandItem("ObservedProperty"),)))`, and two items
    on the same navigation property are merged, so each level names each navigation property once.
    """

    navigation: str
    options: QueryOptions = field(default_factory=lambda: QueryOptions())


@dataclass(frozen=True, slots=True)
class QueryOptions:
    """The system query options of one request (or of one `$expand` level). None means "not given"."""

    top: int | None = None
    skip: int | None = None
    count: bool | None = None
    select: tuple[tuple[str, ...], ...] = ()
    orderby: tuple[OrderBy, ...] = ()
    expand: tuple[ExpandItem, ...] = ()
    filter: Expression | None = None
    result_format: str | None = None


# --- The resolver contract -----------------------------------------------------------------------------

PropertyKind = Literal["number", "string", "datetime", "boolean", "json", "geometry"]


@dataclass(frozen=True)
class ResolvedProperty:
    """What a property path means in SQL, as told by the caller's `PropertyResolver`.

    - `expression`: the column (or correlated scalar subquery) holding the value, in the form `kind`.
    - `kind`: how to read it. `datetime` columns hold timezone-aware UTC instants (`citoyen.db.UTCDateTime`);
      `geometry` columns hold GeoJSON text (a geometry or a Feature) in WGS84; `json` columns hold JSON.
    - `alternatives`: other columns holding the same value in other kinds, for properties whose type
      varies per row. An Observation's `result` is the example: `expression=result_number, kind="number",
      alternatives={"string": result_string, "boolean": result_boolean, "json": result_json}`. The compiler
      picks the form that fits the other operand: `result gt 3` reads `result_number`,
      `result eq 'on'` reads `result_string`, `result eq true` reads `result_boolean`; a row whose value is
      of another kind has NULL in that form and is not selected. `result eq null` means every form is NULL.
    - `interval_end`: for a `datetime` that may be a time interval (`phenomenonTime`, `validTime`), the
      column holding the interval's end; NULL in a row means that row's value is an instant. Intervals
      are half-open, `start <= t < end`, and compared as 18-088 says (see `query_sql`).
    - `json_path`: for a `json` property addressed deeper (`properties/owner`, `properties/list[0]`),
      the keys (str) and array indexes (int) below the JSON column; the compiler extracts the value
      (`json_extract` on SQLite, `jsonb_extract_path` on PostgreSQL) and reads it as a number, string
      or boolean depending on the other operand.
    """

    expression: ColumnElement[Any]
    kind: PropertyKind
    alternatives: Mapping[PropertyKind, ColumnElement[Any]] = field(default_factory=dict)
    interval_end: ColumnElement[Any] | None = None
    json_path: tuple[str | int, ...] = ()


class PropertyResolver(Protocol):
    """Turns a property path of the request into SQL; supplied by the entity code that runs the query.

    `resolve(("name",))` for a plain property, `resolve(("Datastream", "Thing", "name"))` through
    navigation properties (the resolver builds the joins or correlated subqueries, and decides what a
    to-many hop means: `Datastreams/name eq 'x'` on Things conventionally means "any Datastream"),
    `resolve(("properties", "owner"))` into JSON (return the JSON column with `json_path=("owner",)`).
    Array indexes arrive as ints. Raise `QueryError("unknown property 'x'")` for a path that does not
    exist; the compiler adds the position.
    """

    def resolve(self, path: tuple[str | int, ...]) -> ResolvedProperty: ...
