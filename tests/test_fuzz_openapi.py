"""schemathesis over the whole OpenAPI document (except SensorThings, fuzzed by tests/sensing): whatever a
client sends, no route answers a server error, and every answer matches the schema the document gives.

The app runs in-process on a database of its own (schemathesis calls it from its own event loop, which the
rolled-back test connection cannot be shared with), holding a little of everything so that generated ids
and codes reach real rows; Open311 POSTs carry a valid api_key so they reach the report's checks."""

from __future__ import annotations

import asyncio
import concurrent.futures
import tempfile
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance
from schemathesis.generation.modes import GenerationMode
from schemathesis.python.asgi import shutdown_lifespans
from sqlalchemy.ext.asyncio import AsyncEngine

from citoyen.app import build_event_hub, create_app
from citoyen.config import Settings
from citoyen.db import make_engine, make_sessionmaker
from citoyen.participation.debate import service as debate
from citoyen.participation.debate.service import Target
from citoyen.people import service as people
from citoyen.people.models import Role
from citoyen.territory.service import TerritoryIndexCache
from tests.conftest import copy_of_template, run_on_postgres_server
from tests.factories import create_person
from tests.participation.debate_world import create_debate_world
from tests.participation.helpers import create_process, submit
from tests.reports.helpers import create_reports_world, file_report

# Examples per operation and mode (valid, invalid): 19 operations on each database, under a minute on two cores.
EXAMPLES = 25
FUZZ_DATABASE_SUFFIX = "_fuzz"


def run_apart(make: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """Run a coroutine on an event loop of its own thread, away from the test session's loop."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, make()).result()


async def seed(engine: AsyncEngine, settings: Settings) -> str:
    """A bit of every kind of data the API reads, in a migrated database; returns an Open311 api_key."""
    async with make_sessionmaker(engine, build_event_hub())() as session:
        world = await create_reports_world(session)
        await file_report(session, world, description="Lampadaire éteint rue des Lilas")
        await file_report(session, world, category="pothole", description="Trou profond")
        author = await create_person(session, display_name="Autrice")
        process = await create_process(session)
        await submit(session, process, author)
        await submit(session, process, author, where=None, title="Des bancs partout")
        debate_world = await create_debate_world(session)
        target = Target(debate_world.process, debate_world.proposal)
        first = await debate.add_comment(session, settings, debate_world.alice, target, "Bonne idée")
        await debate.add_comment(session, settings, debate_world.bruno, target, "D'accord", first.id)
        await create_person(session, role=Role.ADMIN)
        _token, secret = await people.create_api_token(session, "fuzz", ["open311"])
        await session.commit()
    await engine.dispose()
    return secret


@pytest.fixture(scope="module")
def fuzz_app(migrated_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, str]]:
    # A copy of the run's migrated template.
    name = migrated_template.rsplit("/", 1)[1].removesuffix(".sqlite3") + FUZZ_DATABASE_SUFFIX
    if migrated_template.startswith("postgresql"):
        run_on_postgres_server(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    url = copy_of_template(migrated_template, name, tmp_path_factory.mktemp("fuzz"))
    data_dir: Path = tmp_path_factory.mktemp("fuzz-data")
    settings = Settings(
        data_dir=data_dir,
        database_url=url,
        secret_key="fuzz-secret-key-" + "x" * 32,
        digest_task_enabled=False,
        open311_requests_per_minute=1_000_000,
    )
    api_key = run_apart(lambda: seed(make_engine(url), settings))
    app = create_app(settings)
    app.state.territory_index = TerritoryIndexCache()
    yield app, api_key
    shutdown_lifespans()
    if url.startswith("postgresql"):
        run_on_postgres_server(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_app: tuple[FastAPI, str]) -> Any:
    app, _key = fuzz_app
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def constrained(schema: dict[str, Any]) -> bool:
    """Whether some value breaks the schema (any string fits a plain string path parameter)."""
    return schema.get("type") != "string" or bool(set(schema) - {"type", "title", "description", "examples"})


def fuzzed_operations() -> list[tuple[str, str, GenerationMode]]:
    """Every operation of the document but SensorThings', with valid data, and with invalid data when it
    takes any; read from an app that needs no database."""
    document = create_app(Settings(data_dir=Path(tempfile.gettempdir()), secret_key="x" * 48)).openapi()
    found = []
    for path, operations in document["paths"].items():
        if path.startswith("/sta/"):
            continue
        for method, operation in operations.items():
            found.append((method.upper(), path, GenerationMode.POSITIVE))
            if operation.get("requestBody") or any(constrained(p["schema"]) for p in operation.get("parameters", [])):
                found.append((method.upper(), path, GenerationMode.NEGATIVE))
    return found


@pytest.mark.parametrize(("method", "path", "mode"), fuzzed_operations())
def test_no_request_gets_a_server_error_or_an_answer_outside_its_schema(
    fuzz_schema: Any, fuzz_app: tuple[FastAPI, str], method: str, path: str, mode: GenerationMode
) -> None:
    _app, api_key = fuzz_app
    operation = fuzz_schema[path][method]

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    def call(case: Any) -> None:
        if method == "POST" and isinstance(case.body, dict):
            case.body["api_key"] = api_key  # past the key check, into the report's own
        case.call_and_validate(checks=[not_a_server_error, response_schema_conformance])

    call()
