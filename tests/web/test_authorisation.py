"""The authorisation matrix: every state-changing route of the app has a declared rule, and every role the
rule does not admit is refused by it, with nothing stored. Built from the app's own routes, so a new
route without a rule fails here until someone decides who may call it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import Base
from citoyen.people.models import Role
from tests.conftest import csrf_token
from tests.factories import create_person, log_in

ANONYMOUS = "anonymous"
ROLES = (ANONYMOUS, Role.CITIZEN, Role.MODERATOR, Role.STAFF, Role.PUBLISHER, Role.ADMIN)

# Who a rule admits. Machine rules (API tokens) admit no browser session at all: a signed-in admin without a
# token is refused too.
ADMITS: dict[str, frozenset[str]] = {
    "anyone": frozenset(ROLES),
    "signed_in": frozenset({Role.CITIZEN, Role.MODERATOR, Role.STAFF, Role.PUBLISHER, Role.ADMIN}),
    "moderator": frozenset({Role.MODERATOR, Role.STAFF, Role.ADMIN}),
    "staff": frozenset({Role.STAFF, Role.ADMIN}),
    "publisher": frozenset({Role.PUBLISHER, Role.ADMIN}),
    "admin": frozenset({Role.ADMIN}),
    "sensing_token": frozenset(),
    # A SensorThings batch: its reads are public, as GETs are; a write inside needs a sensing:write token
    # (tests/sensing/test_batch_api.py). A machine API, so no browser form and no CSRF token either.
    "sensing_reads_or_token": frozenset(ROLES),
    "open311_key": frozenset(),
    "opendata_token": frozenset(),
    # The carpool API: a resident's own token with the carpool scope (tests/mobility/test_api.py).
    "carpool_token": frozenset(),
}

# The guard dependencies that enforce each browser rule (one of them must be on the route's dependency tree);
# the support form checks its session's claim inside its one statement (`require_claim`).
GUARDS = {
    "signed_in": {"require_person", "require_claim"},
    "moderator": {"require_moderator"},
    "staff": {"require_staff"},
    "publisher": {"require_publisher"},
    "admin": {"require_admin"},
}

# Who may call each state-changing route. Ownership (one's own proposal, one's department's report) is
# checked further in by the services and tested beside them.
RULES: dict[tuple[str, str], str] = {
    ("POST", "/open311/v2/requests.{fmt}"): "open311_key",
    ("POST", "/sta/v1.1/CreateObservations"): "sensing_token",
    ("POST", "/sta/v1.1/$batch"): "sensing_reads_or_token",
    ("POST", "/sta/v1.1/{path:path}"): "sensing_token",
    ("PATCH", "/sta/v1.1/{path:path}"): "sensing_token",
    ("PUT", "/sta/v1.1/{path:path}"): "sensing_token",
    ("DELETE", "/sta/v1.1/{path:path}"): "sensing_token",
    # The CKAN Action API: its write actions need an opendata:write token (its reads answer POST too).
    ("POST", "/api/3/action/{name}"): "opendata_token",
    ("POST", "/api/action/{name}"): "opendata_token",
    # Anyone: filing a report (anonymous reports are allowed, rate-limited), supporting and following a report
    # (anonymous supports count once per browser), the language, and the account's way in and out.
    ("POST", "/reports"): "anyone",
    ("POST", "/reports/{report_id:int}/support"): "anyone",
    ("POST", "/reports/{report_id:int}/follow"): "anyone",
    ("POST", "/language"): "anyone",
    ("POST", "/signup"): "anyone",
    ("POST", "/login"): "anyone",
    ("POST", "/logout"): "anyone",
    ("POST", "/password/forgot"): "anyone",
    ("POST", "/password/reset/{token}"): "anyone",
    ("POST", "/login/link/{token}"): "anyone",
    # Signed-in citizens.
    ("POST", "/participation/processes/{slug}/proposals"): "signed_in",
    ("POST", "/participation/proposals/{proposal_id:int}/edit"): "signed_in",
    # The carpool board (whose trip or request it is is checked by the mobility services).
    ("POST", "/carpool/trips"): "signed_in",
    ("POST", "/carpool/trips/{trip_id:int}/withdraw"): "signed_in",
    ("POST", "/carpool/trips/{trip_id:int}/requests"): "signed_in",
    ("POST", "/carpool/requests/{request_id:int}/accept"): "signed_in",
    ("POST", "/carpool/requests/{request_id:int}/decline"): "signed_in",
    ("POST", "/carpool/requests/{request_id:int}/withdraw"): "signed_in",
    ("POST", "/carpool/requests/{request_id:int}/messages"): "signed_in",
    ("POST", "/carpool/tokens"): "signed_in",
    ("POST", "/carpool/tokens/{token_id:int}/revoke"): "signed_in",
    ("POST", "/api/carpool/trips"): "carpool_token",
    ("DELETE", "/api/carpool/trips/{trip_id:int}"): "carpool_token",
    ("POST", "/participation/proposals/{proposal_id:int}/withdraw"): "signed_in",
    ("POST", "/participation/proposals/{proposal_id:int}/support"): "signed_in",
    ("POST", "/participation/{kind:str}/{target_id:int}/comments"): "signed_in",
    # The opinion map: anyone, as a conversation may take anonymous participants (its rules refuse the others).
    ("POST", "/participation/conversations/{conversation_id:int}/votes"): "anyone",
    ("POST", "/participation/conversations/{conversation_id:int}/statements"): "anyone",
    ("POST", "/participation/conversations/{conversation_id:int}/moderation/{statement_id:int}"): "moderator",
    ("POST", "/admin/participation/processes/{process_id:int}/conversations/new"): "admin",
    ("POST", "/participation/comments/{comment_id:int}/vote"): "signed_in",
    ("POST", "/participation/budgets/{budget_id:int}/ballot"): "signed_in",
    ("POST", "/participation/surveys/{survey_id:int}"): "signed_in",
    ("POST", "/participation/flags"): "signed_in",
    ("POST", "/follows"): "signed_in",
    # The neighbourhood feeds (whether one follows or lives in the quartier is checked by the feed's services).
    ("POST", "/quartiers/{neighbourhood_id:int}/posts"): "signed_in",
    ("POST", "/quartiers/{neighbourhood_id:int}/home"): "signed_in",
    ("POST", "/quartiers/posts/{post_id:int}/replies"): "signed_in",
    ("POST", "/quartiers/posts/{post_id:int}/flag"): "signed_in",
    ("POST", "/quartiers/replies/{reply_id:int}/flag"): "signed_in",
    ("POST", "/staff/feed-moderation/{kind}/{target_id:int}"): "moderator",
    ("POST", "/notifications/read"): "signed_in",
    ("POST", "/account/consents"): "signed_in",
    ("POST", "/account/erase"): "signed_in",
    ("POST", "/account/sessions/end"): "signed_in",
    ("POST", "/account/sessions/end-all"): "signed_in",
    ("POST", "/account/verification"): "signed_in",
    # Moderators.
    ("POST", "/staff/moderation/{case_id:int}/hide"): "moderator",
    ("POST", "/staff/moderation/{case_id:int}/dismiss"): "moderator",
    # Staff.
    # A resident asks to be linked to their building (or withdraws); the buildings department's staff decide
    # (the department is checked by the service).
    ("POST", "/buildings/{building_id}/link"): "signed_in",
    ("POST", "/buildings/{building_id}/unlink"): "signed_in",
    ("POST", "/staff/buildings"): "staff",  # the buildings department's (checked by the service)
    ("POST", "/staff/buildings/links/{link_id}/confirm"): "staff",
    ("POST", "/staff/buildings/links/{link_id}/decline"): "staff",
    ("POST", "/staff/reports/{report_id:int}"): "staff",
    ("POST", "/staff/reports/{report_id:int}/merge"): "staff",
    ("POST", "/alerts/{alert_id}/mark"): "staff",
    ("POST", "/staff/participation/proposals/{proposal_id:int}/answer"): "staff",
    ("POST", "/projects/{project_id}/follow"): "signed_in",
    ("POST", "/projects/{project_id}/questions"): "signed_in",
    ("POST", "/projects/{project_id}/feedback"): "signed_in",
    ("POST", "/projects/{project_id}/feedback/{feedback_id}/flag"): "signed_in",
    ("POST", "/staff/projects/new"): "staff",
    ("POST", "/staff/projects/{project_id}/edit"): "staff",
    ("POST", "/staff/projects/{project_id}/updates"): "staff",
    ("POST", "/staff/projects/{project_id}/documents"): "staff",
    ("POST", "/staff/projects/questions/{question_id}/answer"): "staff",
    ("POST", "/staff/projects/feedback/{feedback_id}/hide"): "moderator",
    ("POST", "/staff/participation/proposals/{proposal_id:int}/milestones"): "staff",
    # Publishers (and administrators): the open-data catalogue's datasets and files made by hand.
    ("POST", "/data/new"): "publisher",
    ("POST", "/data/{name}/edit"): "publisher",
    ("POST", "/data/{name}/publish"): "publisher",
    ("POST", "/data/{name}/delete"): "publisher",
    ("POST", "/data/{name}/resources/new"): "publisher",
    ("POST", "/data/{name}/resources/{resource_id}/upload"): "publisher",
    ("POST", "/data/{name}/resources/publish"): "publisher",
    # Administrators.
    ("POST", "/admin/participation/budgets"): "admin",
    ("POST", "/admin/participation/budgets/{budget_id:int}"): "admin",
    ("POST", "/admin/participation/budgets/{budget_id:int}/projects"): "admin",
    ("POST", "/admin/participation/budgets/{budget_id:int}/from-proposal"): "admin",
    ("POST", "/admin/participation/budgets/{budget_id:int}/projects/{project_id:int}/delete"): "admin",
    ("POST", "/admin/participation/budgets/{budget_id:int}/method"): "admin",
    ("POST", "/admin/participation/surveys"): "admin",
    ("POST", "/admin/participation/surveys/{survey_id:int}"): "admin",
    ("POST", "/admin/participation/processes"): "admin",
    ("POST", "/admin/participation/processes/{process_id:int}"): "admin",
    ("POST", "/admin/people/{person_id}/role"): "admin",
    ("POST", "/admin/people/{person_id}/active"): "admin",
    ("POST", "/admin/departments"): "admin",
    ("POST", "/admin/departments/{department_id}/delete"): "admin",
    ("POST", "/admin/tokens"): "admin",
    ("POST", "/admin/tokens/{token_id}/revoke"): "admin",
    ("POST", "/admin/verification"): "admin",
    ("POST", "/admin/verification/{list_id:int}/active"): "admin",
    ("POST", "/admin/reports/routing"): "admin",
    ("POST", "/admin/reports/routing/{rule_id}/delete"): "admin",
    ("POST", "/admin/reports/categories"): "admin",
    ("POST", "/admin/reports/categories/{category_id}"): "admin",
    ("POST", "/admin/sensing/things/{thing_id}"): "admin",
    ("POST", "/admin/sensing/tokens"): "admin",
}

# Tables a refused request may touch: the counters that throttle abuse.
VOLATILE_TABLES = {"rate_counters", "login_failures"}

# A value for each path parameter, so that the request reaches the route (the guards run before the route
# looks anything up).
PARAMETER_VALUES = {
    "fmt": "json",
    "path": "Things",
    "kind": "proposals",
    "slug": "budget",
    "token": "x" * 20,
    "name": "package_create",
}


def _routes(app: FastAPI) -> Iterator[APIRoute]:
    """Every route of the app, including those of included routers."""

    def walk(routes: list[Any]) -> Iterator[APIRoute]:
        for route in routes:
            included = getattr(route, "original_router", None)
            if included is not None:
                yield from walk(list(included.routes))
            elif isinstance(route, APIRoute):
                yield route

    yield from walk(list(app.routes))


def state_changing_routes(app: FastAPI) -> dict[tuple[str, str], APIRoute]:
    return {
        (method, route.path): route
        for route in _routes(app)
        for method in sorted((route.methods or set()) - {"GET", "HEAD", "OPTIONS"})
    }


def _dependency_names(dependant: Dependant) -> set[str]:
    names: set[str] = set()
    for sub in dependant.dependencies:
        if sub.call is not None:
            names.add(getattr(sub.call, "__name__", ""))
        names |= _dependency_names(sub)
    return names


def concrete_path(template: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        return PARAMETER_VALUES.get(name, "1")

    return re.sub(r"\{([^}]+)\}", value, template)


def test_every_state_changing_route_has_a_declared_rule(app: FastAPI) -> None:
    routes = state_changing_routes(app)
    assert sorted(set(routes) - set(RULES)) == [], "state-changing routes without a rule: add them to RULES"
    assert sorted(set(RULES) - set(routes)) == [], "rules for routes that no longer exist"


def test_browser_rules_are_enforced_by_their_guard(app: FastAPI) -> None:
    routes = state_changing_routes(app)
    for key, rule in RULES.items():
        dependencies = _dependency_names(routes[key].dependant)
        if rule in GUARDS:
            assert GUARDS[rule] & dependencies, f"{key} is declared {rule} but has none of {GUARDS[rule]}"
        if rule == "anyone":
            guards = set().union(*GUARDS.values())
            assert not dependencies & guards, f"{key} is declared open to anyone but has a guard"


async def _row_counts(session: AsyncSession) -> dict[str, int]:
    counts = {}
    for table in Base.metadata.sorted_tables:
        if table.name not in VOLATILE_TABLES:
            counts[table.name] = int((await session.execute(select(func.count()).select_from(table))).scalar_one())
    return counts


def _refused(response: httpx.Response, role: str) -> bool:
    if response.status_code in (401, 403):
        return True
    # Pages send someone who is not signed in to the login page.
    return role == ANONYMOUS and response.status_code == 303 and response.headers["location"].startswith("/login")


@pytest.mark.parametrize("role", ROLES)
async def test_every_role_a_rule_does_not_admit_is_refused_and_nothing_is_stored(
    app: FastAPI, session: AsyncSession, role: str
) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        if role != ANONYMOUS:
            person = await create_person(session, role=Role(role))
            await session.commit()
            await log_in(client, person.email)
        token = await csrf_token(client, "/login" if role == ANONYMOUS else "/account")
        before = await _row_counts(session)
        not_refused = []
        for (method, template), rule in sorted(RULES.items()):
            if role in ADMITS[rule]:
                continue
            path = concrete_path(template)
            if path.startswith("/sta/"):
                response = await client.request(method, path, json={"name": "x"})
            elif path.startswith("/open311/"):
                response = await client.request(method, path, data={"service_code": "pothole", "lat": "48.85"})
            else:
                response = await client.request(method, path, data={"csrf_token": token})
            if not _refused(response, role):
                not_refused.append(f"{method} {template}: {response.status_code}")
        assert not_refused == [], f"{role} was not refused by"
        assert await _row_counts(session) == before


async def test_page_forms_without_the_sessions_csrf_token_are_refused(app: FastAPI, session: AsyncSession) -> None:
    """Even an administrator's session cannot be made to post a form from another site."""
    admin = await create_person(session, role=Role.ADMIN)
    await session.commit()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        await log_in(client, admin.email)
        before = await _row_counts(session)
        accepted = []
        for (method, template), rule in sorted(RULES.items()):
            if rule in ("sensing_token", "sensing_reads_or_token", "open311_key", "opendata_token", "carpool_token"):
                continue
            response = await client.request(method, concrete_path(template), data={"csrf_token": "forged"})
            if response.status_code != 403:
                accepted.append(f"{method} {template}: {response.status_code}")
        assert accepted == []
        assert await _row_counts(session) == before
