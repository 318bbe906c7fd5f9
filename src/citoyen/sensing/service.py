"""SensorThings API rules: addressing, reading with query options, deep insert, update, delete, access.

This module is the service's public front: routes (`api.py`), the other ingest paths (`bulk.py`,
`mqtt.py`), other domains, tests and benchmarks import from here; the subjects live in their own modules,
which import each other directly:

- `context.py`: `Access`, `Context` (what a call takes besides the session) and `StaError`;
- `access.py`: who may see what; `addressing.py`: resource paths to their entities;
- `read.py`: GET with query options; `values.py`: what a client writes, checked and typed;
- `create.py`: deep insert and the events writes queue; `update.py`: PATCH, PUT and DELETE;
- `links.py`: linking and unlinking through `$ref` (POST, PUT, DELETE);
- `personal_data.py`: export and erasure of personal Things;
- `statistics.py`: which Datastreams aggregates may sum up, and their readings grouped by hour or day;
- `repository.py`: statements several of these share (the tuned Datastream and feature upkeep of ingest).

Routes in `api.py` parse the HTTP request and call one function here; every change happens in the
request's transaction (the session dependency commits, or rolls back on any error), and events go out
on the bus only after the commit (`events.queue_events`).

Access (Citoyen's addition to the standard): a Thing is public, restricted (its metadata is public but
its raw Observations are not served: 403) or personal (it and everything under it, its Locations,
HistoricalLocations, Datastreams, Observations and the features made from its Locations, are visible
only to its owner and to staff). Writes need an API token with the `sensing:write` scope.
"""

from __future__ import annotations

from citoyen.sensing.access import visibility
from citoyen.sensing.addressing import Target, resolve_path
from citoyen.sensing.context import Access, Context, StaError
from citoyen.sensing.create import create, create_at, created_document
from citoyen.sensing.entities import format_time, result_value
from citoyen.sensing.exports import (
    EXPORT_COLUMNS,
    ExportedStream,
    ObservationRow,
    exported_datastreams,
    features_sql,
    observation_csv,
    observation_geojson,
    observation_rows,
    observations_sql,
)
from citoyen.sensing.links import is_ref, write_link
from citoyen.sensing.personal_data import erase_personal_data, export_personal_data, register_personal_data
from citoyen.sensing.portal import PlacedReading, PlacedSensor, datastream_thing, sensors_in
from citoyen.sensing.publication import (
    daily_statistics,
    observation_days,
    public_observations,
    public_observations_of,
    published_datastreams,
    published_things,
)
from citoyen.sensing.read import NO_CONTENT, AnswerLimits, RawValue, read
from citoyen.sensing.repository import (
    DATASTREAMS,
    FEATURES,
    OBSERVATIONS,
    THINGS,
    Span,
    extend_datastream,
    extend_datastreams,
    feature_for_thing_location,
    features_for_thing_locations,
    thing_access_of_datastream,
)
from citoyen.sensing.statistics import Step, SummedStream, bucket_statistics, range_statistics, summed_streams
from citoyen.sensing.update import delete_entity, update_entity
from citoyen.sensing.values import column_values, parse_time, parse_time_or_interval, typed_result

__all__ = [
    "DATASTREAMS",
    "EXPORT_COLUMNS",
    "FEATURES",
    "NO_CONTENT",
    "OBSERVATIONS",
    "THINGS",
    "Access",
    "AnswerLimits",
    "Context",
    "ExportedStream",
    "ObservationRow",
    "PlacedReading",
    "PlacedSensor",
    "RawValue",
    "Span",
    "StaError",
    "Step",
    "SummedStream",
    "Target",
    "bucket_statistics",
    "column_values",
    "create",
    "create_at",
    "created_document",
    "daily_statistics",
    "datastream_thing",
    "delete_entity",
    "erase_personal_data",
    "export_personal_data",
    "exported_datastreams",
    "extend_datastream",
    "extend_datastreams",
    "feature_for_thing_location",
    "features_for_thing_locations",
    "features_sql",
    "format_time",
    "is_ref",
    "observation_csv",
    "observation_days",
    "observation_geojson",
    "observation_rows",
    "observations_sql",
    "parse_time",
    "parse_time_or_interval",
    "public_observations",
    "public_observations_of",
    "published_datastreams",
    "published_things",
    "range_statistics",
    "read",
    "register_personal_data",
    "resolve_path",
    "result_value",
    "sensors_in",
    "summed_streams",
    "thing_access_of_datastream",
    "typed_result",
    "update_entity",
    "visibility",
    "write_link",
]
