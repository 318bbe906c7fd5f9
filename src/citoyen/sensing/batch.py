"""Batch requests (18-088 §11.2): many requests in one round trip, run in order in the request's transaction.

Each unit runs in a savepoint: an atomic change set (multipart) or atomicity group (JSON batch) is stored
whole or not at all, and a lone request that fails leaves nothing half-stored. A request may name an entity
an earlier one created by its id: `$1` at the start of a URL (`$1/Datastreams`) or as an `@iot.id` in a body
(`{"Thing": {"@iot.id": "$1"}}`). Without the `continue-on-error` preference the batch stops at the first
failure (OData 4.01 Part 1 §8.2.8.3); with it, the later requests run and those that depend on a failed one
(JSON `dependsOn`, or a `$id` that names it) answer 424 Failed Dependency.

The wire formats live in `batch_format.py`; the requests themselves are the service's (create, read, update,
delete, CreateObservations), called as the single routes call them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.sensing import bulk
from citoyen.sensing.batch_format import Answer, Outcome, Part, Unit, media_type
from citoyen.sensing.context import Context, StaError
from citoyen.sensing.create import create_at, created_document
from citoyen.sensing.entities import API_PATH, self_link
from citoyen.sensing.links import is_ref, write_link
from citoyen.sensing.query import QueryError, QueryLimits, parse_query_options
from citoyen.sensing.read import NO_CONTENT, AnswerLimits, RawValue, read
from citoyen.sensing.update import delete_entity, update_entity
from citoyen.sensing.validation import load_json

SERVICE_VERSION = "v1.1/"  # the standard's examples address parts as "v1.1/Things", relative to the server


@dataclass
class Batch:
    """What running a batch takes besides the session: the readers' and the writer's contexts (None when the
    batch only reads), the read limits of the single routes, and whether to go on after a failure."""

    reader: Context
    writer: Context | None
    query_limits: QueryLimits
    answer_limits: AnswerLimits
    continue_on_error: bool = False
    read_gate: Callable[[], contextlib.AbstractAsyncContextManager[Any]] = contextlib.nullcontext
    created: dict[str, tuple[str, int]] = field(default_factory=dict)  # request id -> (entity set, id)
    failed: set[str] = field(default_factory=set)  # ids of the requests that failed


class _Failed(Exception):
    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.status)
        self.answer = answer


async def run(session: AsyncSession, batch: Batch, units: list[Unit]) -> list[Outcome]:
    """Run the units in order; their outcomes, up to the first failure unless `continue_on_error`."""
    outcomes = []
    for unit in units:
        outcome = await _run_unit(session, batch, unit)
        outcomes.append(outcome)
        failed = outcome.failed is not None or any(answer.status >= 400 for answer in outcome.answers)
        if failed and not batch.continue_on_error:
            break
    return outcomes


async def _run_unit(session: AsyncSession, batch: Batch, unit: Unit) -> Outcome:
    answers: list[Answer] = []
    created: dict[str, tuple[str, int]] = {}
    try:
        async with session.begin_nested():
            for part in unit.parts:
                answer = await _run_part(session, batch, part, created)
                answers.append(answer)
                if answer.status >= 400:
                    raise _Failed(answer)
    except _Failed as failure:
        for part in unit.parts:
            if part.id is not None:
                batch.failed.add(part.id)
        if not unit.atomic:
            return Outcome(unit, [failure.answer])
        others = Answer.error(424, "not stored: another request of its atomic group failed, so none of them was")
        failing = len(answers) - 1
        each = [failure.answer if index == failing else others for index in range(len(unit.parts))]
        return Outcome(unit, each, failure.answer)
    batch.created.update(created)
    return Outcome(unit, answers)


async def _run_part(session: AsyncSession, batch: Batch, part: Part, created: dict[str, tuple[str, int]]) -> Answer:
    known = {**batch.created, **created}
    for name in part.depends_on:
        if name in batch.failed:
            return Answer.error(424, f"not run: it depends on request {name}, which failed")
    try:
        path, params = _target(part.url, known, batch.failed)
        if part.method == "GET":
            return await _read(session, batch, path, params)
        if batch.writer is None:  # pragma: no cover - the route asks for a writer when any part writes
            raise StaError(401, "writing needs an API token")
        ctx = batch.writer
        if is_ref(path):
            body = _references(_body(part), known) if part.method != "DELETE" else None
            await write_link(session, ctx, part.method, path, body, params)
            return Answer(204)
        if part.method == "DELETE":
            await delete_entity(session, ctx, path)
            return Answer(200)
        body = _references(_body(part), known)
        if part.method == "POST":
            if path == "CreateObservations":
                plan = await bulk.plan_observations(session, ctx, body)
                return Answer(201, await bulk.store_chunk(session, ctx, plan))
            entity_set, entity_id = await create_at(session, ctx, path, body)
            if part.id is not None:
                created[part.id] = (entity_set.name, entity_id)
            document = await created_document(session, ctx, entity_set, entity_id)
            return Answer(201, document, headers={"Location": self_link(ctx.base_url, entity_set, entity_id)})
        mode = "replace" if part.method == "PUT" else "merge"
        if part.method == "PATCH" and media_type(part.headers.get("content-type", "")) == "application/json-patch+json":
            mode = "json-patch"
        return Answer(200, await update_entity(session, ctx, path, body, mode=mode))
    except QueryError as error:
        return Answer.error(400, str(error))
    except StaError as error:
        return Answer.error(error.status, error.message)


async def _read(session: AsyncSession, batch: Batch, path: str, params: dict[str, str]) -> Answer:
    options = parse_query_options(params, batch.query_limits)
    async with batch.read_gate():
        result = await read(session, batch.reader, path, options, params, batch.answer_limits)
    if result is NO_CONTENT:
        return Answer(204)
    if isinstance(result, RawValue):
        return Answer(200, text=result.text())
    return Answer(200, result)


def _target(url: str, created: dict[str, tuple[str, int]], failed: set[str]) -> tuple[str, dict[str, str]]:
    """The resource path under the service root and the query options of a part's URL: absolute
    (`http://host/sta/v1.1/Things`), absolute path (`/sta/v1.1/Things`), relative to the server as in the
    standard's examples (`v1.1/Things`) or to the service root (`Things`), or starting with `$id`."""
    split = urlsplit(url)
    path = unquote(split.path)
    prefix = f"{API_PATH}/"
    if split.scheme or path.startswith("/"):
        if not path.startswith(prefix):
            raise StaError(400, f"{url}: a batch reaches only this SensorThings service ({API_PATH}/...)")
        path = path[len(prefix) :]
    elif path.startswith(SERVICE_VERSION):
        path = path[len(SERVICE_VERSION) :]
    if path.startswith("$"):
        name, slash, rest = path[1:].partition("/")
        if name in failed:
            raise StaError(424, f"{url}: request {name} failed, so ${name} names nothing")
        if name not in created:
            raise StaError(400, f"{url}: ${name} names no entity created by an earlier request of the batch")
        entity_set, entity_id = created[name]
        path = f"{entity_set}({entity_id}){slash}{rest}"
    path = path.strip("/")
    if not path or path == "$batch":
        raise StaError(400, f"{url}: a batch request must address an entity, a collection or a property")
    return path, dict(parse_qsl(split.query, keep_blank_values=True))


def _body(part: Part) -> Any:
    if not part.body.strip():
        raise StaError(400, "the request has no body")
    try:
        return load_json(part.body)
    except ValueError as error:
        raise StaError(400, f"the body is not valid JSON: {error}") from None


def _references(value: Any, created: dict[str, tuple[str, int]]) -> Any:
    """Replace `{"@iot.id": "$1"}` by the id of the entity request 1 created."""
    if isinstance(value, list):
        return [_references(item, created) for item in value]
    if not isinstance(value, dict):
        return value
    result = {key: _references(item, created) for key, item in value.items()}
    reference = result.get("@iot.id")
    if isinstance(reference, str) and reference.startswith("$"):
        if reference[1:] not in created:
            raise StaError(400, f"@iot.id {reference} names no entity created by an earlier request of the batch")
        result["@iot.id"] = created[reference[1:]][1]
    return result
