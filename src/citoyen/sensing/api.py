"""OGC SensorThings API v1.1 at /sta/v1.1/: thin routes over `sensing.service` and `sensing.bulk`.

Reading is public (within the access rules of personal and restricted Things); writing needs an API
token with the `sensing:write` scope (`citoyen token create --name NAME --scope sensing:write`), sent
as `Authorization: Bearer TOKEN` or as the password of HTTP Basic (any user name), which is how
FROST-Server's clients send credentials.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen import fastjson
from citoyen.addresses import base_url
from citoyen.config import Settings
from citoyen.db import DbSession, sqlite_write_turn
from citoyen.people import service as people
from citoyen.sensing import batch, batch_format, bulk, idempotency, service
from citoyen.sensing.entities import API_PATH, ENTITY_SETS, self_link
from citoyen.sensing.events import get_bus
from citoyen.sensing.query import QueryError, QueryLimits, parse_query_options
from citoyen.sensing.service import Access, Context, StaError
from citoyen.sensing.validation import Limits, load_json
from citoyen.web.admission import AdmissionGates, Busy, Gate

router = APIRouter(prefix=API_PATH, tags=["SensorThings API"])
log = logging.getLogger(__name__)

WRITE_SCOPE = "sensing:write"
CONFORMANCE = [
    "http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/resource-path-to-entities",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/create-update-delete",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/data-array/data-array",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/multi-datastream",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/batch-request/batch-request",
    "https://fraunhoferiosb.github.io/FROST-Server/extensions/JsonBatchRequest.html",
]
MQTT_CONFORMANCE = [
    "http://www.opengis.net/spec/iot_sensing/1.1/req/create-observations-via-mqtt/observations-creation",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/receive-updates-via-mqtt/receive-updates",
]
AUTHENTICATE = 'Bearer realm="citoyen-sensorthings", Basic realm="citoyen-sensorthings"'


def error_response(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"code": status, "type": "error", "message": message}, status_code=status, headers=headers)


class Unauthorized(StaError):
    def __init__(self, message: str) -> None:
        super().__init__(401, message)


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _base_url(request: Request) -> str:
    return base_url(_settings(request), request)


async def _access(request: Request, session: AsyncSession) -> Access:
    """The signed-in person, if any (owners see their personal Things, staff see everything)."""
    person_id = request.session.get("person_id") if "session" in request.scope else None
    if not person_id:
        return Access()
    person = await people.get_person(session, int(person_id))
    if person is None or not person.is_active:
        return Access()
    return Access(person.id, person.is_staff)


async def _context(request: Request, session: AsyncSession, *, writer: bool = False) -> Context:
    """A writer (holder of a sensing:write token) reaches every Thing it may write to, personal ones too."""
    settings = _settings(request)
    return Context(
        access=Access(is_staff=True) if writer else await _access(request, session),
        base_url=_base_url(request),
        default_top=min(settings.sta_default_top, settings.sta_max_top),
        max_top=settings.sta_max_top,
        bus=get_bus(request.app.state),
        territory=getattr(request.app.state, "territory_index", None),
        limits=Limits.of(settings),
        max_observations=settings.sta_max_observations_per_request,
    )


def _credential(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if not header:
        raise Unauthorized(f"writing needs an API token with the {WRITE_SCOPE} scope (Authorization: Bearer TOKEN)")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthorized("malformed Basic credentials") from None
        _, _, password = decoded.partition(":")
        if password:
            return password
    raise Unauthorized("send the API token as Authorization: Bearer TOKEN, or as the Basic password")


async def _require_writer(request: Request, session: AsyncSession) -> int:
    """The id of the request's API token, when it may write."""
    secret = _credential(request)
    token = await people.verify_api_token(session, secret, WRITE_SCOPE)
    if token is not None:
        return token.id
    for scope in people.API_SCOPES:
        if await people.verify_api_token(session, secret, scope) is not None:
            raise StaError(403, f"this API token does not have the {WRITE_SCOPE} scope")
    raise Unauthorized("the API token is not valid (unknown or revoked)")


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        raise StaError(400, "the request has no body")
    try:
        return load_json(raw)
    except ValueError as error:
        raise StaError(400, f"the body is not valid JSON: {error}") from None


async def _keyed_post(request: Request, session: AsyncSession, create: Any) -> Response:
    """A POST that creates, answered once per `Idempotency-Key`: a retry gets the kept answer back.

    `create(ctx, body)` does the work and returns (status, JSON text, Location or None)."""
    try:
        keyed, replay = await _writer_and_key(request, session)
        if replay is not None:
            return replay
        body = await _json_body(request)
        ctx = await _context(request, session, writer=True)
        answer = idempotency.Answer(*await create(ctx, body))
        if keyed is not None:
            hours = _settings(request).sta_idempotency_hours
            await idempotency.keep_answer(session, keyed, answer, timedelta(hours=hours))
    except (StaError, QueryError) as error:
        return await _failed(session, error)
    return _answer(answer, replayed=False)


async def _writer_and_key(
    request: Request, session: AsyncSession
) -> tuple[idempotency.Request | None, Response | None]:
    """Check the writer's token; then the request's `Idempotency-Key` (None without one) and, when this request was
    answered before, that answer to send again."""
    token_id = await _require_writer(request, session)
    raw = await request.body()
    keyed = idempotency.keyed_request(
        token_id, request.headers.get(idempotency.HEADER), request.method, request.url.path, raw
    )
    if keyed is not None:
        earlier = await idempotency.earlier_answer(session, keyed)
        if earlier is not None:
            return keyed, _answer(earlier, replayed=True)
    return keyed, None


def _answer(answer: idempotency.Answer, *, replayed: bool) -> Response:
    headers = {"Location": answer.location} if answer.location else {}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(answer.body, status_code=answer.status, media_type="application/json", headers=headers)


async def _failed(session: AsyncSession, error: Exception) -> JSONResponse:
    """Nothing of a failed request is kept: roll back before answering."""
    await session.rollback()
    if isinstance(error, QueryError):
        return error_response(400, str(error))
    assert isinstance(error, StaError)
    headers = {"WWW-Authenticate": AUTHENTICATE} if error.status == 401 else None
    return error_response(error.status, error.message, headers)


@router.get("", include_in_schema=False)
@router.get("/", summary="Service root: the entity sets and the server's conformance classes")
async def service_root(request: Request) -> JSONResponse:
    base = f"{_base_url(request)}{API_PATH}"
    settings = _settings(request)
    conformance = list(CONFORMANCE)
    server_settings: dict[str, Any] = {"conformance": conformance}
    if settings.mqtt_url:
        conformance.extend(MQTT_CONFORMANCE)
        for uri in MQTT_CONFORMANCE:
            server_settings[uri] = {"endpoints": [settings.mqtt_url]}
    return JSONResponse(
        {
            "value": [{"name": name, "url": f"{base}/{name}"} for name in ENTITY_SETS],
            "serverSettings": server_settings,
        }
    )


@router.post("/CreateObservations", summary="Data Array extension: many Observations in one request")
async def create_observations(request: Request) -> Response:
    """Stored in transactions of `sta_observations_per_transaction` Observations (5,000 on SQLite, the whole request on
    PostgreSQL unless set), each committed before the next
    starts, so that a large batch does not keep other writers out of SQLite for its whole length.

    With an `Idempotency-Key`, each transaction keeps its part of the answer: a retry after a failure or crash
    halfway resumes after the stored parts and answers every row once. Without one, a failure halfway is
    answered with the links of what was stored and an error for each row that was not."""
    settings = _settings(request)
    size = settings.observations_per_transaction
    lifetime = timedelta(hours=settings.sta_idempotency_hours)
    answered: list[str] = []
    async with _write_transaction(request) as session:
        try:
            keyed, replay = await _writer_and_key(request, session)
            if replay is not None:
                return replay
            body = await _json_body(request)
            ctx = await _context(request, session, writer=True)
            plan = await bulk.plan_observations(session, ctx, body)
            if len(plan) > size:
                await bulk.check_features(session, plan)  # a 400 now rather than in a later transaction
                if keyed is not None:
                    answered = await idempotency.stored_parts(session, keyed)
            answered += await _store_part(session, ctx, keyed, plan, answered, size, lifetime)
        except (StaError, QueryError) as error:
            return await _failed(session, error)
    while len(answered) < len(plan):
        try:
            async with _write_transaction(request) as session:
                part = await _store_part(session, ctx, keyed, plan, answered, size, lifetime)
        except StaError as error:
            return error_response(error.status, error.message)
        except Exception as error:  # the database failed halfway: say what is stored, whatever the cause
            log.exception("CreateObservations stopped after %d of %d rows", len(answered), len(plan))
            return _partly_stored(answered, len(plan), keyed is not None, error)
        answered += part
    return Response(fastjson.dumps(answered), status_code=201, media_type="application/json")


async def _store_part(
    session: AsyncSession,
    ctx: Context,
    keyed: idempotency.Request | None,
    plan: list[bulk.Outcome],
    answered: list[str],
    size: int,
    lifetime: timedelta,
) -> list[str]:
    """Store the next part of a plan (after the rows already answered) with, for a keyed request, its part of the
    answer, or the whole answer when it is the last part."""
    start = len(answered)
    rows = await bulk.store_chunk(session, ctx, plan[start : start + size])
    if keyed is not None:
        if start + len(rows) < len(plan):
            await idempotency.keep_part(session, keyed, start, rows, lifetime)
        else:
            whole = idempotency.Answer(201, fastjson.dumps([*answered, *rows]).decode(), None)
            await idempotency.keep_answer(session, keyed, whole, lifetime)
            if start:
                await idempotency.forget_parts(session, keyed)
    return rows


def _partly_stored(answered: list[str], total: int, keyed: bool, error: Exception) -> Response:
    reason = str(getattr(error, "orig", None) or error) or type(error).__name__
    if keyed:
        return error_response(
            503,
            f"{len(answered):,} of {total:,} rows were stored before the database failed ({reason}): send the same "
            f"request with the same {idempotency.HEADER} to store the rest",
        )
    rows = [*answered, *[f"error: not stored, the database failed ({reason})"] * (total - len(answered))]
    return Response(fastjson.dumps(rows), status_code=201, media_type="application/json")


@contextlib.asynccontextmanager
async def _write_transaction(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction, committed on exit (rolled back if it raised). On SQLite it holds the process's write lock
    for this transaction only (`get_session` holds it for a whole request), so writers queued on the lock get
    their turn between two transactions of a large batch."""
    state = request.app.state
    async with state.sessionmaker() as session, sqlite_write_turn(state, session):
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


@router.post("/$batch", summary="Batch: many requests in one (multipart/mixed with change sets, or JSON)")
async def batch_requests(request: Request, session: DbSession) -> Response:
    """Parts run in order in this request's transaction, each unit (a request, a change set, an atomicity group)
    all or nothing; the batch's credentials hold for every part. See `sensing.batch`."""
    settings = _settings(request)
    limits = batch_format.BatchLimits(settings.sta_batch_max_requests, settings.sta_batch_max_bytes)
    content_type = request.headers.get("content-type", "")
    kind = batch_format.media_type(content_type)
    try:
        raw = await _bounded_body(request, limits.bytes)
        if kind == batch_format.MULTIPART:
            units = batch_format.read_multipart(content_type, raw, limits)
        elif kind == "application/json":
            units = batch_format.read_json(raw, limits)
        else:
            raise StaError(415, f"a $batch is {batch_format.MULTIPART} or application/json, not {kind or 'untyped'}")
        writes = any(part.writes for unit in units for part in unit.parts)
        if writes:
            await _require_writer(request, session)
        run = batch.Batch(
            reader=await _context(request, session),
            writer=await _context(request, session, writer=True) if writes else None,
            query_limits=_query_limits(settings),
            answer_limits=service.AnswerLimits(settings.sta_max_entities, settings.sta_max_response_bytes),
            continue_on_error=_continue_on_error(request),
            read_gate=lambda: _read_slots(request),
        )
        outcomes = await batch.run(session, run, units)
    except (StaError, QueryError) as error:
        return await _failed(session, error)
    except Busy as busy:
        await session.rollback()
        return error_response(503, str(busy), busy.headers)
    headers = {"Preference-Applied": "continue-on-error"} if run.continue_on_error else {}
    if kind == batch_format.MULTIPART:
        body, media_type = batch_format.write_multipart(outcomes)
        return Response(body, media_type=media_type, headers=headers)
    return Response(fastjson.dumps(batch_format.write_json(outcomes)), media_type="application/json", headers=headers)


async def _bounded_body(request: Request, limit: int) -> bytes:
    too_large = StaError(413, f"a $batch body is at most {limit:,} bytes: send several batches")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _continue_on_error(request: Request) -> bool:
    """The `Prefer: continue-on-error` (or `odata.continue-on-error`) preference of OData."""
    for preference in request.headers.get("prefer", "").split(","):
        name, _, value = preference.strip().partition("=")
        if name.strip().lower() in ("continue-on-error", "odata.continue-on-error"):
            return value.strip().lower() in ("", "true")
    return False


@router.get("/{path:path}", summary="Read entities, collections, properties and $value")
async def get_resource(path: str, request: Request, session: DbSession) -> Response:
    try:
        ctx = await _context(request, session)
        params = dict(request.query_params)
        settings = _settings(request)
        options = parse_query_options(params, _query_limits(settings))
        answer_limits = service.AnswerLimits(settings.sta_max_entities, settings.sta_max_response_bytes)
        # One of the process's `sta_max_concurrent_reads` slots: readings past them wait here, holding neither a
        # database connection nor the event loop, for a bounded time (then 503 with Retry-After), so that a
        # crowd of heavy reads leaves room for every other request.
        async with _read_slots(request):
            result = await service.read(session, ctx, path, options, params, answer_limits)
            if result is service.NO_CONTENT:
                return Response(status_code=204)
            if isinstance(result, service.RawValue):
                return PlainTextResponse(result.text())
            body = fastjson.dumps(result)
        if len(body) > answer_limits.bytes:  # the budget estimated the size as it went; this is the exact one
            raise answer_limits.too_large(len(body))
    except (StaError, QueryError) as error:
        return await _failed(session, error)
    except Busy as busy:
        await session.rollback()
        return error_response(503, str(busy), busy.headers)
    return Response(body, media_type="application/json")


def _read_slots(request: Request) -> Gate:
    gates: AdmissionGates = request.app.state.admission
    return gates.sta_reads


def _query_limits(settings: Settings) -> QueryLimits:
    return QueryLimits(
        option_length=settings.sta_max_option_length,
        expression_terms=settings.sta_max_expression_terms,
        expression_depth=settings.sta_max_expression_depth,
        expand_depth=settings.sta_max_expand_depth,
        expand_items=settings.sta_max_expand_items,
    )


@router.post("/{path:path}", summary="Create an entity (deep insert allowed), or link one (.../$ref)", status_code=201)
async def post_resource(path: str, request: Request, session: DbSession) -> Response:
    if service.is_ref(path):
        return await _link(path, request, session)

    async def create(ctx: Context, body: Any) -> tuple[int, str, str]:
        entity_set, entity_id = await service.create_at(session, ctx, path, body)
        document = await service.created_document(session, ctx, entity_set, entity_id)
        return 201, fastjson.dumps(document).decode(), self_link(ctx.base_url, entity_set, entity_id)

    return await _keyed_post(request, session, create)


@router.patch("/{path:path}", summary="Update: JSON merge, or JSON Patch (application/json-patch+json)")
async def patch_resource(path: str, request: Request, session: DbSession) -> Response:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    mode = "json-patch" if content_type == "application/json-patch+json" else "merge"
    return await _update(path, request, session, mode)


@router.put("/{path:path}", summary="Replace an entity's properties, or change a link (.../$ref)")
async def put_resource(path: str, request: Request, session: DbSession) -> Response:
    if service.is_ref(path):
        return await _link(path, request, session)
    return await _update(path, request, session, "replace")


async def _update(path: str, request: Request, session: AsyncSession, mode: str) -> Response:
    try:
        await _require_writer(request, session)
        body = await _json_body(request)
        ctx = await _context(request, session, writer=True)
        document = await service.update_entity(session, ctx, path, body, mode=mode)
    except (StaError, QueryError) as error:
        return await _failed(session, error)
    return JSONResponse(document)


async def _link(path: str, request: Request, session: AsyncSession) -> Response:
    """POST, PUT or DELETE at `.../$ref`: link or unlink (204 No Content)."""
    try:
        await _require_writer(request, session)
        body = await _json_body(request) if request.method != "DELETE" else None
        ctx = await _context(request, session, writer=True)
        await service.write_link(session, ctx, request.method, path, body, dict(request.query_params))
    except (StaError, QueryError) as error:
        return await _failed(session, error)
    return Response(status_code=204)


@router.delete("/{path:path}", summary="Delete an entity and what depends on it, or a link (.../$ref)")
async def delete_resource(path: str, request: Request, session: DbSession) -> Response:
    if service.is_ref(path):
        return await _link(path, request, session)
    try:
        await _require_writer(request, session)
        ctx = await _context(request, session, writer=True)
        await service.delete_entity(session, ctx, path)
    except (StaError, QueryError) as error:
        return await _failed(session, error)
    return Response(status_code=200)
