"""Fixtures of the browser tests: a demo city served by a real server, and Debian's Chromium driven by Playwright.

Playwright's sync API marks its own event loop as "running" in the thread that uses it, for as long as the
session lives, and pytest runs with pytest-asyncio (asyncio_mode=auto, one event loop for the session).
To keep the two apart, every Playwright call runs in one dedicated thread (`PlaywrightThread`): the
fixtures create and close browser objects there, and `pytest_pyfunc_call` below runs the body of each
test that uses them there too. Tests are plain functions using the sync API, as usual.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ParamSpec, TypeVar

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DEMO_CITIZENS = "50"
# The browser tests read a few open reports per map and the planted cluster, not volume: 3,000 reports (the demo's
# default) made the city's build longer under load by a tenth, its reports and alerts steps by two thirds.
DEMO_REPORTS = "500"
BUILD_TIMEOUT_S = 900  # a bound to give up at, never a wait: a loaded CI machine once took over 300 s
# A ready signal (/healthz), not a sleep: the bound only says when to give up on a machine busy with other tests.
STARTUP_TIMEOUT_S = 180
# Playwright waits at most this long for any single action or expectation.
ACTION_TIMEOUT_MS = 15_000
BUILT_MARK = ".built"
# Any address but the local demo server's.
OUTSIDE_THE_SERVER = re.compile(r"^https?://(?!127\.0\.0\.1[:/])")

P = ParamSpec("P")
T = TypeVar("T")


class PlaywrightThread:
    """One worker thread that owns the sync Playwright session: everything touching it runs there."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="playwright")
        self._thread: threading.Thread | None = None
        self.call(self._remember_thread)

    def _remember_thread(self) -> None:
        self._thread = threading.current_thread()

    def call(self, function: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `function` in the Playwright thread and return its result (or raise its error here)."""
        if threading.current_thread() is self._thread:
            return function(*args, **kwargs)
        return self._executor.submit(function, *args, **kwargs).result()

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True)


def _strip_citoyen_env() -> dict[str, str]:
    """The caller's environment without CITOYEN_* settings (a production database URL, a tile server…)."""
    return {key: value for key, value in os.environ.items() if not key.startswith("CITOYEN_")}


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def e2e_enabled() -> None:
    """Skip on request (CITOYEN_SKIP_E2E=1); otherwise a missing Chromium is a failure, never a silent skip."""
    if os.environ.get("CITOYEN_SKIP_E2E") == "1":
        pytest.skip("browser tests skipped: CITOYEN_SKIP_E2E=1")
    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"the browser tests need Debian's Chromium at {CHROMIUM}: install it with `apt-get install -y chromium`, "
            "or set CITOYEN_SKIP_E2E=1 to skip these tests on purpose",
            pytrace=False,
        )


_TESTRUN_UID = pytest.StashKey[str]()


def _shared_template(config: pytest.Config) -> Path:
    """Where this test run's demo city is built: a directory every xdist worker of the run shares."""
    if hasattr(config, "workerinput"):
        testrun_uid: str = config.workerinput["testrunuid"]
    else:
        testrun_uid = config.stash.setdefault(_TESTRUN_UID, uuid.uuid4().hex)
    # pytest's own temporary-directory factory (what the tmp_path_factory fixture returns): its base is
    # rotated by pytest, so old demo cities do not pile up.
    factory: pytest.TempPathFactory = config._tmp_path_factory  # type: ignore[attr-defined]
    base = factory.getbasetemp()
    shared = base.parent if hasattr(config, "workerinput") else base
    return shared / f"demo-city-{testrun_uid}"


def _build_template_once(template: Path) -> None:
    """Build the demo city into `template` unless a worker already did; a file lock makes the others wait."""
    with template.with_suffix(".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not (template / BUILT_MARK).exists():
                shutil.rmtree(template, ignore_errors=True)
                template.mkdir()
                _build_demo(template)
                (template / BUILT_MARK).touch()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start building the demo city as soon as the tests are collected, in the background, when browser tests
    will run: the tests before them run meanwhile, instead of a worker idling at its first browser test while
    another builds the city. A failed build is reported by the `demo_template` fixture, which builds again."""
    wanted = any(Path(str(item.path)).is_relative_to(Path(__file__).parent) for item in session.items)
    skipped = os.environ.get("CITOYEN_SKIP_E2E") == "1" or session.config.option.collectonly
    if not wanted or skipped or not CHROMIUM.is_file():
        return
    template = _shared_template(session.config)

    def build_quietly() -> None:
        try:
            _build_template_once(template)
        except BaseException:  # pytest.fail's exception too: the fixture builds again and says why
            return

    # Not a daemon: a worker that runs out of tests first waits for the build at exit, rather than leave a
    # half-built city (and a build process) behind for the worker whose browser tests need it.
    threading.Thread(target=build_quietly, name="demo-city-build").start()


@pytest.fixture(scope="session")
def demo_template(e2e_enabled: None, request: pytest.FixtureRequest) -> Path:
    """One small demo city built once per test run and shared by every xdist worker (built in the background
    from the end of collection; a file lock makes the others wait); each live server serves a copy of its own."""
    template = _shared_template(request.config)
    _build_template_once(template)
    return template


def _copy_of_demo(template: Path, tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    data_dir = tmp_path_factory.mktemp(name)
    shutil.copytree(template, data_dir, dirs_exist_ok=True, ignore=shutil.ignore_patterns(BUILT_MARK, "*.log"))
    return data_dir


@pytest.fixture(scope="session")
def live_server(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serve a copy of the small demo city and yield its base URL."""
    yield from _serve_demo(_copy_of_demo(demo_template, tmp_path_factory, "demo-city"))


def _demo_command(data_dir: Path) -> tuple[list[str], dict[str, str]]:
    env = {**_strip_citoyen_env(), "CITOYEN_DEMO_CITIZENS": DEMO_CITIZENS, "CITOYEN_DEMO_REPORTS": DEMO_REPORTS}
    return [sys.executable, "-m", "citoyen", "demo", "--data-dir", str(data_dir), "--host", "127.0.0.1"], env


def _build_demo(data_dir: Path) -> None:
    """Build a small demo city in `data_dir`; the working directory is the data directory, so that no stray
    .env file is read."""
    command, env = _demo_command(data_dir)
    build = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [*command, "--build-only"],
        cwd=data_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT_S,
        check=False,
    )
    if build.returncode != 0:
        pytest.fail(f"building the demo city failed ({build.returncode}):\n{build.stdout}\n{build.stderr}")


def _serve_demo(data_dir: Path) -> Iterator[str]:
    """Serve the demo city built in `data_dir` on a free port until the generator is closed."""
    command, env = _demo_command(data_dir)
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_path = data_dir / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [*command, "--port", str(port)], cwd=data_dir, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        _wait_until_healthy(server, base_url, log_path)
        yield base_url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=15)


def _wait_until_healthy(server: subprocess.Popen[bytes], base_url: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    last_problem = "no answer yet"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            last_problem = f"the server exited with code {server.returncode}"
            break
        try:
            response = httpx.get(f"{base_url}/healthz", timeout=2)
        except httpx.HTTPError as exc:
            last_problem = repr(exc)
        else:
            if response.status_code == 200:
                return
            last_problem = f"/healthz answered {response.status_code}: {response.text}"
        time.sleep(0.25)
    output = log_path.read_text(encoding="utf-8", errors="replace")
    pytest.fail(f"the demo server did not become healthy at {base_url} ({last_problem}). Its output:\n{output}")


@pytest.fixture(scope="session")
def playwright_thread(e2e_enabled: None) -> Iterator[PlaywrightThread]:
    worker = PlaywrightThread()
    try:
        yield worker
    finally:
        worker.shutdown()


@pytest.fixture(scope="session")
def browser(playwright_thread: PlaywrightThread) -> Iterator[Browser]:
    playwright: Playwright = playwright_thread.call(lambda: sync_playwright().start())
    try:
        chromium = playwright_thread.call(
            playwright.chromium.launch, executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            playwright_thread.call(chromium.close)
    finally:
        playwright_thread.call(playwright.stop)


NewPage = Callable[[str], Page]


@pytest.fixture
def new_page(browser: Browser, playwright_thread: PlaywrightThread, live_server: str) -> Iterator[NewPage]:
    """A factory of pages, each in a fresh browser context (own cookies) for the given browser locale.

    The locale sets the browser's Accept-Language ("fr-FR", "en-GB"…); relative URLs go to the demo server.
    An uncaught JavaScript error in any of the pages fails the test, and so does anything the pages' Content
    Security Policy blocked (the console says so).
    """
    contexts: list[BrowserContext] = []
    page_errors: list[str] = []

    def make(locale: str) -> Page:
        context = browser.new_context(
            base_url=live_server, locale=locale, accept_downloads=True, viewport={"width": 1280, "height": 900}
        )
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        # Nothing outside the demo server is reached (the map's street tiles, by default IGN's): the tests run
        # offline, and a page must work as it does when the tile server cannot be reached.
        context.route(OUTSIDE_THE_SERVER, lambda route: route.abort("internetdisconnected"))
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: page_errors.append(f"{page.url}: {error}"))
        page.on(
            "console",
            lambda message: (
                page_errors.append(f"{page.url}: {message.text}") if "Content Security Policy" in message.text else None
            ),
        )
        return page

    def make_in_thread(locale: str) -> Page:
        return playwright_thread.call(make, locale)

    yield make_in_thread
    for context in contexts:
        playwright_thread.call(context.close)
    if page_errors:
        pytest.fail("uncaught JavaScript errors or blocked content in the pages:\n" + "\n".join(page_errors))


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run the body of tests that use Playwright in the Playwright thread (see the module docstring)."""
    if "playwright_thread" not in pyfuncitem.fixturenames:
        return None
    worker = pyfuncitem.funcargs["playwright_thread"]
    assert isinstance(worker, PlaywrightThread)
    arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    worker.call(pyfuncitem.obj, **arguments)
    return True


# --- Reports (test_reports.py): a demo city of its own, with a report category routed to "voirie" ---------------

E2E_REPORT_CATEGORY = "e2e-nid-de-poule"


async def _add_report_category(database_url: str) -> None:
    """A category with one required question, routed to the demo's "voirie" department, through the services."""
    from citoyen.app import build_event_hub
    from citoyen.db import make_sessionmaker
    from citoyen.engines import make_app_engine
    from citoyen.people import service as people
    from citoyen.reports import service as reports
    from citoyen.reports.models import AttributeType

    engine = make_app_engine(database_url)
    try:
        async with make_sessionmaker(engine, build_event_hub())() as session:
            roads = next(item for item in await people.list_departments(session) if item.code == "voirie")
            size = reports.AttributeInput(
                code="size",
                datatype=AttributeType.SINGLE,
                description="Taille du trou",
                description_en="Size of the hole",
                required=True,
                values=[
                    {"key": "small", "name": "Petit", "name_en": "Small"},
                    {"key": "large", "name": "Grand", "name_en": "Large"},
                ],
            )
            category = await reports.save_category(
                session,
                reports.CategoryInput(
                    code=E2E_REPORT_CATEGORY, name="Nid-de-poule (essai)", name_en="Pothole (test)", attributes=[size]
                ),
            )
            await reports.set_routing_rule(session, category.id, roads.id)
            await session.commit()
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def reports_live_server(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Like `live_server`, in its own directory, with the report category above added before serving."""
    import asyncio

    data_dir = _copy_of_demo(demo_template, tmp_path_factory, "demo-city-reports")
    database_url = f"sqlite+aiosqlite:///{data_dir.resolve() / 'citoyen.sqlite3'}"
    # Its own event loop in its own thread: pytest-asyncio's loop belongs to the tests.
    with ThreadPoolExecutor(max_workers=1) as worker:
        worker.submit(asyncio.run, _add_report_category(database_url)).result()

    yield from _serve_demo(data_dir)
