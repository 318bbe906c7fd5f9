"""Many Observations at once: the Data Array extension's `CreateObservations` (`plan_observations`, then
`store_chunk` for each of the transactions the route commits), and the entry point other ingest paths (MQTT)
use, `insert_observations`.

Rows are checked in Python, then written in one statement: PostgreSQL receives them by COPY (binary,
through asyncpg's `copy_records_to_table` on the request's own connection and transaction), SQLite by
one `executemany`. Ids are taken from the sequence (PostgreSQL) or after the current maximum under
the write lock SQLite already holds (`BEGIN IMMEDIATE`), so the reply can name every new Observation.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import attrgetter, itemgetter, methodcaller
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.sensing import multi
from citoyen.sensing.entities import API_PATH, format_interval, format_time, result_value
from citoyen.sensing.events import SensingEvent, announce_spans, queue_events, queue_stored_readings
from citoyen.sensing.models import ResultType
from citoyen.sensing.multi import MultiRow
from citoyen.sensing.partitions import partition_name
from citoyen.sensing.repository import lock_observation_parents
from citoyen.sensing.service import (
    DATASTREAMS,
    FEATURES,
    OBSERVATIONS,
    THINGS,
    Context,
    Span,
    StaError,
    extend_datastreams,
    features_for_thing_locations,
    typed_result,
)
from citoyen.sensing.validation import Limits, check_json_size, id_in_range

COLUMNS = (
    "id",
    "datastream_id",
    "phenomenon_time_start",
    "phenomenon_time_end",
    "result_time",
    "result_type",
    "result_number",
    "result_string",
    "result_boolean",
    "result_json",
    "result_quality",
    "valid_time_start",
    "valid_time_end",
    "parameters",
    "feature_of_interest_id",
)
NUMERIC = (int(ResultType.FLOAT), int(ResultType.INTEGER))
COMPONENTS = (
    "phenomenonTime",
    "result",
    "resultTime",
    "resultQuality",
    "validTime",
    "parameters",
    "FeatureOfInterest/id",
)


@dataclass(frozen=True, slots=True)
class ObservationRow:
    """One Observation ready to store (everything but its id)."""

    datastream_id: int
    phenomenon_time_start: datetime
    phenomenon_time_end: datetime | None
    result_time: datetime | None
    result: Any
    result_quality: Any = None
    valid_time_start: datetime | None = None
    valid_time_end: datetime | None = None
    parameters: dict[str, Any] | None = None
    feature_of_interest_id: int | None = None


def _instants(moments: list[datetime]) -> list[str]:
    """`format_time` of many moments: in a few passes in C when they are whole seconds in UTC (the usual readings),
    one by one otherwise."""
    if set(map(attrgetter("microsecond"), moments)) == {0} and set(map(methodcaller("utcoffset"), moments)) == {
        timedelta(0)
    }:
        # "+00:00" can only be the offset at the end of each ("Z" in SensorThings' answers).
        return "\n".join(map(methodcaller("isoformat", timespec="seconds"), moments)).replace("+00:00", "Z").split("\n")
    return [format_time(moment) or "" for moment in moments]


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _sqlite_time(value: datetime | None) -> str | None:
    # The format SQLAlchemy's SQLite DateTime reads back (naive UTC, as citoyen.db.UTCDateTime stores).
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


async def insert_observations(session: AsyncSession, ctx: Context, rows: Sequence[ObservationRow]) -> list[int]:
    """Store checked Observations (FeatureOfInterest made from the Thing's Location when missing), keep
    their Datastreams' time ranges and areas current, queue their events; returns the new ids in order."""
    prepared = [
        (
            row.datastream_id,
            row.phenomenon_time_start,
            row.phenomenon_time_end,
            row.result_time,
            *typed_result(row.result),
            row.result_quality,
            row.valid_time_start,
            row.valid_time_end,
            row.parameters,
            row.feature_of_interest_id,
        )
        for row in rows
    ]
    return await _store(session, ctx, prepared)


async def _store(session: AsyncSession, ctx: Context, prepared: list[tuple[Any, ...]]) -> list[int]:
    """Write prepared rows: (datastream_id, phenomenon start, end, result time, result type, number, string,
    boolean, json, quality, valid start, valid end, parameters, feature id or None)."""
    if not prepared:
        return []
    features = await _features_of(session, prepared)
    if features:
        prepared = [values if values[13] is not None else (*values[:13], features[values[0]]) for values in prepared]
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        await _check_parents(session, prepared)
        # The month's partition, when every row falls in one (the usual batch of recent readings): the COPY then
        # goes straight into it, without routing each row through the parent (asked with the ids: no round trip).
        first_start, last_start = min(map(itemgetter(1), prepared)), max(map(itemgetter(1), prepared))
        first_month, last_month = first_start.astimezone(UTC), last_start.astimezone(UTC)
        month = (
            partition_name(first_month.year, first_month.month)
            if (first_month.year, first_month.month) == (last_month.year, last_month.month)
            else None
        )
        new_ids, partition = (
            await session.execute(
                text(
                    "SELECT array_agg(nextval('sta_observations_id_seq')), to_regclass(:partition)::text "
                    "FROM generate_series(1, :n)"
                ),
                {"n": len(prepared), "partition": month or "sta_observations"},
            )
        ).one()
        ids = list(new_ids)
        dumps = json.dumps
        records = [
            (
                new_id,
                *values[:8],
                None if values[8] is None else dumps(values[8]),
                None if values[9] is None else dumps(values[9]),
                values[10],
                values[11],
                None if values[12] is None else dumps(values[12]),
                values[13],
            )
            for new_id, values in zip(ids, prepared, strict=True)
        ]
        # In (Datastream, time) order, the order of the one B-tree every partition keeps: each index insertion
        # lands beside the previous one (a batch comes as runs of one Datastream's rows, so this sort is linear).
        records.sort(key=itemgetter(1, 2))
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        await driver.copy_records_to_table(partition or "sta_observations", records=records, columns=list(COLUMNS))
    else:
        first = int((await session.execute(select(func.coalesce(func.max(OBSERVATIONS.c.id), 0)))).scalar_one()) + 1
        ids = list(range(first, first + len(prepared)))
        records = [
            (
                new_id,
                values[0],
                _sqlite_time(values[1]),
                _sqlite_time(values[2]),
                _sqlite_time(values[3]),
                values[4],
                values[5],
                values[6],
                None if values[7] is None else int(values[7]),
                _dump(values[8]),
                _dump(values[9]),
                _sqlite_time(values[10]),
                _sqlite_time(values[11]),
                _dump(values[12]),
                values[13],
            )
            for new_id, values in zip(ids, prepared, strict=True)
        ]
        placeholders = ", ".join("?" for _ in COLUMNS)
        await connection.exec_driver_sql(
            f"INSERT INTO sta_observations ({', '.join(COLUMNS)}) VALUES ({placeholders})",  # noqa: S608
            records,
        )
    spans = await _extend_datastreams(session, prepared)
    if ctx.bus is not None:
        # The spans the Datastreams' times were extended by are what the rollups recompute: no pass over the rows.
        await announce_spans(
            session, ctx.bus, {key: (span.phenomenon_start, span.phenomenon_end) for key, span in spans.items()}
        )
    await _queue_observation_events(session, ctx, ids, prepared)
    return ids


async def _check_parents(session: AsyncSession, prepared: Sequence[tuple[Any, ...]]) -> None:
    """The batch's Datastreams and FeaturesOfInterest, read and locked once (the table has no foreign keys on
    PostgreSQL): one deleted meanwhile refuses the batch, whole."""
    datastreams, features = await lock_observation_parents(
        session, [values[0] for values in prepared], [values[13] for values in prepared]
    )
    if datastreams:
        raise StaError(400, f"Datastream({datastreams[0]}) does not exist")
    if features:
        raise StaError(400, f"FeatureOfInterest({features[0]}) does not exist")


async def _features_of(session: AsyncSession, prepared: Sequence[tuple[Any, ...]]) -> dict[int, int]:
    """The FeatureOfInterest of each Datastream among rows that name none (made from its Thing's Location)."""
    without_feature = sorted({values[0] for values in prepared if values[13] is None})
    if not without_feature:
        return {}
    features = await features_for_thing_locations(session, without_feature)
    lacking = [datastream_id for datastream_id, feature_id in features.items() if feature_id is None]
    if lacking:
        raise StaError(
            400,
            f"Datastream({lacking[0]}): its Observations need a FeatureOfInterest, and its Thing "
            "has no Location to make one from",
        )
    return {datastream_id: feature_id for datastream_id, feature_id in features.items() if feature_id is not None}


async def _extend_datastreams(session: AsyncSession, prepared: list[tuple[Any, ...]]) -> dict[int, Span]:
    """Each Datastream's times and observed area grown to cover the rows; returns what each was extended by."""
    spans: dict[int, Span] = {}
    # A batch comes as runs of one Datastream's rows: each run's bounds by min/max over its columns.
    for datastream_id, run in itertools.groupby(prepared, key=itemgetter(0)):
        rows = list(run)
        starts = [values[1] for values in rows]
        ends = [values[2] for values in rows if values[2] is not None]
        result_times = [values[3] for values in rows if values[3] is not None]
        start, end = min(starts), max(starts)
        if ends:
            end = max(end, max(ends))
        first_result, last_result = (min(result_times), max(result_times)) if result_times else (None, None)
        feature_ids = {values[13] for values in rows}
        span = spans.get(datastream_id)
        if span is None:
            spans[datastream_id] = Span(start, end, first_result, last_result, feature_ids)
        else:  # the Datastream's rows came in several runs
            span.phenomenon_start, span.phenomenon_end = (
                min(span.phenomenon_start, start),
                max(span.phenomenon_end, end),
            )
            if first_result is not None and last_result is not None:
                span.result_start = first_result if span.result_start is None else min(span.result_start, first_result)
                span.result_end = last_result if span.result_end is None else max(span.result_end, last_result)
            span.feature_ids |= feature_ids
    await extend_datastreams(session, spans)
    return spans


async def _queue_observation_events(
    session: AsyncSession, ctx: Context, ids: list[int], prepared: list[tuple[Any, ...]]
) -> None:
    bus = ctx.bus
    if bus is None or not bus.has_listeners:
        return
    if not bus.has_local_listeners:
        # Only live pages (maybe another worker's) may hear: ids, times and numbers, without building the JSON of
        # each Observation (only this process's subscriptions and the MQTT bridge read it).
        readings: dict[int, list[tuple[int, str, float | None]]] = {}
        position = 0
        for datastream_id, run in itertools.groupby(prepared, key=itemgetter(0)):
            rows = list(run)
            run_ids = ids[position : position + len(rows)]
            position += len(rows)
            readings.setdefault(datastream_id, []).extend(
                zip(
                    run_ids,
                    _instants([values[1] for values in rows]),
                    [values[5] if values[4] in NUMERIC else None for values in rows],
                    strict=True,
                )
            )
        await queue_stored_readings(session, bus, readings)
        return
    datastream_ids = {values[0] for values in prepared}
    owners = {
        datastream_id: (str(access), owner)
        for datastream_id, access, owner in (
            await session.execute(
                select(DATASTREAMS.c.id, THINGS.c.access, THINGS.c.owner_person_id)
                .join(THINGS, THINGS.c.id == DATASTREAMS.c.thing_id)
                .where(DATASTREAMS.c.id.in_(datastream_ids))
            )
        ).all()
    }
    base = f"{ctx.base_url}{API_PATH}"
    events = []
    for new_id, values in zip(ids, prepared, strict=True):
        kind = values[4]
        result = result_value(
            {
                "result_type": kind,
                "result_number": values[5],
                "result_string": values[6],
                "result_boolean": values[7],
                "result_json": values[8],
            }
        )
        link = f"{base}/Observations({new_id})"
        payload = {
            "@iot.id": new_id,
            "@iot.selfLink": link,
            "phenomenonTime": format_interval(values[1], values[2]),
            "resultTime": format_interval(values[3], None),
            "result": result,
            "resultQuality": values[9],
            "validTime": format_interval(values[10], values[11]),
            "parameters": values[12],
            "Datastream@iot.navigationLink": f"{link}/Datastream",
            "FeatureOfInterest@iot.navigationLink": f"{link}/FeatureOfInterest",
        }
        access, owner = owners.get(values[0], ("public", None))
        events.append(
            SensingEvent(
                "create",
                "Observations",
                new_id,
                f"{API_PATH}/Observations({new_id})",
                payload,
                access,
                values[0],
                owner,
            )
        )
    await queue_events(session, bus, events, readings_announced=True)


# --- CreateObservations ----------------------------------------------------------------------------------------


def _moment(value: Any, name: str) -> datetime:
    # Python 3.11's fromisoformat reads "Z" and offsets; only a missing time zone needs a word.
    if type(value) is not str:
        raise ValueError(f"{name} must be an ISO 8601 date-time string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name}: {value!r} is not an ISO 8601 date-time") from None
    if moment.tzinfo is None:
        raise ValueError(f"{name}: {value!r} needs a time zone (such as Z or +01:00)")
    return moment


def _span(value: Any, name: str) -> tuple[datetime, datetime | None]:
    if type(value) is str and "/" in value:
        first, _, last = value.partition("/")
        start, end = _moment(first, name), _moment(last, name)
        if end < start:
            raise ValueError(f"{name}: the interval ends before it starts")
        return start, end
    return _moment(value, name), None


def check_values(limits: Limits, result: Any, quality: Any, parameters: Any) -> None:
    """Size caps on an Observation's JSON values (numbers, the usual result, need no check)."""
    if type(result) in (str, dict, list):
        check_json_size(result, "result", limits.json_bytes)
    if quality is not None:
        check_json_size(quality, "resultQuality", limits.json_bytes)
    if parameters is not None:
        check_json_size(parameters, "parameters", limits.json_bytes)


def _prepare(
    datastream_id: int, components: list[str], data: list[Any], features: set[int], limits: Limits
) -> list[tuple[Any, ...] | str]:
    """Each dataArray row as a prepared tuple (see `_store`), or the error message for a bad row. This is
    the hot loop of ingest: plain tuples and type() checks, no per-row objects."""
    if len(components) == 2 and "phenomenonTime" in components:
        return _prepare_measurements(datastream_id, components, data, features, limits)
    return _prepare_rows(datastream_id, components, data, features, limits)


def _prepare_rows(
    datastream_id: int, components: list[str], data: list[Any], features: set[int], limits: Limits
) -> list[tuple[Any, ...] | str]:
    """`_prepare` for any components."""
    width = len(components)
    position = {name: index for index, name in enumerate(components)}
    at_time, at_result = position.get("phenomenonTime"), position["result"]
    at_result_time, at_quality = position.get("resultTime"), position.get("resultQuality")
    at_valid, at_parameters = position.get("validTime"), position.get("parameters")
    at_feature = position.get("FeatureOfInterest/id")
    now = datetime.now(UTC)
    prepared: list[tuple[Any, ...] | str] = []
    append = prepared.append
    for values in data:
        try:
            if type(values) is not list or len(values) != width:
                raise ValueError(f"expected an array of {width} values ({', '.join(components)})")
            when = values[at_time] if at_time is not None else None
            start, end = (now, None) if when is None else _span(when, "phenomenonTime")
            result = values[at_result]
            kind = type(result)
            if kind is float:
                typed: tuple[Any, ...] = (1, result, None, None, None)
            elif kind is int and -(2**53) <= result <= 2**53:
                typed = (2, float(result), None, None, None)
            else:
                typed = typed_result(result)
            result_time = values[at_result_time] if at_result_time is not None else None
            if result_time is not None:
                result_time = _moment(result_time, "resultTime")
            valid = values[at_valid] if at_valid is not None else None
            valid_start, valid_end = (None, None) if valid is None else _span(valid, "validTime")
            parameters = values[at_parameters] if at_parameters is not None else None
            if parameters is not None and type(parameters) is not dict:
                raise ValueError("parameters must be a JSON object")
            feature_id = values[at_feature] if at_feature is not None else None
            if feature_id is not None and feature_id not in features:
                raise ValueError(f"FeatureOfInterest({feature_id}) does not exist")
            quality = values[at_quality] if at_quality is not None else None
            check_values(limits, result, quality, parameters)
            append(
                (
                    datastream_id,
                    start,
                    end,
                    result_time,
                    *typed,
                    quality,
                    valid_start,
                    valid_end,
                    parameters,
                    feature_id,
                )
            )
        except ValueError as error:
            append(f"error: {error}")
    return prepared


def _prepare_measurements(
    datastream_id: int, components: list[str], data: list[Any], features: set[int], limits: Limits
) -> list[tuple[Any, ...] | str]:
    """`_prepare` for the usual dataArray, [phenomenonTime, result] with numbers measured at an instant, read
    column by column: each check and conversion is one pass in C (map, set, join, zip) rather than Python
    statements per row. A group where any row is something else (an interval, a missing time, another kind of
    result, an error) goes row by row through `_prepare_rows`, whose answers stay the reference."""
    at_time = components.index("phenomenonTime")
    try:
        if set(map(type, data)) != {list} or set(map(len, data)) != {2}:
            raise ValueError
        times = list(map(itemgetter(at_time), data))
        results = list(map(itemgetter(1 - at_time), data))
        kinds = set(map(type, results))
        if set(map(type, times)) != {str} or "/" in "".join(times) or not kinds <= {float, int}:
            raise ValueError
        # Integers as the row-by-row path stores them: a float of type INTEGER, when a double holds them exactly.
        whole = int in kinds
        if whole and not -(2**53) <= min(results) <= max(results) <= 2**53:
            raise ValueError
        starts = list(map(datetime.fromisoformat, times))
        if None in set(map(attrgetter("tzinfo"), starts)):
            raise ValueError
    except ValueError:
        return _prepare_rows(datastream_id, components, data, features, limits)
    codes: Iterable[int] = [2 if type(result) is int else 1 for result in results] if whole else itertools.repeat(1)
    numbers: Iterable[float] = map(float, results) if whole else results
    nothing = itertools.repeat(None)
    return list(
        zip(itertools.repeat(datastream_id), starts, nothing, nothing, codes, numbers, *([nothing] * 8), strict=False)
    )


# A prepared row (see `_store`), a row of a MultiDatastream (stored by `multi.store`) or "error: ..." for a bad row.
Outcome = tuple[Any, ...] | MultiRow | str


async def plan_observations(session: AsyncSession, ctx: Context, body: Any) -> list[Outcome]:
    """Check a `CreateObservations` body and prepare its rows, storing nothing: each row's prepared tuple, or
    "error: ..." for a bad row. A request that cannot be understood as a whole (not a list, unknown Datastream,
    unknown component) is refused with 400."""
    if not isinstance(body, list):
        raise StaError(400, "CreateObservations expects a JSON array of {Datastream, components, dataArray}")
    groups: list[tuple[int, list[str], list[Any]]] = []
    multi_groups: set[int] = set()  # the indexes of the groups of a MultiDatastream
    for index, group in enumerate(body):
        if not isinstance(group, dict):
            raise StaError(400, f"item {index}: expected an object with Datastream, components and dataArray")
        stream = "MultiDatastream" if "MultiDatastream" in group else "Datastream"
        if stream == "MultiDatastream":
            if "Datastream" in group:
                raise StaError(400, f"item {index}: a Datastream or a MultiDatastream, not both")
            multi_groups.add(index)
        datastream = group.get(stream)
        datastream_id = datastream.get("@iot.id") if isinstance(datastream, dict) else None
        if not isinstance(datastream_id, int) or isinstance(datastream_id, bool):
            raise StaError(400, f'item {index}: {stream} must be {{"@iot.id": n}}')
        if not id_in_range(datastream_id):
            raise StaError(400, f"{stream}({datastream_id}) does not exist")
        components, data = group.get("components"), group.get("dataArray")
        if not isinstance(components, list) or not isinstance(data, list):
            raise StaError(400, f"item {index}: components and dataArray must be arrays")
        unknown = [name for name in components if name not in COMPONENTS]
        if unknown:
            names = ", ".join(map(str, unknown))
            raise StaError(
                400, f"item {index}: unknown or unsupported components: {names} (ids are assigned by the server)"
            )
        if "result" not in components:
            raise StaError(400, f"item {index}: components must include result")
        groups.append((datastream_id, components, data))
    count = sum(len(data) for _, _, data in groups)
    if count > ctx.max_observations:
        raise StaError(
            413,
            f"CreateObservations takes at most {ctx.max_observations:,} Observations per request ({count:,} sent): "
            "send them in several requests",
        )

    datastream_ids = {group[0] for index, group in enumerate(groups) if index not in multi_groups}
    known = set((await session.execute(select(DATASTREAMS.c.id).where(DATASTREAMS.c.id.in_(datastream_ids)))).scalars())
    missing = sorted(datastream_ids - known)
    if missing:
        raise StaError(400, f"Datastream({missing[0]}) does not exist")
    sizes = await multi.result_sizes(session, {groups[index][0] for index in multi_groups})
    missing = sorted({groups[index][0] for index in multi_groups} - sizes.keys())
    if missing:
        raise StaError(400, f"MultiDatastream({missing[0]}) does not exist")
    wanted_features = {
        values[components.index("FeatureOfInterest/id")]
        for _, components, data in groups
        if "FeatureOfInterest/id" in components
        for values in data
        if isinstance(values, list) and len(values) == len(components)
    }
    wanted_features = {value for value in wanted_features if type(value) is int and id_in_range(value)}
    features = (
        set((await session.execute(select(FEATURES.c.id).where(FEATURES.c.id.in_(wanted_features)))).scalars())
        if wanted_features
        else set()
    )

    outcomes: list[Outcome] = []
    for index, (datastream_id, components, data) in enumerate(groups):
        prepared = _prepare(datastream_id, components, data, features, ctx.limits)
        outcomes.extend(
            _multi_rows(datastream_id, sizes[datastream_id], prepared) if index in multi_groups else prepared
        )
    return outcomes


def _multi_rows(multi_datastream_id: int, size: int, prepared: list[tuple[Any, ...] | str]) -> list[Outcome]:
    """The prepared rows of a MultiDatastream's group as its rows (their results of its size), or their errors."""
    outcomes: list[Outcome] = []
    for values in prepared:
        if isinstance(values, str):
            outcomes.append(values)
            continue
        problem = multi.result_problem(values[4], values[8], size)
        if problem is not None:
            outcomes.append(f"error: {problem}")
            continue
        columns = dict(zip(COLUMNS[2:], values[1:], strict=True))
        outcomes.append(MultiRow({**columns, "multi_datastream_id": multi_datastream_id}))
    return outcomes


async def check_features(session: AsyncSession, outcomes: Sequence[Outcome]) -> None:
    """Find (or make) now the FeatureOfInterest of every Datastream of a plan, so that a batch written in several
    transactions is refused at the start (400, nothing stored) rather than failing in a later one."""
    await _features_of(session, [outcome for outcome in outcomes if type(outcome) is tuple])
    without = {
        outcome.columns["multi_datastream_id"]
        for outcome in outcomes
        if type(outcome) is MultiRow and outcome.columns["feature_of_interest_id"] is None
    }
    lacking = sorted(each for each, feature in (await multi.features_of(session, without)).items() if feature is None)
    if lacking:
        raise StaError(
            400,
            f"MultiDatastream({lacking[0]}): its Observations need a FeatureOfInterest, and its Thing "
            "has no Location to make one from",
        )


async def store_chunk(session: AsyncSession, ctx: Context, outcomes: Sequence[Outcome]) -> list[str]:
    """Store the prepared rows among `outcomes` (a slice of a plan); each row's self link, or its error."""
    ids = iter(await _store(session, ctx, [outcome for outcome in outcomes if type(outcome) is tuple]))
    multi_ids = iter(await multi.store(session, ctx, [outcome for outcome in outcomes if type(outcome) is MultiRow]))
    base = f"{ctx.base_url}{API_PATH}/Observations"
    return [
        outcome if type(outcome) is str else f"{base}({next(multi_ids if type(outcome) is MultiRow else ids)})"
        for outcome in outcomes
    ]


__all__ = [
    "ObservationRow",
    "Outcome",
    "ResultType",
    "check_features",
    "insert_observations",
    "plan_observations",
    "store_chunk",
]
