"""The Open311 GeoReport v2 API (http://wiki.open311.org/GeoReport_v2), read and write, under /open311/v2/.

Services are report categories, their attributes the categories' questions, service requests the reports.
Every resource answers in JSON or XML by its extension; errors use the spec's own format
(`[{"code": ..., "description": ...}]`, `<errors><error>...`) in the requested one, which is why this
router answers its errors itself instead of raising them to the app's handlers.

Reading is open to all; posting needs an api_key: an API token with the `open311` scope
(`citoyen token create --name NAME --scope open311`), rate limited per key. Nothing about who filed a
report ever leaves through this API: the contact details a client posts are kept apart (ReportContact).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from citoyen import throttle
from citoyen.addresses import base_url
from citoyen.config import SUPPORTED_LOCALES, Settings
from citoyen.db import DbSession, utcnow
from citoyen.errors import Refusal
from citoyen.people import service as people
from citoyen.reports import open311_format as formats
from citoyen.reports import service as reports
from citoyen.reports.models import Category, ReportStatus
from citoyen.reports.photos import MAX_PHOTO_BYTES, MAX_PHOTOS, prepare_photos
from citoyen.reports.service import ReportError
from citoyen.web.params import has_forbidden_characters

PREFIX = "/open311/"
router = APIRouter(prefix="/open311/v2", tags=["open311"])

# The spec's response volume: the last 90 days when no dates are given, and at most 1000 requests.
DEFAULT_DAYS = 90
MAX_REQUESTS = 1000
MAX_MEDIA_URL = 500
# The multipart field some mobile apps send a photo file in.
MEDIA_FILE_FIELD = "media"
MAX_ID = 2**31 - 1  # report ids are 32-bit integers: a longer number names no request

OPEN_STATUSES = [ReportStatus.OPEN, ReportStatus.ACKNOWLEDGED, ReportStatus.IN_PROGRESS]
# attribute[code]=value, attribute[code][]=value (and a repeated attribute[code] for several values).
ATTRIBUTE_FIELD = re.compile(r"attribute\[([^\[\]]+)\](\[\])?")
# A "+" of a time zone offset sent unencoded in a query string arrives as a space.
SPACED_OFFSET = re.compile(r" (\d\d(:?\d\d)?)$")


class Open311Error(Exception):
    """A refused request, answered in the spec's error format with `code` as the HTTP status."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def _error_response(fmt: str, error: Open311Error | Refusal) -> Response:
    if isinstance(error, Open311Error):
        code, description = error.code, error.description
    else:  # a rule's refusal (a report's, an invalid e-mail address): its kind's status
        code, description = error.status_code, str(error)
    return formats.errors(fmt, code, description, {"Retry-After": "60"} if code == 429 else None)


REFUSED = (Open311Error, Refusal)


def refused(request: Request, error: Refusal) -> Response:
    """A refusal no route caught, in the spec's format (the app's one refusal handler sends it here)."""
    return _error_response("xml" if request.url.path.endswith(".xml") else "json", error)


def http_error(request: Request, error: StarletteHTTPException) -> Response:
    """Errors raised before a route answers (a path without a format, a wrong method) in the spec's format
    too: XML when the path asks for it, JSON otherwise."""
    fmt = "xml" if request.url.path.endswith(".xml") else "json"
    if error.status_code == 404:
        description = "Not found: resources end in .json or .xml; see /open311/v2/discovery.json."
    elif error.status_code == 405:
        description = f"Method {request.method} is not allowed here."
    else:
        description = str(error.detail)
    response = formats.errors(fmt, error.status_code, description)
    response.headers.update(error.headers or {})  # e.g. Allow, with a 405
    return response


def _format(fmt: str) -> str:
    if fmt not in formats.FORMATS:
        raise Open311Error(404, f"Unknown format {fmt}: use json or xml.")
    return fmt


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _check_jurisdiction(settings: Settings, jurisdiction_id: str | None) -> None:
    """One jurisdiction is served: its id may be omitted, but another one is not found."""
    expected = settings.open311_jurisdiction_id
    if expected and jurisdiction_id and jurisdiction_id.strip() != expected:
        raise Open311Error(404, f"jurisdiction_id not found: {jurisdiction_id}.")


def _locale(request: Request, locale: str | None) -> str:
    """The `locale` parameter when it names a language we speak, else the request's (Accept-Language)."""
    language = (locale or "").strip().lower().replace("_", "-").split("-")[0]
    if language in SUPPORTED_LOCALES:
        return language
    chosen: str = request.state.locale
    return chosen


def _written_in(request: Request, locale: str) -> str:
    """The language a POSTed description is written in: its `locale` field ("fr", "en", "fr-FR"...), else the
    request's (Accept-Language, else the city's); a language the platform does not speak is refused."""
    if not locale:
        return _locale(request, None)
    language = locale.lower().replace("_", "-").split("-")[0]
    if language not in SUPPORTED_LOCALES:
        raise Open311Error(400, f"locale must be one of {', '.join(sorted(SUPPORTED_LOCALES))}, not {locale!r}.")
    return language


def _moment(name: str, value: str | None) -> datetime | None:
    text = (value or "").strip()
    if not text:
        return None
    text = SPACED_OFFSET.sub(r"+\1", text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Open311Error(400, f"{name} must be an ISO 8601 date and time, e.g. 2026-11-25T14:03:00Z.") from None
    if moment.tzinfo is None:
        raise Open311Error(400, f"{name} must include a time zone (Z or an offset such as +01:00).")
    return moment


def _request_id(text: str) -> int | None:
    """A request id, or None when the text cannot be one."""
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_ID:
        return None
    return int(text)


def _split(values: list[str] | None) -> list[str]:
    """Comma-delimited and/or repeated parameters, as the spec allows, without empties or repeats."""
    return list(dict.fromkeys(part.strip() for value in values or [] for part in value.split(",") if part.strip()))


def _filters(
    service_request_id: list[str] | None,
    service_code: list[str] | None,
    start_date: str | None,
    end_date: str | None,
    status: list[str] | None,
) -> reports.ReportFilters:
    ids = _split(service_request_id)
    if ids:  # the spec: service_request_id overrides every other argument
        if not all(item.isascii() and item.isdigit() for item in ids):
            raise Open311Error(400, "service_request_id must be a comma-separated list of request ids.")
        return reports.ReportFilters(ids=[number for item in ids if (number := _request_id(item)) is not None])
    start, end = _moment("start_date", start_date), _moment("end_date", end_date)
    if start is not None and end is not None and end < start:
        raise Open311Error(400, "end_date is before start_date.")
    if start is None:
        try:
            start = (end or utcnow()) - timedelta(days=DEFAULT_DAYS)
        except OverflowError:
            raise Open311Error(400, "end_date is too early.") from None
    statuses = {item.lower() for item in _split(status)}
    if statuses - {"open", "closed"}:
        raise Open311Error(400, "status must be open, closed, or both comma-separated.")
    chosen: list[ReportStatus] | None = None
    if statuses == {"open"}:
        chosen = OPEN_STATUSES
    elif statuses == {"closed"}:
        chosen = [ReportStatus.CLOSED]
    return reports.ReportFilters(category_codes=_split(service_code) or None, statuses=chosen, start=start, end=end)


async def _service(session: AsyncSession, code: str) -> Category:
    """An active service (category), or the spec's 404."""
    try:
        category = await reports.get_category(session, code)
    except ReportError:
        category = None
    if category is None or not category.active:
        raise Open311Error(404, f"Unknown service_code: {code}.")
    return category


async def _request_items(
    request: Request, session: AsyncSession, filters: reports.ReportFilters, locale: str
) -> list[Any]:
    """The requests matching `filters`, newest first, at most MAX_REQUESTS, as the spec's items."""
    catalog = await _catalog(request, session)
    if filters.category_codes is not None:  # codes become ids here, so the query needs no join
        known = [catalog.by_code[code].id for code in filters.category_codes if code in catalog.by_code]
        filters.category_codes, filters.category_ids = None, known
    found = await reports.request_rows(session, filters, MAX_REQUESTS)
    agencies = await people.department_names(session) if found else {}
    base = base_url(_settings(request), request)
    return formats.service_requests(found, catalog.by_id, agencies, base, locale)


async def _catalog(request: Request, session: AsyncSession) -> reports.Catalog:
    cache: reports.CatalogCache = request.app.state.report_catalog
    return await cache.get(session)


@dataclass
class _Answer:
    expires: float
    version: tuple[Any, ...]
    body: bytes
    media_type: str


class AnswerCache:
    """This process's recent answers to `GET requests`, by query. One is served again only while it is
    younger than `seconds` and no report was filed or updated and the catalog did not change since (one
    query of two index look-ups checks that): partners polling the same feed, or a burst of identical
    queries, cost one search a second instead of one each. A department's new name (agency_responsible)
    shows within `seconds`. `seconds` = 0 turns it off."""

    MAX_ENTRIES = 512

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._answers: dict[str, _Answer] = {}

    def get(self, key: str, version: tuple[Any, ...]) -> Response | None:
        answer = self._answers.get(key)
        if answer is None or answer.version != version or answer.expires < time.monotonic():
            return None
        return Response(answer.body, media_type=answer.media_type)

    def put(self, key: str, version: tuple[Any, ...], response: Response) -> None:
        if response.status_code != 200 or self.seconds <= 0:
            return
        if len(self._answers) >= self.MAX_ENTRIES:
            now = time.monotonic()
            self._answers = {k: a for k, a in self._answers.items() if a.expires >= now}
            while len(self._answers) >= self.MAX_ENTRIES:
                del self._answers[next(iter(self._answers))]
        media_type = response.media_type or formats.JSON_TYPE
        self._answers[key] = _Answer(time.monotonic() + self.seconds, version, bytes(response.body), media_type)


# --- OpenAPI ----------------------------------------------------------------------------------

Format = Annotated[str, Path(description="The response format: `json` or `xml`.", examples=["json"])]
Jurisdiction = Annotated[
    str | None,
    Query(description="Accepted and ignored: this server serves one jurisdiction (another id is not found)."),
]
Locale = Annotated[
    str | None, Query(description="`en` or `fr` for names and questions; defaults to the Accept-Language header.")
]


def _responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    described = {
        400: "Invalid request (spec error format: JSON list or `<errors>`).",
        403: "Missing, wrong or revoked api_key, or a key without the open311 scope.",
        404: "Unknown format, service, request, token or jurisdiction.",
        429: "Too many requests for this api_key in the current minute.",
    }
    content: dict[str, Any] = {"application/json": {}, "text/xml": {}}
    answers: dict[int | str, dict[str, Any]] = {200: {"description": "The resource.", "content": content}}
    answers.update({code: {"description": described[code], "content": content} for code in codes})
    return answers


FORMATS_DOC = "Answers in JSON (`.json`) or XML (`.xml`)."

# --- the endpoints ----------------------------------------------------------------------------


@router.get(
    "/discovery.{fmt}",
    summary="Open311 service discovery",
    description="Where this GeoReport v2 endpoint lives, its formats and how to get an api_key. " + FORMATS_DOC,
    responses=_responses(404),
)
async def discovery(request: Request, fmt: Format) -> Response:
    try:
        settings = _settings(request)
        return formats.document(_format(fmt), "discovery", formats.discovery(settings, base_url(settings, request)))
    except REFUSED as error:
        return _error_response(fmt, error)


@router.get(
    "/services.{fmt}",
    summary="GET Service List",
    description="Every active report category as an Open311 service; `metadata` is true when it has questions "
    "(see the service definition). " + FORMATS_DOC,
    responses=_responses(404),
)
async def service_list(
    request: Request, session: DbSession, fmt: Format, jurisdiction_id: Jurisdiction = None, locale: Locale = None
) -> Response:
    try:
        kind = _format(fmt)
        _check_jurisdiction(_settings(request), jurisdiction_id)
        language = _locale(request, locale)
        categories = await reports.list_categories(session)
        questions = await reports.attributes_of(session, [category.id for category in categories])
        items = [formats.service(category, bool(questions[category.id]), language) for category in categories]
        return formats.document(kind, "services", items)
    except REFUSED as error:
        return _error_response(fmt, error)


@router.get(
    "/services/{service_code}.{fmt}",
    summary="GET Service Definition",
    description="The questions (attributes) asked for a service, in order, with the values of list questions. "
    + FORMATS_DOC,
    responses=_responses(404),
)
async def service_definition(
    request: Request,
    session: DbSession,
    service_code: str,
    fmt: Format,
    jurisdiction_id: Jurisdiction = None,
    locale: Locale = None,
) -> Response:
    try:
        kind = _format(fmt)
        _check_jurisdiction(_settings(request), jurisdiction_id)
        category = await _service(session, service_code)
        questions = (await reports.attributes_of(session, [category.id]))[category.id]
        definition = formats.service_definition(category, questions, _locale(request, locale))
        return formats.document(kind, "service_definition", definition)
    except REFUSED as error:
        return _error_response(fmt, error)


@router.get(
    "/requests.{fmt}",
    summary="GET Service Requests",
    description=(
        "Reports, newest first, at most 1000. Without dates: the last 90 days (the 90 days before `end_date` "
        "when only it is given). `service_request_id` overrides every other filter. Dates are ISO 8601 with a "
        "time zone. Nothing about who filed a report is ever returned. " + FORMATS_DOC
    ),
    responses=_responses(400, 404),
)
async def list_requests(
    request: Request,
    session: DbSession,
    fmt: Format,
    service_request_id: Annotated[
        list[str] | None, Query(description="Comma-separated request ids; overrides the other filters.")
    ] = None,
    service_code: Annotated[list[str] | None, Query(description="Comma-separated service codes.")] = None,
    start_date: Annotated[
        str | None, Query(description="Earliest requested_datetime, e.g. 2026-11-01T00:00:00Z.")
    ] = None,
    end_date: Annotated[str | None, Query(description="Latest requested_datetime, e.g. 2026-11-30T00:00:00Z.")] = None,
    status: Annotated[list[str] | None, Query(description="`open`, `closed`, or `open,closed`.")] = None,
    jurisdiction_id: Jurisdiction = None,
    locale: Locale = None,
) -> Response:
    try:
        kind = _format(fmt)
        _check_jurisdiction(_settings(request), jurisdiction_id)
        language = _locale(request, locale)
        cache: AnswerCache = request.app.state.open311_answers
        # The answer's links start with the address it was asked at (citoyen.addresses): part of the key.
        key = f"{kind} {language} {base_url(_settings(request), request)} {request.url.query}"
        version = await reports.data_version(session) if cache.seconds > 0 else ()
        cached = cache.get(key, version)
        if cached is not None:
            return cached
        filters = _filters(service_request_id, service_code, start_date, end_date, status)
        items = await _request_items(request, session, filters, language)
        response = formats.document(kind, "service_requests", items)
        cache.put(key, version, response)
        return response
    except REFUSED as error:
        return _error_response(fmt, error)


POST_FIELDS = {
    "api_key": "Required: an API token with the open311 scope.",
    "jurisdiction_id": "Accepted (one jurisdiction is served).",
    "service_code": "Required: the service (category) code.",
    "lat": "WGS84 latitude; with long, or give address_string.",
    "long": "WGS84 longitude; with lat, or give address_string.",
    "address_string": "The address; when lat/long are not given, placed at the address (the city's imported "
    "addresses, or its geocoding API), else at the neighbourhood or postcode it names; 400 when none is found.",
    "address_id": "The city's address id, kept with the request.",
    "email": "The reporter's e-mail (kept private; told of updates).",
    "device_id": "Kept private.",
    "account_id": "Ignored.",
    "first_name": "Kept private.",
    "last_name": "Kept private.",
    "phone": "Kept private.",
    "description": "At most 4000 characters.",
    "locale": "The language the description is written in, `fr` or `en` (as for GET services); by default the "
    "request's Accept-Language, else the city's language. Pages in the other language say so.",
    "media_url": "An http(s) URL of a photo or other media.",
    "attribute[code]": "An answer to the service's question `code`; repeat it, or use attribute[code][], "
    "for several values of a multivaluelist. Codes the service does not ask are ignored.",
}
POST_SCHEMA = {
    "type": "object",
    "required": ["api_key", "service_code"],
    "properties": {name: {"type": "string", "description": text} for name, text in POST_FIELDS.items()},
}


@router.post(
    "/requests.{fmt}",
    summary="POST Service Request",
    description=(
        "File a report, form-encoded (`application/x-www-form-urlencoded`, or multipart) as the spec describes. "
        "A photo may come as `media_url` or as a `media` file (multipart; re-encoded without its metadata, at "
        "most 3). Answers with a list of one element: `service_request_id`, `service_notice` and `account_id` "
        "(the id is known at once, so no `token`, as the spec says). " + FORMATS_DOC
    ),
    # 200 rather than 201: the spec's example answers 200 and some clients only accept that.
    status_code=200,
    responses=_responses(400, 403, 404, 429),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {"schema": POST_SCHEMA},
                "multipart/form-data": {"schema": POST_SCHEMA},
            },
        }
    },
)
async def create_request(request: Request, session: DbSession, fmt: Format) -> Response:
    try:
        kind = _format(fmt)
        settings = _settings(request)
        fields: dict[str, str] = {}
        answers: dict[str, list[str]] = {}
        uploads: list[UploadFile] = []
        for key, value in (await request.form()).multi_items():
            if not isinstance(value, str):
                # Several mobile apps send the photo itself as a `media` file: it is taken as the web form's
                # photos are (re-encoded without metadata); any other file is refused, never dropped.
                if key != MEDIA_FILE_FIELD:
                    raise Open311Error(400, f"Only a photo sent as '{MEDIA_FILE_FIELD}' may be a file, not {key!r}.")
                if value.filename or value.size:
                    uploads.append(value)
                continue
            attribute = ATTRIBUTE_FIELD.fullmatch(key)
            if attribute:
                answers.setdefault(attribute.group(1), []).append(value)
            else:
                fields.setdefault(key, value)

        def field(name: str) -> str:
            return (fields.get(name) or request.query_params.get(name) or "").strip()

        if not field("api_key"):
            raise Open311Error(403, "api_key is required.")
        token = await request.app.state.api_tokens.verify(session, field("api_key"), "open311")
        if token is None:
            raise Open311Error(403, "api_key is not valid.")
        limit = settings.open311_requests_per_minute
        rate_key, window = f"open311:{token.id}", timedelta(minutes=1)
        too_many = Open311Error(429, f"Too many requests: at most {limit} a minute for this api_key.")
        # Read first to refuse early; the use is recorded last (on one of the key's counter rows), so the row
        # stays locked only until this request's commit and a partner's requests don't queue on it.
        gate: throttle.RateGate = request.app.state.open311_rate_gate
        if await gate.over_limit(session, rate_key, limit, window):
            raise too_many
        # No savepoint is needed for a refused report to leave nothing behind: create_report checks
        # everything before it writes. The request is counted either way.
        try:
            _check_jurisdiction(settings, field("jurisdiction_id"))
            catalog = await _catalog(request, session)
            new = _new_report(catalog, field, answers)
            new.locale = _written_in(request, field("locale"))
            new.photos = await run_in_threadpool(prepare_photos, await _media_files(uploads))
            index = request.app.state.territory_index
            gazetteer = request.app.state.gazetteer
            report = await reports.create_report(session, index, new, catalog=catalog, gazetteer=gazetteer)
        except REFUSED:
            await gate.record(session, rate_key, window)
            raise
        await gate.record(session, rate_key, window)
        return formats.document(kind, "service_requests", [formats.created(report)])
    except REFUSED as error:
        return _error_response(fmt, error)


async def _media_files(uploads: list[UploadFile]) -> list[bytes]:
    if len(uploads) > MAX_PHOTOS:
        raise Open311Error(400, f"At most {MAX_PHOTOS} photos per request.")
    # One byte more than allowed is enough to refuse a photo that is too big.
    return [await upload.read(MAX_PHOTO_BYTES + 1) for upload in uploads]


def _new_report(
    catalog: reports.Catalog, field: Callable[[str], str], answers: dict[str, list[str]]
) -> reports.NewReport:
    """The report a POST describes, checked for what only Open311 sends (the rest is create_report's)."""
    typed = [field(name) for name in POST_FIELDS] + [value for values in answers.values() for value in values]
    if any(has_forbidden_characters(text) for text in typed):  # PostgreSQL refuses NUL in text
        raise Open311Error(400, "Fields must not contain control characters (such as NUL).")
    code = field("service_code")
    if not code:
        raise Open311Error(400, "service_code is required.")
    category = catalog.by_code.get(code)
    if category is None or not category.active:
        raise Open311Error(404, f"Unknown service_code: {code}.")
    lat_text, lon_text = field("lat"), field("long")
    lat = lon = None
    if lat_text or lon_text:
        if not (lat_text and lon_text):
            raise Open311Error(400, "lat and long must be sent together.")
        try:
            lat, lon = float(lat_text), float(lon_text)
        except ValueError:
            raise Open311Error(400, "lat and long must be numbers (WGS84 degrees).") from None
    elif not field("address_string"):
        raise Open311Error(400, "A location is required: lat and long, or address_string.")
    media_url = field("media_url")
    if media_url and (not media_url.lower().startswith(("http://", "https://")) or len(media_url) > MAX_MEDIA_URL):
        raise Open311Error(400, f"media_url must be an http(s) URL of at most {MAX_MEDIA_URL} characters.")
    # Clients such as FixMyStreet add attributes of their own (fixmystreet_id, easting, ...): only the
    # service's own questions are answers; the others are ignored rather than refused.
    asked = {question.code for question in catalog.questions.get(category.id, [])}
    return reports.NewReport(
        category_code=code,
        lon=lon,
        lat=lat,
        address=field("address_string"),
        address_id=field("address_id"),
        description=field("description"),
        answers={code: values for code, values in answers.items() if code in asked},
        email=field("email"),
        first_name=field("first_name"),
        last_name=field("last_name"),
        phone=field("phone"),
        device_id=field("device_id"),
        media_url=media_url,
        source="open311",
    )


@router.get(
    "/requests/{service_request_id}.{fmt}",
    summary="GET Service Request",
    description="One report, as a list of one request (the spec's form). " + FORMATS_DOC,
    responses=_responses(404),
)
async def get_request(
    request: Request,
    session: DbSession,
    service_request_id: str,
    fmt: Format,
    jurisdiction_id: Jurisdiction = None,
    locale: Locale = None,
) -> Response:
    try:
        kind = _format(fmt)
        _check_jurisdiction(_settings(request), jurisdiction_id)
        report_id = _request_id(service_request_id)
        filters = reports.ReportFilters(ids=[report_id if report_id is not None else 0])
        items = await _request_items(request, session, filters, _locale(request, locale))
        if not items:
            raise Open311Error(404, f"Unknown service_request_id: {service_request_id}.")
        return formats.document(kind, "service_requests", items)
    except REFUSED as error:
        return _error_response(fmt, error)


@router.get(
    "/tokens/{token}.{fmt}",
    summary="GET service_request_id from a token",
    description="The request a token (returned by POST) stands for. " + FORMATS_DOC,
    responses=_responses(404),
)
async def get_token(
    request: Request, session: DbSession, token: str, fmt: Format, jurisdiction_id: Jurisdiction = None
) -> Response:
    try:
        kind = _format(fmt)
        _check_jurisdiction(_settings(request), jurisdiction_id)
        report = await reports.get_report_by_token(session, token)
        return formats.document(kind, "service_requests", [formats.token(report)])
    except REFUSED as error:
        return _error_response(fmt, error)
