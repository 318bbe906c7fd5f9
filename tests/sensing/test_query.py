"""SensorThings query options (OGC 18-088 §9.3): parsing, error messages, and filters run on SQLite and PostgreSQL.

Test names follow the conformance classes: request-data (`$top`, `$expand`, ...), filtering
(operators, functions), and the Citoyen-specific typed result and JSON paths.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from citoyen.db import UTCDateTime
from citoyen.sensing.query import (
    Arithmetic,
    BooleanLiteral,
    Comparison,
    DateLiteral,
    DateTimeLiteral,
    DurationLiteral,
    ExpandItem,
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
    QueryOptions,
    ResolvedProperty,
    StringLiteral,
    TimeLiteral,
    compile_expression,
    compile_filter,
    compile_order_by,
    parse_expand,
    parse_filter,
    parse_query_options,
)

# --- Parsing -----------------------------------------------------------------------------------------


def test_request_data_top_skip_count_select_result_format() -> None:
    options = parse_query_options(
        {
            "$top": "5",
            "$skip": "10",
            "$count": "true",
            "$select": "id,name,@iot.id,properties/owner",
            "$resultFormat": "dataArray",
            "page": "ignored",
        }
    )
    assert options == QueryOptions(
        top=5,
        skip=10,
        count=True,
        select=(("id",), ("name",), ("@iot.id",), ("properties", "owner")),
        result_format="dataArray",
    )
    assert parse_query_options({}) == QueryOptions()
    assert parse_query_options({"$COUNT": "false"}).count is False


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"$top": "ten"}, "$top: expected a non-negative integer, got 'ten' at position 1"),
        ({"$skip": "-1"}, "$skip: expected a non-negative integer, got '-1' at position 1"),
        ({"$count": "yes"}, "$count: expected true or false, got 'yes' at position 1"),
        (
            {"$resultFormat": "csv"},
            "$resultFormat: unsupported result format 'csv' (supported: dataArray) at position 1",
        ),
        ({"$frobnicate": "1"}, "unknown query option '$frobnicate'"),
        ({"$filter": "  "}, "$filter: empty value at position 1"),
        ({"$select": "name,,id"}, "$select: expected a property name, found ',' at position 6"),
        ({"$orderby": "name sideways"}, "$orderby: expected an operator"),
    ],
)
def test_request_data_malformed_options_are_query_errors(params: dict[str, str], message: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query_options(params)
    assert str(caught.value).startswith(message)


def test_request_data_orderby_directions() -> None:
    options = parse_query_options({"$orderby": "phenomenonTime desc, result,Datastream/name asc"})
    assert options.orderby == (
        OrderBy(PropertyPath(("phenomenonTime",), 1), descending=True),
        OrderBy(PropertyPath(("result",), 22), descending=False),
        OrderBy(PropertyPath(("Datastream", "name"), 29), descending=False),
    )


def test_request_data_expand_nested_options() -> None:
    expand = parse_expand(
        "Datastreams($select=name;$expand=Observations($top=1;$orderby=phenomenonTime desc;"
        "$filter=result gt 3;$count=true;$skip=2))"
    )
    (datastreams,) = expand
    assert datastreams.navigation == "Datastreams"
    assert datastreams.options.select == (("name",),)
    (observations,) = datastreams.options.expand
    assert observations.navigation == "Observations"
    assert observations.options.top == 1
    assert observations.options.skip == 2
    assert observations.options.count is True
    assert observations.options.orderby == (OrderBy(PropertyPath(("phenomenonTime",), 63), descending=True),)
    assert observations.options.filter == Comparison("gt", PropertyPath(("result",), 91), NumberLiteral(3, 101), 98)


def test_request_data_expand_paths_nest_and_merge() -> None:
    expand = parse_expand("Datastreams/ObservedProperty,Locations,Datastreams($top=2),Datastreams/Sensor")
    assert expand == (
        ExpandItem(
            "Datastreams",
            QueryOptions(top=2, expand=(ExpandItem("ObservedProperty"), ExpandItem("Sensor"))),
        ),
        ExpandItem("Locations"),
    )
    deep = parse_expand("Things/Datastreams/Observations($top=1)")
    assert deep == (
        ExpandItem(
            "Things",
            QueryOptions(
                expand=(
                    ExpandItem("Datastreams", QueryOptions(expand=(ExpandItem("Observations", QueryOptions(top=1)),))),
                )
            ),
        ),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Datastreams($frob=1)", "$expand: unknown query option '$frob'"),
        ("Datastreams($top=1;$top=2)", "$expand: $top given twice for Datastreams at position 20"),
        ("Datastreams($top=-1)", "$expand: expected a non-negative integer, found '-1' at position 18"),
        ("Datastreams($top=1", "$expand: expected ')' or ';', found end of input at position 19"),
        ("Datastreams($count=maybe)", "$expand: expected true or false, found 'maybe' at position 20"),
        ("Datastreams($filter=result gt)", "$expand: expected an operand after 'gt', found ')' at position 30"),
        ("Datastreams($top=1),Datastreams($top=2)", "$expand: Datastreams is expanded twice with different $top"),
    ],
)
def test_request_data_expand_errors(text: str, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query_options({"$expand": text})
    assert str(caught.value).startswith(message)


def test_filtering_extension_literals() -> None:
    def right(text: str) -> object:
        expression = parse_filter(f"x eq {text}")
        assert isinstance(expression, Comparison)
        return expression.right

    assert right("42") == NumberLiteral(42, 6)
    assert right("-3.25") == NumberLiteral(-3.25, 6)
    assert right("1e3") == NumberLiteral(1000.0, 6)
    assert right("'it''s'") == StringLiteral("it's", 6)
    assert right("true") == BooleanLiteral(True, 6)
    assert right("False") == BooleanLiteral(False, 6)
    assert right("null") == NullLiteral(6)
    moment = right("2024-05-01T12:30:00+02:00")
    assert isinstance(moment, DateTimeLiteral)
    assert moment.value == datetime(2024, 5, 1, 10, 30, tzinfo=UTC)
    assert moment.value.utcoffset() == timedelta(hours=2)
    assert right("2024-05-01") == DateLiteral(date(2024, 5, 1), 6)
    assert right("12:30:15.5") == TimeLiteral(time(12, 30, 15, 500000), 6)
    assert right("duration'P1DT2H30M'") == DurationLiteral(timedelta(days=1, hours=2, minutes=30), 6)
    assert right("2024-01-01T00:00:00Z/2024-01-02T00:00:00Z") == IntervalLiteral(
        datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC), 6
    )
    assert right("2024-01-01T00:00:00Z/P1W") == IntervalLiteral(
        datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 8, tzinfo=UTC), 6
    )
    assert right("PT1H/2024-01-01T00:00:00Z") == IntervalLiteral(
        datetime(2023, 12, 31, 23, tzinfo=UTC), datetime(2024, 1, 1, tzinfo=UTC), 6
    )
    assert right("geography'POINT(7.5 51.5)'") == GeometryLiteral("POINT (7.5 51.5)", 6)
    assert right("geometry'SRID=4326;LINESTRING(0 0, 1 1)'") == GeometryLiteral("LINESTRING (0 0, 1 1)", 6)


def test_filtering_extension_property_paths() -> None:
    expression = parse_filter("Datastream/Thing/name eq 'x' and properties/list[2]/id eq 1 and equality eq 1")
    assert isinstance(expression, Logical)
    assert isinstance(expression.left, Logical)
    first = expression.left.left
    second = expression.left.right
    third = expression.right
    assert isinstance(first, Comparison) and isinstance(second, Comparison) and isinstance(third, Comparison)
    assert first.left == PropertyPath(("Datastream", "Thing", "name"), 1)
    assert second.left == PropertyPath(("properties", "list", 2, "id"), 34)
    assert str(second.left) == "properties/list[2]/id"
    assert third.left == PropertyPath(("equality",), 65)  # starts with "eq" but is a property


def test_filtering_extension_precedence() -> None:
    # mul before add before comparison before not before and before or
    expression = parse_filter("not a add 2 mul 3 gt 10 and b eq 1 or c eq 2")
    assert expression == Logical(
        "or",
        Logical(
            "and",
            Not(
                Comparison(
                    "gt",
                    Arithmetic(
                        "add",
                        PropertyPath(("a",), 5),
                        Arithmetic("mul", NumberLiteral(2, 11), NumberLiteral(3, 17), 13),
                        7,
                    ),
                    NumberLiteral(10, 22),
                    19,
                ),
                1,
            ),
            Comparison("eq", PropertyPath(("b",), 29), NumberLiteral(1, 34), 31),
            25,
        ),
        Comparison("eq", PropertyPath(("c",), 39), NumberLiteral(2, 44), 41),
        36,
    )
    grouped = parse_filter("(a sub 5) div 2 gt 1 and (b eq 1 or c eq 2)")
    assert isinstance(grouped, Logical) and grouped.operator == "and"
    assert isinstance(grouped.right, Logical) and grouped.right.operator == "or"
    left = grouped.left
    assert isinstance(left, Comparison) and isinstance(left.left, Arithmetic)
    assert left.left.operator == "div" and isinstance(left.left.left, Arithmetic) and left.left.left.operator == "sub"
    # arithmetic is left-associative
    chain = parse_filter("a sub 1 sub 2 eq 0")
    assert isinstance(chain, Comparison) and isinstance(chain.left, Arithmetic)
    assert isinstance(chain.left.left, Arithmetic) and chain.left.right == NumberLiteral(2, 13)


@pytest.mark.parametrize(
    "text",
    [
        "substringof('a', name)", "contains(name, 'a')", "startswith(name, 'a')", "endswith(name, 'a')",
        "length(name) eq 1", "indexof(name, 'a') eq 1", "substring(name, 1) eq 'a'", "substring(name, 1, 2) eq 'a'",
        "tolower(name) eq 'a'", "toupper(name) eq 'a'", "trim(name) eq 'a'", "concat(name, 'a') eq 'a'",
        "year(t) eq 1", "month(t) eq 1", "day(t) eq 1", "hour(t) eq 1", "minute(t) eq 1", "second(t) eq 1",
        "fractionalseconds(t) eq 0", "date(t) eq 2020-01-01", "time(t) eq 10:00:00", "totaloffsetminutes(t) eq 0",
        "t ge now()", "t gt mindatetime()", "t lt maxdatetime()", "before(t, 2020-01-01T00:00:00Z)",
        "after(t, u)", "meets(t, u)", "during(t, u)", "overlaps(t, u)", "starts(t, u)", "finishes(t, u)",
        "round(x) eq 1", "floor(x) eq 1", "ceiling(x) eq 1",
        "geo.distance(p, geography'POINT(1 2)') lt 1", "geo.length(p) gt 1", "geo.intersects(p, geography'POINT(1 2)')",
        "st_equals(p, q)", "st_disjoint(p, q)", "st_touches(p, q)", "st_within(p, q)", "st_overlaps(p, q)",
        "st_crosses(p, q)", "st_intersects(p, q)", "st_contains(p, q)", "st_relate(p, q, 'T********')",
    ],
)  # fmt: skip
def test_filtering_extension_every_builtin_function_parses(text: str) -> None:
    expression = parse_filter(text)
    parts = [expression, getattr(expression, "left", None), getattr(expression, "right", None)]
    name = text.split("(")[0].split()[-1]
    assert any(isinstance(part, FunctionCall) and part.name == name for part in parts)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("result gt ", "expected an operand after 'gt', found end of input at position 11"),
        ("result gt 3 and", "expected an operand after 'and', found end of input at position 16"),
        ("(result gt 3", "expected ')', found end of input at position 13"),
        ("result gt 3)", "expected end of input, found ')' at position 12"),
        ("name eq 'abc", "unterminated string (a quote inside a string is written '') at position 9"),
        ("name eq 'a' # 1", "unexpected character '#' at position 13"),
        ("a eq b eq c", "comparisons cannot be chained: join them with 'and' or 'or' at position 8"),
        ("frobnicate(name) eq 1", "unknown function 'frobnicate' at position 1"),
        ("length(name, 2) eq 1", "length() takes 1 argument, got 2 at position 1"),
        ("substring(name) eq 'a'", "substring() takes 2 or 3 arguments, got 1 at position 1"),
        ("now(1) gt t", "now() takes 0 arguments, got 1 at position 1"),
        ("t gt 2024-01-01T00:00:00", "datetime 2024-01-01T00:00:00 needs a timezone"),
        ("t gt 2024-02-30T00:00:00Z", "invalid datetime 2024-02-30T00:00:00Z at position 6"),
        (
            "t eq 2024-01-02T00:00:00Z/2024-01-01T00:00:00Z",
            "interval 2024-01-02T00:00:00Z/2024-01-01T00:00:00Z ends before it starts",
        ),
        ("t add duration'P1M' gt now()", "duration P1M has years or months, which have no fixed length; use days"),
        ("st_within(p, geography'POINT(1)')", "invalid WKT geometry 'POINT(1)' at position 14"),
        ("st_within(p, geography'SRID=3857;POINT(1 2)')", "only WGS84 (SRID=4326) geometries are supported"),
    ],
)
def test_filtering_extension_syntax_errors_point_at_the_problem(text: str, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query_options({"$filter": text})
    assert caught.value.option == "$filter"
    assert str(caught.value).startswith(f"$filter: {message}")


# --- Execution on SQLite and PostgreSQL -------------------------------------------------------------------

metadata = sa.MetaData()
samples = sa.Table(
    "query_test_samples",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(100)),
    sa.Column("amount", sa.Float),
    sa.Column("active", sa.Boolean),
    sa.Column("created", UTCDateTime),
    sa.Column("period_start", UTCDateTime),
    sa.Column("period_end", UTCDateTime),
    sa.Column("result_number", sa.Float),
    sa.Column("result_string", sa.Text),
    sa.Column("result_boolean", sa.Boolean),
    sa.Column("properties", sa.JSON),
    sa.Column("place", sa.Text),
)

PARIS_FEATURE = '{"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [2.35, 48.85]}}'
MARSEILLE = '{"type": "Point", "coordinates": [5.37, 43.3]}'
PARIS_TO_LYON = '{"type": "LineString", "coordinates": [[2.35, 48.85], [4.83, 45.76]]}'


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


ROWS = [
    {
        "id": 1, "name": "Sensor Things", "amount": 2.5, "active": True, "created": at("2024-03-15T10:30:45.250+00:00"),
        "period_start": at("2024-01-01T00:00:00+00:00"), "period_end": at("2024-01-10T00:00:00+00:00"),
        "result_number": 3.0, "properties": {"owner": "Ann", "floor": 3, "tags": ["a", "b"], "ok": True},
        "place": PARIS_FEATURE,
    },
    {
        "id": 2, "name": "air quality", "amount": -2.5, "active": False, "created": at("2023-12-31T23:59:59+00:00"),
        "period_start": at("2024-01-10T00:00:00+00:00"), "period_end": None,
        "result_string": "on", "properties": {"owner": "Bob", "floor": "3"}, "place": MARSEILLE,
    },
    {
        "id": 3, "name": "  padded  ", "amount": 7.0, "active": True, "created": at("2024-06-01T00:00:00+00:00"),
        "period_start": at("2024-01-05T00:00:00+00:00"), "period_end": at("2024-02-01T00:00:00+00:00"),
        "result_number": 10.5, "properties": {"owner": "O'Brien"}, "place": PARIS_TO_LYON,
    },
    {"id": 4, "name": "O'Brien's", "result_boolean": True},
    {"id": 5, "name": "empty"},
]  # fmt: skip


@dataclass
class SampleResolver:
    """Resolves the test table's properties the way the SensorThings entities will."""

    def resolve(self, path: tuple[str | int, ...]) -> ResolvedProperty:
        c = samples.c
        simple = {
            ("id",): ResolvedProperty(c.id, "number"),
            ("name",): ResolvedProperty(c.name, "string"),
            ("amount",): ResolvedProperty(c.amount, "number"),
            ("active",): ResolvedProperty(c.active, "boolean"),
            ("created",): ResolvedProperty(c.created, "datetime"),
            ("period",): ResolvedProperty(c.period_start, "datetime", interval_end=c.period_end),
            ("place",): ResolvedProperty(c.place, "geometry"),
            ("properties",): ResolvedProperty(c.properties, "json"),
            ("result",): ResolvedProperty(
                c.result_number,
                "number",
                alternatives={"string": c.result_string, "boolean": c.result_boolean},
            ),
        }
        if path in simple:
            return simple[path]
        if path[0] == "properties":
            return ResolvedProperty(c.properties, "json", json_path=path[1:])
        raise QueryError(f"unknown property '{'/'.join(map(str, path))}'")


RESOLVER = SampleResolver()


@pytest.fixture
async def db(connection: AsyncConnection) -> AsyncIterator[AsyncConnection]:
    await connection.run_sync(metadata.create_all)
    await connection.execute(
        samples.insert(), [{column.name: row.get(column.name) for column in samples.c} for row in ROWS]
    )
    yield connection


async def matching(connection: AsyncConnection, text: str) -> list[int]:
    condition = compile_filter(parse_filter(text), RESOLVER, connection.dialect.name)
    rows = await connection.execute(sa.select(samples.c.id).where(condition).order_by(samples.c.id))
    return list(rows.scalars())


async def test_filtering_extension_comparison_and_logical_operators(db: AsyncConnection) -> None:
    assert await matching(db, "amount gt 2.5") == [3]
    assert await matching(db, "amount ge 2.5") == [1, 3]
    assert await matching(db, "amount lt 0") == [2]
    assert await matching(db, "amount le 2.5") == [1, 2]
    assert await matching(db, "amount eq 7") == [3]
    # OData: ne is true when the value is null (row 4 and 5 have no amount)
    assert await matching(db, "amount ne 2.5") == [2, 3, 4, 5]
    assert await matching(db, "amount eq null") == [4, 5]
    assert await matching(db, "amount ne null") == [1, 2, 3]
    assert await matching(db, "active") == [1, 3]
    assert await matching(db, "active eq false") == [2]
    assert await matching(db, "not active") == [2]
    assert await matching(db, "amount gt 0 and active or name eq 'empty'") == [1, 3, 5]
    assert await matching(db, "amount gt 0 and (active or name eq 'empty')") == [1, 3]
    assert await matching(db, "not (amount gt 0) and amount ne null") == [2]
    assert await matching(db, "amount eq '2.5'") == [1]  # a numeric string compares as a number (18-088's `id eq '1'`)


async def test_filtering_extension_arithmetic(db: AsyncConnection) -> None:
    assert await matching(db, "amount add 1 gt 3") == [1, 3]
    assert await matching(db, "amount sub 5 gt 0") == [3]
    assert await matching(db, "amount mul 2 eq -5") == [2]
    assert await matching(db, "amount div 2 eq 3.5") == [3]
    assert await matching(db, "(amount sub 5) div 2 eq 1") == [3]
    assert await matching(db, "amount mod 2 eq 0.5") == [1]
    assert await matching(db, "amount mod 2 eq -0.5") == [2]  # the remainder takes the dividend's sign
    assert await matching(db, "amount mod 2 eq 1") == [3]
    assert await matching(db, "amount div 0 eq 1 or amount mod 0 eq 1") == []  # no error: division by zero is null


async def test_filtering_extension_math_functions(db: AsyncConnection) -> None:
    assert await matching(db, "round(amount) eq 3") == [1]
    assert await matching(db, "round(amount) eq -3") == [2]  # halves round away from zero
    assert await matching(db, "floor(amount) eq 2") == [1]
    assert await matching(db, "floor(amount) eq -3") == [2]
    assert await matching(db, "ceiling(amount) eq 3") == [1]
    assert await matching(db, "ceiling(amount) eq -2") == [2]
    assert await matching(db, "floor(amount) eq 7 and ceiling(amount) eq 7") == [3]


async def test_filtering_extension_string_functions(db: AsyncConnection) -> None:
    assert await matching(db, "name eq 'O''Brien''s'") == [4]
    assert await matching(db, "substringof('Things', name)") == [1]
    assert await matching(db, "contains(name, 'qual')") == [2]
    assert await matching(db, "contains(name, 'QUAL')") == []  # case-sensitive, as in OData
    assert await matching(db, "startswith(name, 'Sensor')") == [1]
    assert await matching(db, "endswith(name, 'quality')") == [2]
    assert await matching(db, "endswith(name, 'quality air quality')") == []
    assert await matching(db, "length(name) eq 13") == [1]
    assert await matching(db, "indexof(name, 'Things') eq 7") == [1]
    assert await matching(db, "indexof(name, 'zzz') eq -1 and indexof(name, 'e') eq 1") == [1]
    assert await matching(db, "substring(name, 1) eq 'ensor Things'") == [1]
    assert await matching(db, "substring(name, 0, 3) eq 'air'") == [2]
    assert await matching(db, "tolower(name) eq 'sensor things'") == [1]
    assert await matching(db, "toupper(name) eq 'AIR QUALITY'") == [2]
    assert await matching(db, "trim(name) eq 'padded'") == [3]
    assert await matching(db, "concat(concat(name, ', '), 'hi') eq 'empty, hi'") == [5]
    assert await matching(db, "not startswith(name, 'air') and amount ne null") == [1, 3]


async def test_filtering_extension_date_functions(db: AsyncConnection) -> None:
    assert await matching(db, "year(created) eq 2024") == [1, 3]
    assert await matching(db, "month(created) eq 12") == [2]
    assert await matching(db, "day(created) eq 15") == [1]
    assert await matching(db, "hour(created) eq 10") == [1]
    assert await matching(db, "minute(created) eq 59") == [2]
    assert await matching(db, "second(created) eq 45") == [1]
    assert await matching(db, "fractionalseconds(created) eq 0.25") == [1]
    assert await matching(db, "date(created) eq 2024-06-01") == [3]
    assert await matching(db, "time(created) ge 12:00:00") == [2]
    assert await matching(db, "time(created) eq 10:30:45.250") == [1]
    assert await matching(
        db, "totaloffsetminutes(created) eq 0 and totaloffsetminutes(2024-01-01T00:00:00+01:30) eq 90"
    ) == [1, 2, 3]
    assert await matching(db, "year(2024-05-01) eq 2024 and hour(13:45:00) eq 13 and created ne null") == [1, 2, 3]


async def test_filtering_extension_datetime_comparisons(db: AsyncConnection) -> None:
    # 11:00+01:00 is 10:00Z: the offset is honoured
    assert await matching(db, "created gt 2024-03-15T11:00:00+01:00") == [1, 3]
    assert await matching(db, "created ge 2024-03-15T10:30:45.250Z and created le 2024-03-15T10:30:45.250Z") == [1]
    assert await matching(db, "created lt 2024-01-01") == [2]  # a date is midnight UTC
    assert await matching(db, "created lt now()") == [1, 2, 3]
    assert await matching(db, "created gt now() sub duration'P36500D' and created lt mindatetime()") == []
    assert await matching(db, "created gt mindatetime() and created lt maxdatetime()") == [1, 2, 3]
    assert await matching(db, "created add duration'PT14H' gt 2024-03-16T00:00:00Z") == [1, 3]
    assert await matching(db, "created sub duration'P1D' lt 2023-12-31T00:00:00Z") == [2]


async def test_filtering_extension_time_intervals_follow_18_088(db: AsyncConnection) -> None:
    # row 1: [01-01, 01-10)   row 2: the instant 01-10   row 3: [01-05, 02-01)   rows 4-5: no period
    assert await matching(db, "period lt 2024-01-10T00:00:00Z") == [1]  # before: the end is not in the interval
    assert await matching(db, "period gt 2024-01-05T00:00:00Z") == [2]  # after: starts after the instant
    assert await matching(db, "period ge 2024-01-05T00:00:00Z") == [2, 3]
    assert await matching(db, "period le 2024-01-10T00:00:00Z") == [1, 2]
    assert await matching(db, "period eq 2024-01-01T00:00:00Z/2024-01-10T00:00:00Z") == [1]
    assert await matching(db, "period eq 2024-01-10T00:00:00Z") == [2]
    assert await matching(db, "period ne 2024-01-10T00:00:00Z and period ne null") == [1, 3]
    assert await matching(db, "not (period lt 2024-01-10T00:00:00Z)") == [2, 3]
    assert await matching(db, "period gt 2023-12-01T00:00:00Z/2024-01-01T00:00:00Z") == [1, 2, 3]
    assert await matching(db, "before(period, 2024-01-10T00:00:00Z)") == [1]
    assert await matching(db, "after(period, 2024-01-01T00:00:00Z/P4D)") == [2, 3]
    assert await matching(db, "meets(period, 2024-01-10T00:00:00Z)") == [1, 2]
    assert await matching(db, "during(period, 2024-01-01T00:00:00Z/2024-02-01T00:00:00Z)") == [1, 2, 3]
    assert await matching(db, "during(period, 2024-01-01T00:00:00Z/2024-01-10T00:00:00Z)") == [1]
    assert await matching(db, "overlaps(period, 2024-01-09T00:00:00Z/2024-01-10T00:00:00Z)") == [1, 3]
    assert await matching(db, "overlaps(period, 2024-01-10T00:00:00Z)") == [2, 3]
    assert await matching(db, "starts(period, 2024-01-05T00:00:00Z)") == [3]
    assert await matching(db, "finishes(period, 2024-02-01T00:00:00Z)") == [3]


async def test_citoyen_typed_result_picks_the_form_of_the_other_operand(db: AsyncConnection) -> None:
    assert await matching(db, "result gt 3") == [3]
    assert await matching(db, "result ge 3") == [1, 3]
    assert await matching(db, "result eq 'on'") == [2]
    assert await matching(db, "result eq true") == [4]
    assert await matching(db, "result ne 'on'") == [1, 3, 4, 5]
    assert await matching(db, "result eq null") == [5]
    assert await matching(db, "result add 1 gt 4") == [3]
    assert await matching(db, "startswith(result, 'o')") == [2]


async def test_citoyen_json_property_paths(db: AsyncConnection) -> None:
    assert await matching(db, "properties/owner eq 'Ann'") == [1]
    assert await matching(db, "properties/owner eq 'O''Brien'") == [3]
    assert await matching(db, "properties/floor eq 3") == [1]  # row 2's floor is the string "3"
    assert await matching(db, "properties/floor eq '3'") == [2]
    assert await matching(db, "properties/floor gt 2") == [1]
    assert await matching(db, "properties/tags[1] eq 'b'") == [1]
    assert await matching(db, "properties/ok eq true") == [1]
    assert await matching(db, "properties/missing eq null") == [1, 2, 3, 4, 5]
    assert await matching(db, "startswith(properties/owner, 'B')") == [2]
    assert await matching(db, "properties eq null") == [4, 5]


async def test_filtering_extension_spatial_functions(db: AsyncConnection) -> None:
    if db.dialect.name == "postgresql":
        await db.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
    france_north = "geography'POLYGON((2 48, 3 48, 3 49, 2 49, 2 48))'"
    assert await matching(db, f"st_within(place, {france_north})") == [1]  # row 1 is a GeoJSON Feature
    assert await matching(db, f"st_intersects(place, {france_north})") == [1, 3]
    assert await matching(db, f"geo.intersects(place, {france_north})") == [1, 3]
    assert await matching(db, f"st_disjoint(place, {france_north})") == [2]
    assert await matching(db, f"st_contains({france_north}, place)") == [1]
    assert await matching(db, f"st_overlaps(place, {france_north})") == []
    assert await matching(db, "st_crosses(place, geography'LINESTRING(3 45, 3 49)')") == [3]
    assert await matching(db, "st_touches(place, geography'POINT(4.83 45.76)')") == [3]
    assert await matching(db, "st_equals(place, geography'POINT(5.37 43.3)')") == [2]
    assert await matching(db, f"st_relate(place, {france_north}, 'T*F**F***')") == [1]
    assert await matching(db, "geo.distance(place, geography'POINT(2.35 48.85)') lt 0.01") == [1, 3]
    one_degree_north_of_marseille = "geo.distance(place, geography'POINT(5.37 44.3)')"
    assert await matching(db, f"{one_degree_north_of_marseille} ge 1 and {one_degree_north_of_marseille} lt 1.01") == [
        2
    ]
    assert await matching(db, "geo.length(place) gt 3") == [3]
    assert await matching(db, "not st_within(place, geography'POINT(0 0)') and name ne 'x'") == [1, 2, 3]


async def test_request_data_orderby_puts_nulls_first_ascending(db: AsyncConnection) -> None:
    async def ordered(text: str) -> list[int]:
        options = parse_query_options({"$orderby": text})
        clauses = compile_order_by(options.orderby, RESOLVER, db.dialect.name)
        rows = await db.execute(sa.select(samples.c.id).order_by(*clauses, samples.c.id))
        return list(rows.scalars())

    assert await ordered("amount") == [4, 5, 2, 1, 3]
    assert await ordered("amount desc") == [3, 1, 2, 4, 5]
    assert await ordered("length(name), id desc") == [5, 4, 3, 2, 1]
    # by the number form (nulls first), ties by the string form, then the boolean form
    assert await ordered("result") == [5, 4, 2, 1, 3]
    assert await ordered("properties/owner desc") == [3, 2, 1, 4, 5]


async def test_compile_expression_gives_the_value(db: AsyncConnection) -> None:
    expression = compile_expression(parse_filter("amount mul 2 add 1"), RESOLVER, db.dialect.name)
    rows = await db.execute(sa.select(expression).where(samples.c.id == 3))
    assert rows.scalar_one() == 15


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name gt 3", "cannot compare name (a string) with a number at position 6"),
        ("amount eq 'abc'", "cannot compare amount (a number) with a string at position 8"),
        (
            "created gt '2024-01-01T00:00:00Z'",
            "cannot compare created (a datetime) with a string; write datetimes without quotes",
        ),
        ("year(name) eq 2024", "year() expects a datetime or a date, but got name (a string) at position 1"),
        ("length(amount) eq 1", "length() argument 1 expects a string, but got amount (a number) at position 1"),
        ("name add 1 eq 2", "'add' expects a number, but got name (a string) at position 6"),
        ("unknown eq 1", "unknown property 'unknown' at position 1"),
        ("Datastream/name eq 'x'", "unknown property 'Datastream/name' at position 1"),
        ("amount add 1", "the filter must be a condition (a comparison or a boolean function), not a number"),
        ("amount and active", "'and' needs conditions, but got amount (a number) at position 8"),
        ("amount gt null", "'gt' cannot compare with null; use eq null or ne null at position 8"),
        (
            "place eq geography'POINT(1 2)'",
            "geometries cannot be compared with 'eq'; use st_equals or geo.distance at position 7",
        ),
        ("properties eq 1", "cannot compare properties (a JSON object) with a number at position 12"),
        (
            "st_within(name, geography'POINT(1 2)')",
            "st_within() argument 1 expects a geometry, but got name (a string)",
        ),
        ("before(amount, now())", "before() argument 1 expects a datetime or interval, but got amount (a number)"),
    ],
)
async def test_filtering_extension_type_errors(text: str, message: str) -> None:
    for dialect in ("sqlite", "postgresql"):
        with pytest.raises(QueryError) as caught:
            compile_filter(parse_filter(text), RESOLVER, dialect)
        assert str(caught.value).startswith(f"$filter: {message}"), str(caught.value)


def test_compile_filter_names_the_option_it_was_given() -> None:
    with pytest.raises(QueryError) as caught:
        compile_filter(parse_filter("name gt 3"), RESOLVER, "sqlite", option="$expand")
    assert str(caught.value).startswith("$expand: cannot compare")
    with pytest.raises(QueryError) as order_error:
        compile_order_by((OrderBy(PropertyPath(("place",), 1)),), RESOLVER, "sqlite")
    assert str(order_error.value) == "$orderby: cannot sort by place (a geometry) at position 1"
