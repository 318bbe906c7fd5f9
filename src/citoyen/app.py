"""The application factory: one FastAPI app per Settings, with each domain's routers."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from citoyen import throttle
from citoyen.alerts import api as alerts_api
from citoyen.alerts import pages as alerts_pages
from citoyen.alerts import service as alerts_service
from citoyen.buildings import pages as buildings_pages
from citoyen.buildings import service as buildings_service
from citoyen.config import Settings
from citoyen.db import is_statement_timeout, make_sessionmaker, without_statement_timeout
from citoyen.engines import make_app_engine
from citoyen.errors import Kind, Refusal
from citoyen.events import EventHub
from citoyen.feed import pages as feed_pages
from citoyen.feed import service as feed_service
from citoyen.housekeeping import Housekeeping, run_periodically
from citoyen.i18n import LOCALE_COOKIE, negotiate_locale
from citoyen.indicators import api as indicators_api
from citoyen.indicators import building_pages as indicators_building_pages
from citoyen.indicators import pages as indicators_pages
from citoyen.indicators import service as indicators_service
from citoyen.indicators import tasks as indicators_tasks
from citoyen.migrations import upgrade_engine
from citoyen.mobility import api as mobility_api
from citoyen.mobility import flows as mobility_flows
from citoyen.mobility import indicator as mobility_indicator
from citoyen.mobility import pages as mobility_pages
from citoyen.mobility import service as mobility_service
from citoyen.notifications import pages as notifications_pages
from citoyen.notifications import service as notifications_service
from citoyen.opendata import ckan_api as opendata_ckan_api
from citoyen.opendata import dcat_routes as opendata_dcat
from citoyen.opendata import downloads as opendata_downloads
from citoyen.opendata import pages as opendata_pages
from citoyen.opendata import tasks as opendata_tasks
from citoyen.opendata import upkeep as opendata_upkeep
from citoyen.opinions import pages as opinions_pages
from citoyen.opinions import service as opinions_service
from citoyen.opinions import tasks as opinions_tasks
from citoyen.overviews import pages as overviews_pages
from citoyen.participation import admin_pages as participation_admin_pages
from citoyen.participation import api as participation_api
from citoyen.participation import pages as participation_pages
from citoyen.participation import service as participation_service
from citoyen.participation.budgets import pages as budgets_pages
from citoyen.participation.budgets import service as budgets_service
from citoyen.participation.debate import api as debate_api
from citoyen.participation.debate import pages as debate_pages
from citoyen.participation.debate import service as debate_service
from citoyen.participation.follows import pages as follows_pages
from citoyen.participation.follows import service as follows_service
from citoyen.participation.follows import tasks as follows_tasks
from citoyen.participation.moderation import pages as moderation_pages
from citoyen.participation.moderation import service as moderation_service
from citoyen.participation.surveys import pages as surveys_pages
from citoyen.participation.surveys import service as surveys_service
from citoyen.people import pages as people_pages
from citoyen.people import service as people_service
from citoyen.people import tasks as people_tasks
from citoyen.people.registry import PersonalDataRegistry
from citoyen.projects import api as projects_api
from citoyen.projects import pages as projects_pages
from citoyen.projects import service as projects_service
from citoyen.projects import staff_pages as projects_staff_pages
from citoyen.reports import admin_pages as reports_admin_pages
from citoyen.reports import api as reports_api
from citoyen.reports import open311 as reports_open311
from citoyen.reports import pages as reports_pages
from citoyen.reports import service as reports_service
from citoyen.reports import staff_pages as reports_staff_pages
from citoyen.sensing import admin_pages as sensing_admin_pages
from citoyen.sensing import api as sensing_api
from citoyen.sensing import mqtt as sensing_mqtt
from citoyen.sensing import pages as sensing_pages
from citoyen.sensing import service as sensing_service
from citoyen.sensing import tasks as sensing_tasks
from citoyen.sensing.events import SensingEventBus
from citoyen.territory import api as territory_api
from citoyen.territory import pages as territory_pages
from citoyen.territory.service import Gazetteer, StreetIndexCache, TerritoryIndexCache
from citoyen.verification import pages as verification_pages
from citoyen.verification import service as verification_service
from citoyen.web import pages as web_pages
from citoyen.web.admission import Admission, AdmissionGates
from citoyen.web.headers import SecurityHeaders
from citoyen.web.proxies import ForwardedHeaders
from citoyen.web.security import LoginRequired, ensure_csrf_token, signed_out
from citoyen.web.templating import locale_of, make_templates, render

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "web" / "static"
# Paths answered in JSON (machines); everything else gets HTML pages.
API_PREFIXES = ("/api/", "/healthz", "/sta/", "/open311/")


def build_personal_data_registry() -> PersonalDataRegistry:
    """Each domain that stores personal data adds its exporter and eraser here."""
    registry = PersonalDataRegistry()
    people_service.register_personal_data(registry)
    notifications_service.register_personal_data(registry)
    alerts_service.register_personal_data(registry)
    reports_service.register_personal_data(registry)
    sensing_service.register_personal_data(registry)
    participation_service.register_personal_data(registry)
    debate_service.register_personal_data(registry)
    moderation_service.register_personal_data(registry)
    follows_service.register_personal_data(registry)
    verification_service.register_personal_data(registry)
    budgets_service.register_personal_data(registry)
    surveys_service.register_personal_data(registry)
    opinions_service.register_personal_data(registry)
    projects_service.register_personal_data(registry)
    feed_service.register_personal_data(registry)
    buildings_service.register_personal_data(registry)
    mobility_service.register_personal_data(registry)
    return registry


def build_event_hub() -> EventHub:
    """Each domain that hears another's events subscribes here (citoyen.events); the live sensor pages
    listen while a browser reads them."""
    hub = EventHub()
    follows_service.register_subscribers(hub)
    indicators_service.register_subscribers(hub)
    projects_service.register_subscribers(hub)
    feed_service.register_subscribers(hub)
    return hub


# Work that runs beside a served app for its lifetime, given the app's state (the demo's sensor feed).
Companion = Callable[[Any], AbstractAsyncContextManager[None]]


def build_housekeeping(settings: Settings) -> Housekeeping:
    """Each domain's periodic upkeep, run on a timer by every served process (see citoyen.housekeeping)."""
    housekeeping = Housekeeping()
    housekeeping.add("throttle: spent rate counters", throttle.prune)
    people_tasks.register_housekeeping(housekeeping, settings)
    sensing_tasks.register_housekeeping(housekeeping)
    indicators_service.register_housekeeping(housekeeping, simulated=settings.demo_mode)
    alerts_service.register_housekeeping(housekeeping, settings)
    opendata_tasks.register_housekeeping(housekeeping, settings)
    opendata_upkeep.register_housekeeping(housekeeping, settings)
    mobility_service.register_housekeeping(housekeeping)
    mobility_indicator.register_housekeeping(housekeeping)
    return housekeeping


SESSION_COOKIE = "citoyen_session"


class LanguageMiddleware:
    """Chooses the request's language (cookie, then Accept-Language) and gives pages a CSRF token.

    Plain ASGI rather than `@app.middleware("http")`, whose wrapping of every response in streams cost
    about a millisecond a request. APIs get no CSRF token: they have no forms, and a token would make the
    session (and its cookie) for every API client."""

    def __init__(self, app: ASGIApp, default_locale: str) -> None:
        self.app = app
        self.default_locale = default_locale

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        locale = negotiate_locale(
            request.cookies.get(LOCALE_COOKIE), request.headers.get("accept-language"), self.default_locale
        )
        request.state.locale = locale
        if not scope["path"].startswith(API_PREFIXES):
            ensure_csrf_token(request)

        async def send_with_language(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Language", locale)
            await send(message)

        await self.app(scope, receive, send_with_language)


class NoSessionCookieOnApis:
    """API answers never set the session cookie: a browser's session (the map's requests carry it) is
    refreshed by its pages, and clients of the APIs have no use for one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIXES):
            await self.app(scope, receive, send)
            return
        session_cookie = SESSION_COOKIE.encode() + b"="

        async def send_without_session_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if not (name.lower() == b"set-cookie" and value.startswith(session_cookie))
                ]
            await send(message)

        await self.app(scope, receive, send_without_session_cookie)


def create_app(
    settings: Settings | None = None, engine: AsyncEngine | None = None, companions: Sequence[Companion] = ()
) -> FastAPI:
    """Build the app. `engine` lets tests share a connection; otherwise one is made from the settings.
    `companions` run beside it while it serves (the CLI passes the demo's sensor feed)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owns_engine = engine is None
        app_engine = engine or make_app_engine(
            settings.database_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
            statement_timeout=settings.database_statement_timeout_seconds,
        )
        if owns_engine and settings.is_sqlite:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
            # The embedded database keeps itself up to date (a migration may run longer than a request may).
            await upgrade_engine(without_statement_timeout(app_engine))
        app.state.engine = app_engine
        app.state.sessionmaker = make_sessionmaker(app_engine, app.state.events)
        if owns_engine:  # a served app, not a test's (which shares the test's engine)
            # What startup built (modules, templates, the app) lives as long as the process: kept out of
            # the garbage collector's scans, whose pauses otherwise set the tail latency of requests.
            gc.collect()
            gc.freeze()
        digests = (
            asyncio.create_task(follows_tasks.digest_loop(app.state.sessionmaker, settings))
            if settings.digest_task_enabled
            else None
        )
        upkeep = (
            asyncio.create_task(
                run_periodically(
                    app.state.housekeeping,
                    app.state.sessionmaker,
                    settings.housekeeping_interval_seconds,
                    app.state,
                )
            )
            if owns_engine and settings.housekeeping_interval_seconds > 0
            else None
        )
        opinion_maps = asyncio.create_task(opinions_tasks.recompute_loop(app.state)) if owns_engine else None
        folds = (
            asyncio.create_task(
                indicators_tasks.fold_loop(app.state.sessionmaker, settings.indicators_fold_interval_seconds, app.state)
            )
            if owns_engine and settings.indicators_fold_interval_seconds > 0
            else None
        )
        project_maps = (
            asyncio.create_task(
                projects_service.keep_map_answers(
                    app.state.sessionmaker, app.state.project_map, app.state, settings.projects_map_interval_seconds
                )
            )
            if owns_engine and settings.projects_map_interval_seconds > 0
            else None
        )
        mail_sender = (
            asyncio.create_task(people_tasks.mail_loop(app.state.sessionmaker, settings))
            if owns_engine and not settings.mail_to_outbox
            else None
        )
        if settings.events_across_workers:
            await app.state.events.start_transport(settings.database_url)
        async with AsyncExitStack() as beside:
            await beside.enter_async_context(sensing_mqtt.running_bridge(sensing_mqtt.make_bridge(app.state)))
            for companion in companions:
                await beside.enter_async_context(companion(app.state))
            yield
        await app.state.events.stop_transport()
        for task in (digests, upkeep, mail_sender, opinion_maps, folds, project_maps):
            if task is not None:
                task.cancel()
        if owns_engine:
            await app_engine.dispose()

    app = FastAPI(
        title="Citoyen",
        description="Citizen-centred smart-city platform: territory, people and their data rights.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.templates = make_templates()
    app.state.templates.env.globals["flag_reason_labels"] = moderation_service.REASON_LABELS
    app.state.personal_data = build_personal_data_registry()
    app.state.housekeeping = build_housekeeping(settings)
    app.state.territory_index = TerritoryIndexCache(settings.reference_cache_seconds)
    app.state.gazetteer = Gazetteer(
        settings.geocoder_url, settings.geocoder_timeout_seconds, StreetIndexCache(settings.reference_cache_seconds)
    )
    app.state.report_catalog = reports_service.CatalogCache(settings.reference_cache_seconds)
    app.state.process_frames = participation_service.ProcessFrames(settings.reference_cache_seconds)
    app.state.open311_answers = reports_open311.AnswerCache(settings.open311_cache_seconds)
    app.state.open311_rate_gate = throttle.RateGate(settings.reference_cache_seconds)
    app.state.budget_results = budgets_service.ResultsCache()
    app.state.counter_profiles = mobility_flows.ProfileCache()
    mobility_service.use_time_zone(settings.zone)
    app.state.project_map = projects_service.MapCache()
    app.state.api_tokens = people_service.ApiTokenCache(settings.reference_cache_seconds)
    app.state.events = build_event_hub()
    app.state.sensing_events = SensingEventBus(app.state.events)
    app.state.admission = AdmissionGates.from_settings(settings)
    if engine is not None:
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine, app.state.events)

    # Innermost: a refusal is rendered like any HTTP error, which needs the session and the language.
    app.add_middleware(Admission)
    app.add_middleware(LanguageMiddleware, default_locale=settings.default_locale)
    # Added after (so it runs before) the language middleware: the session is ready for it.
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.resolved_secret_key(),
        session_cookie=SESSION_COOKIE,
        same_site="lax",
        https_only=settings.cookie_secure,
        max_age=int(people_service.SESSION_LIFETIME.total_seconds()),
    )
    app.add_middleware(NoSessionCookieOnApis)
    app.add_middleware(
        SecurityHeaders,
        api_prefixes=API_PREFIXES,
        tile_url=settings.map_tile_url,
        always_secure_cookies=settings.cookie_secure,
        hsts_seconds=settings.hsts_seconds,
    )
    # Outermost: every other part sees the client's address and scheme as the trusted proxy forwarded them.
    app.add_middleware(ForwardedHeaders, trusted_proxies=settings.trusted_proxies)

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    # The health probe first: orchestrators call it every few seconds.
    @app.get("/healthz", tags=["operations"])
    async def healthz(request: Request) -> JSONResponse:
        try:
            async with request.app.state.sessionmaker() as session:
                await session.execute(text("SELECT 1"))
        except Exception as exc:  # any database failure means "not healthy"
            log.warning("health check failed: %s", exc)
            return JSONResponse({"status": "unavailable", "detail": "database unreachable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    # FastAPI tries the routers in order, every route of one before the next (about 2 µs a route, twice per
    # request): machine-facing APIs first, as partners' calls are the busiest, then the citizens' pages by
    # traffic, staff and admin pages last.
    for router in (
        reports_open311.router,
        sensing_api.router,
        reports_api.router,
        participation_api.router,
        debate_api.router,
        territory_api.router,
        projects_api.router,
        indicators_api.router,
        alerts_api.router,
        mobility_api.router,
        opendata_dcat.router,
        opendata_downloads.router,
        opendata_ckan_api.router,
        # A live conversation's votes are the busiest citizen form (one per statement, dozens per participant).
        opinions_pages.router,
        participation_pages.router,
        debate_pages.router,
        budgets_pages.router,
        surveys_pages.router,
        mobility_pages.router,
        reports_pages.router,
        projects_pages.router,
        territory_pages.router,
        overviews_pages.router,
        feed_pages.router,
        sensing_pages.router,
        indicators_pages.router,
        alerts_pages.router,
        buildings_pages.router,
        indicators_building_pages.router,
        opendata_pages.router,
        web_pages.router,
        people_pages.router,
        notifications_pages.router,
        follows_pages.router,
        moderation_pages.router,
        verification_pages.router,
        reports_staff_pages.router,
        reports_admin_pages.router,
        sensing_admin_pages.router,
        participation_admin_pages.router,
        projects_staff_pages.router,
    ):
        app.include_router(router)

    def wants_json(request: Request) -> bool:
        return request.url.path.startswith(API_PREFIXES)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, _exc: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if request.url.path.startswith(reports_open311.PREFIX):
            return reports_open311.http_error(request, exc)
        if request.url.path.startswith("/sta/"):  # paths no SensorThings route matches (a newline in an id…)
            return sensing_api.error_response(exc.status_code, str(exc.detail), dict(exc.headers or {}))
        # The exception's headers go out too: Retry-After with a 503, Allow with a 405.
        if wants_json(request):
            error = {"error": {"status": exc.status_code, "message": exc.detail}}
            return JSONResponse(error, exc.status_code, headers=exc.headers)
        page = render(request, "error.html", {"status": exc.status_code, "detail": exc.detail}, exc.status_code)
        page.headers.update(exc.headers or {})
        return page

    @app.exception_handler(Refusal)
    async def refused(request: Request, error: Refusal) -> Response:
        """A rule's refusal no route turned into its own answer: the kind's status, in the path's format (Open311's
        and SensorThings' own; `{"error": …}` for our JSON; the error page, translated, for pages)."""
        if request.url.path.startswith(reports_open311.PREFIX):
            return reports_open311.refused(request, error)
        if request.url.path.startswith("/sta/"):
            return sensing_api.error_response(error.status_code, str(error), {})
        if wants_json(request):
            body = {"error": {"status": error.status_code, "message": str(error)}}
            return JSONResponse(body, error.status_code)
        if error.kind == Kind.SIGNED_OUT:
            return await login_required(request, signed_out(request))
        context = {"status": error.status_code, "detail": error.message, "values": error.values_in(locale_of(request))}
        return render(request, "error.html", context, error.status_code)

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> Response:
        """A statement cancelled by the statement timeout is a 503 in the path's format (its transaction was
        rolled back by the session); any other database error stays a server error."""
        if not is_statement_timeout(exc):
            raise exc
        seconds = settings.database_statement_timeout_seconds
        detail = (
            f"the database took longer than {seconds:g} s on this request and stopped it: try again, or ask for less"
        )
        headers = {"Retry-After": "5"}
        if request.url.path.startswith("/sta/"):
            return sensing_api.error_response(503, detail, headers)
        return await http_error(request, StarletteHTTPException(503, detail, headers))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            {"location": ".".join(str(part) for part in error["loc"]), "message": error["msg"]}
            for error in exc.errors()
        ]
        if problems and all(error["loc"][0] == "path" for error in exc.errors()):
            # A path id out of its column's range (citoyen.web.params.PathId) names nothing: not found, as
            # an id in range that names no row, on SQLite and PostgreSQL alike.
            if wants_json(request):
                return JSONResponse({"error": {"status": 404, "message": "not found"}}, status_code=404)
            return render(request, "error.html", {"status": 404, "detail": "Not Found"}, 404)
        if wants_json(request):
            return JSONResponse(
                {"error": {"status": 400, "message": "invalid request", "problems": problems}},
                status_code=400,
            )
        return render(request, "error.html", {"status": 400, "detail": problems[0]["message"]}, 400)

    return app
