"""Many Observations at once: the Data Array extension's `CreateObservations`, and the entry point
other ingest paths (MQTT) use, `insert_observations`.

Rows are checked in Python, then written in one statement: PostgreSQL receives them by COPY (binary,
through asyncpg's `copy_records_to_table` on the request's own connection and transaction), SQLite by
one `executemany`. Ids are taken from the sequence (PostgreSQL) or after the current maximum under
the write lock SQLite already holds (`BEGIN IMMEDIATE`), so the reply can name every new Observation.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.sensing.entities import API_PATH, ENTITY_SETS, format_interval, result_value
from citoyen.sensing.events import SensingEvent, queue_events
from citoyen.sensing.models import ResultType
from citoyen.sensing.service import (
    DATASTREAMS,
    FEATURES,
    OBSERVATIONS,
    THINGS,
    Context,
    StaError,
    extend_datastream,
    feature_for_thing_location,
    parse_time,
    parse_time_or_interval,
    typed_result,
)

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


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _sqlite_time(value: datetime | None) -> str | None:
    # The format SQLAlchemy's SQLite DateTime reads back (naive UTC, as citoyen.db.UTCDateTime stores).
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


async def insert_observations(session: AsyncSession, ctx: Context, rows: Sequence[ObservationRow]) -> list[int]:
    """Store checked Observations (FeatureOfInterest made from the Thing's Location when missing), keep
    their Datastreams' time ranges and areas current, queue their events; returns the new ids in order."""
    if not rows:
        return []
    features: dict[int, int | None] = {}
    prepared: list[tuple[Any, ...]] = []
    for row in rows:
        feature_id = row.feature_of_interest_id
        if feature_id is None:
            if row.datastream_id not in features:
                features[row.datastream_id] = await feature_for_thing_location(session, row.datastream_id)
            feature_id = features[row.datastream_id]
            if feature_id is None:
                raise StaError(
                    400,
                    f"Datastream({row.datastream_id}): its Observations need a FeatureOfInterest, and its Thing "
                    "has no Location to make one from",
                )
        kind, number, string, boolean, document = typed_result(row.result)
        prepared.append(
            (
                row.datastream_id,
                row.phenomenon_time_start,
                row.phenomenon_time_end,
                row.result_time,
                int(kind),
                number,
                string,
                boolean,
                document,
                row.result_quality,
                row.valid_time_start,
                row.valid_time_end,
                row.parameters,
                feature_id,
            )
        )
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        ids = list(
            (
                await session.execute(
                    text("SELECT array_agg(nextval('sta_observations_id_seq')) FROM generate_series(1, :n)"),
                    {"n": len(prepared)},
                )
            ).scalar_one()
        )
        records = [
            (
                new_id,
                *values[:8],
                _dump(values[8]),
                _dump(values[9]),
                values[10],
                values[11],
                _dump(values[12]),
                values[13],
            )
            for new_id, values in zip(ids, prepared, strict=True)
        ]
        raw = await connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        await driver.copy_records_to_table("sta_observations", records=records, columns=list(COLUMNS))
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
    await _extend_datastreams(session, prepared)
    await _queue_observation_events(session, ctx, ids, prepared)
    return ids


async def _extend_datastreams(session: AsyncSession, prepared: list[tuple[Any, ...]]) -> None:
    spans: dict[int, list[Any]] = {}
    for values in prepared:
        datastream_id, start, end, result_time, feature_id = values[0], values[1], values[2], values[3], values[13]
        end = end or start
        span = spans.get(datastream_id)
        if span is None:
            spans[datastream_id] = [start, end, result_time, result_time, {feature_id}]
            continue
        span[0] = min(span[0], start)
        span[1] = max(span[1], end)
        if result_time is not None:
            span[2] = result_time if span[2] is None else min(span[2], result_time)
            span[3] = result_time if span[3] is None else max(span[3], result_time)
        span[4].add(feature_id)
    for datastream_id, (start, end, result_start, result_end, feature_ids) in sorted(spans.items()):
        await extend_datastream(session, datastream_id, start, end, result_start, result_end, feature_ids)


async def _queue_observation_events(
    session: AsyncSession, ctx: Context, ids: list[int], prepared: list[tuple[Any, ...]]
) -> None:
    bus = ctx.bus
    if bus is None or not bus.has_subscribers:
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
    queue_events(session, bus, events)


# --- CreateObservations ----------------------------------------------------------------------------------------


def _row(datastream_id: int, components: list[str], values: Any, features: set[int]) -> ObservationRow:
    if not isinstance(values, list) or len(values) != len(components):
        raise ValueError(f"expected an array of {len(components)} values ({', '.join(components)})")
    data = dict(zip(components, values, strict=True))
    if "phenomenonTime" in data and data["phenomenonTime"] is not None:
        start, end = parse_time_or_interval(data["phenomenonTime"], "phenomenonTime")
    else:
        start, end = datetime.now(UTC), None
    result_time = data.get("resultTime")
    valid = data.get("validTime")
    valid_start, valid_end = parse_time_or_interval(valid, "validTime") if valid is not None else (None, None)
    parameters = data.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise ValueError("parameters must be a JSON object")
    feature_id = data.get("FeatureOfInterest/id")
    if feature_id is not None and (not isinstance(feature_id, int) or feature_id not in features):
        raise ValueError(f"FeatureOfInterest({feature_id}) does not exist")
    return ObservationRow(
        datastream_id,
        start,
        end,
        None if result_time is None else parse_time(result_time, "resultTime"),
        data["result"],
        data.get("resultQuality"),
        valid_start,
        valid_end,
        parameters,
        feature_id,
    )


async def create_observations(session: AsyncSession, ctx: Context, body: Any) -> list[str]:
    """The reply of `POST CreateObservations`: each row's new self link, or "error: ..." for a bad row.

    A request that cannot be understood as a whole (not a list, unknown Datastream, unknown component)
    is refused with 400 and stores nothing."""
    if not isinstance(body, list):
        raise StaError(400, "CreateObservations expects a JSON array of {Datastream, components, dataArray}")
    groups: list[tuple[int, list[str], list[Any]]] = []
    for index, group in enumerate(body):
        if not isinstance(group, dict):
            raise StaError(400, f"item {index}: expected an object with Datastream, components and dataArray")
        if "MultiDatastream" in group:
            raise StaError(400, "MultiDatastreams are not supported")
        datastream = group.get("Datastream")
        datastream_id = datastream.get("@iot.id") if isinstance(datastream, dict) else None
        if not isinstance(datastream_id, int) or isinstance(datastream_id, bool):
            raise StaError(400, f'item {index}: Datastream must be {{"@iot.id": n}}')
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

    datastream_ids = {datastream_id for datastream_id, _, _ in groups}
    known = set((await session.execute(select(DATASTREAMS.c.id).where(DATASTREAMS.c.id.in_(datastream_ids)))).scalars())
    missing = sorted(datastream_ids - known)
    if missing:
        raise StaError(400, f"Datastream({missing[0]}) does not exist")
    wanted_features = {
        values[components.index("FeatureOfInterest/id")]
        for _, components, data in groups
        if "FeatureOfInterest/id" in components
        for values in data
        if isinstance(values, list) and len(values) == len(components)
    }
    wanted_features = {value for value in wanted_features if isinstance(value, int)}
    features = (
        set((await session.execute(select(FEATURES.c.id).where(FEATURES.c.id.in_(wanted_features)))).scalars())
        if wanted_features
        else set()
    )

    replies: list[str | None] = []
    rows: list[ObservationRow] = []
    for datastream_id, components, data in groups:
        for values in data:
            try:
                rows.append(_row(datastream_id, components, values, features))
                replies.append(None)
            except (ValueError, StaError) as error:
                message = error.message if isinstance(error, StaError) else str(error)
                replies.append(f"error: {message}")
    ids = iter(await insert_observations(session, ctx, rows))
    observations = ENTITY_SETS["Observations"].name
    base = f"{ctx.base_url}{API_PATH}/{observations}"
    return [reply if reply is not None else f"{base}({next(ids)})" for reply in replies]


__all__ = ["ObservationRow", "ResultType", "create_observations", "insert_observations"]
