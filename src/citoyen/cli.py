"""The `citoyen` command: serve, demo, migrate, housekeeping, import-territory, territory import-addresses and
import-population, buildings import, create-admin, token, send-digests, opendata."""

from __future__ import annotations

import asyncio
import json
import secrets
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.db import make_sessionmaker, utcnow
from citoyen.engines import make_app_engine
from citoyen.foresight.commands import foresight_app
from citoyen.migrations import upgrade_database_async
from citoyen.requirements import missing_extensions

app = typer.Typer(help="Citoyen: the citizen-centred smart-city platform.", no_args_is_help=True)
token_app = typer.Typer(help="API tokens for partners' machines.", no_args_is_help=True)
app.add_typer(token_app, name="token")
opendata_app = typer.Typer(help="The open-data catalogue.", no_args_is_help=True)
app.add_typer(opendata_app, name="opendata")
opinions_app = typer.Typer(help="The opinion map: Pol.is exports in and out.", no_args_is_help=True)
app.add_typer(opinions_app, name="opinions")
territory_app = typer.Typer(help="The city's territory: its addresses and its population.", no_args_is_help=True)
app.add_typer(territory_app, name="territory")
indicators_app = typer.Typer(help="The indicators and their rollups.", no_args_is_help=True)
app.add_typer(indicators_app, name="indicators")
buildings_app = typer.Typer(help="Buildings with meters (eco-feedback).", no_args_is_help=True)
app.add_typer(buildings_app, name="buildings")
projects_app = typer.Typer(help="The city's urban projects on the map.", no_args_is_help=True)
app.add_typer(projects_app, name="projects")
app.add_typer(foresight_app, name="foresight")
T = TypeVar("T")

DataDirOption = Annotated[
    Path | None, typer.Option("--data-dir", help="Where the embedded database lives (env CITOYEN_DATA_DIR).")
]


def load_settings(data_dir: Path | None = None, **overrides: Any) -> Settings:
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    return Settings(**overrides)


def fail(message: str, code: int = 2) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def _step_bars(console: Console, prefix: str = "") -> Iterator[Callable[[str, int, int], None]]:
    """A progress bar per step of a long command (the demo build, the early-warning run): yields the
    `report(step, done, total)` callback the work calls."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        tasks: dict[str, TaskID] = {}

        def report(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = progress.add_task(prefix + step, total=total)
            progress.update(tasks[step], completed=done, total=total)

        yield report


async def _upgrade(database_url: str) -> None:
    """Migrate the database, after checking that PostgreSQL has what the migrations need (PostGIS)."""
    problems = await missing_extensions(database_url)
    if problems:
        fail("; ".join(problems) + ".", 1)
    await upgrade_database_async(database_url)


async def _in_transaction(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Migrate the database, then run `work` in one transaction: all of it is stored, or none."""
    from citoyen.app import build_event_hub

    await _upgrade(settings.database_url)
    engine = make_app_engine(settings.database_url)
    try:
        # The app's event hub: the rules other domains subscribe in the transaction (following) run here too.
        async with make_sessionmaker(engine, build_event_hub())() as session, session.begin():
            return await work(session)
    finally:
        await engine.dispose()


def run(settings: Settings, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    return asyncio.run(_in_transaction(settings, work))


# The settings `citoyen serve` hands to its worker processes, which read them from the environment.
WORKER_SETTINGS = ("data_dir", "database_url", "served_url", "demo_mode")
WORKER_HEALTHCHECK_SECONDS = 60


def served_app() -> Any:
    """The app of one of `citoyen serve --workers N`'s processes (uvicorn imports it by name in each of them)."""
    import os

    from citoyen.app import create_app

    settings = load_settings()
    if settings.mqtt_url:
        # Each worker is its own client of the broker (one client id connected at a time), and the workers share
        # the ingest through a shared subscription, so that a message is stored once.
        settings.mqtt_client_id = f"{settings.mqtt_client_id}-{os.getpid()}"
        settings.mqtt_shared_group = settings.mqtt_shared_group or "citoyen"
    return create_app(settings)


def _serve(settings: Settings, host: str, port: int, workers: int = 1) -> None:
    import os

    import uvicorn

    from citoyen.addresses import served_url
    from citoyen.app import create_app
    from citoyen.demo.sensing import running_demo_feed

    settings.served_url = served_url(host, port)
    # X-Forwarded-* are read by the app itself (citoyen.web.proxies), which believes only the trusted proxies'.
    options: dict[str, Any] = {"host": host, "port": port, "log_level": "info", "proxy_headers": False}
    if workers == 1:
        uvicorn.run(create_app(settings, companions=[running_demo_feed]), **options)
        return
    for name in WORKER_SETTINGS:
        os.environ[f"CITOYEN_{name.upper()}"] = str(getattr(settings, name))
    # A new worker process imports the platform before it answers the supervisor's health checks: on a busy
    # machine that took longer than uvicorn's 5 s, and the supervisor killed and restarted workers forever.
    options["timeout_worker_healthcheck"] = WORKER_HEALTHCHECK_SECONDS
    uvicorn.run("citoyen.cli:served_app", factory=True, workers=workers, **options)


def _check_workers(settings: Settings, workers: int) -> None:
    if workers > 1 and settings.is_sqlite:
        fail(
            f"--workers {workers} needs PostgreSQL (CITOYEN_DATABASE_URL=postgresql+asyncpg://...): the embedded "
            "SQLite database has one writer at a time, so several processes would queue on its lock (and live "
            "updates cross processes through PostgreSQL only). Serve it with one worker, or see docs/production.md."
        )


WorkersOption = Annotated[
    int,
    typer.Option(
        "--workers", min=1, help="Worker processes (uvicorn); more than one needs PostgreSQL (CITOYEN_DATABASE_URL)."
    ),
]


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    workers: WorkersOption = 1,
    data_dir: DataDirOption = None,
) -> None:
    """Serve the platform (the embedded SQLite database is migrated on start)."""
    settings = load_settings(data_dir)
    _check_workers(settings, workers)
    if not settings.is_sqlite:
        run(settings, _noop)  # production databases are migrated explicitly; check it answers
    _serve(settings, host, port, workers)


async def _noop(_session: AsyncSession) -> None:
    return None


@app.command()
def demo(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    data_dir: DataDirOption = None,
    build_only: Annotated[bool, typer.Option("--build-only", help="Build the demo city and exit.")] = False,
) -> None:
    """Build the demo city (Paris) on first run, then serve it. Later runs reuse the data."""
    from citoyen.addresses import base_url, served_url
    from citoyen.demo.common import DEMO_ACCOUNTS
    from citoyen.demo.generator import build_demo, demo_is_built

    settings = load_settings(data_dir, demo_mode=True)
    console = Console()

    async def build(session: AsyncSession) -> bool:
        if await demo_is_built(session):
            return False
        with _step_bars(console, "Building the demo city: ") as report:
            await build_demo(session, settings, report)
        return True

    built = run(settings, build)
    console.print("Demo city built." if built else f"Reusing the demo city in {settings.data_dir}.")
    if not build_only:
        console.print(f"\n[bold]Citoyen is at {base_url(settings) if settings.base_url else served_url(host, port)}[/]")
    console.print("\nDemo accounts (e-mail / password):")
    for account in DEMO_ACCOUNTS:
        console.print(f"  {account.role.value:<10} {account.email:<40} {account.password}")
    from citoyen.demo.budgets import DEMO_CITIZEN_IDENTIFIERS

    console.print(
        "\nTo vote in the participatory budget, the demo citizen verifies their residence at /account/verification "
        f"with the (fake) document number {DEMO_CITIZEN_IDENTIFIERS.document_number} "
        f"and birth date {DEMO_CITIZEN_IDENTIFIERS.birth_date}."
    )
    console.print("\nMail is not sent in demo mode: administrators read it at /admin/outbox.\n")
    if not build_only:
        _serve(settings, host, port)


@app.command()
def migrate(data_dir: DataDirOption = None) -> None:
    """Bring the database schema up to date (run this before starting a new version in production), with the
    observation partitions of the coming months."""
    from citoyen.sensing.tasks import partitions_ahead

    settings = load_settings(data_dir)
    asyncio.run(_upgrade(settings.database_url))
    made = run(settings, lambda session: partitions_ahead(session, utcnow()))
    typer.echo("database is up to date" + (f" ({made} observation partitions made ahead)" if made else ""))


@app.command()
def backup(
    directory: Annotated[Path, typer.Argument(help="A new (or empty) directory to write the backup into.")],
    data_dir: DataDirOption = None,
) -> None:
    """Back up the database (SQLite's online backup, or pg_dump -Fc on PostgreSQL), the open-data files and the
    keys of the data directory, while the platform runs. Restoring: docs/production.md."""
    from citoyen.backup import BackupError, make_backup

    try:
        report = make_backup(load_settings(data_dir), directory)
    except BackupError as exc:
        fail(str(exc), 1)
    typer.echo(f"database: {report.database}")
    typer.echo(f"open-data files: {report.files}")
    typer.echo(f"keys: {', '.join(report.keys) or 'none in the data directory (configured by environment)'}")


@app.command()
def housekeeping(data_dir: DataDirOption = None) -> None:
    """One round of housekeeping (expired sessions and links, spent counters, partitions ahead): for a
    scheduler, when served processes do not run it themselves (CITOYEN_HOUSEKEEPING_INTERVAL_SECONDS=0)."""
    from citoyen.app import build_event_hub, build_housekeeping

    settings = load_settings(data_dir)

    async def one_round() -> dict[str, int]:
        await _upgrade(settings.database_url)
        engine = make_app_engine(settings.database_url)
        try:
            return await build_housekeeping(settings).run(make_sessionmaker(engine, build_event_hub()))
        finally:
            await engine.dispose()

    done = asyncio.run(one_round())
    for name, count in done.items():
        typer.echo(f"{name}: {count}")


@app.command("import-territory")
def import_territory(
    file: Annotated[Path, typer.Argument(help="A GeoJSON FeatureCollection of Polygon/MultiPolygon features.")],
    name_field: Annotated[str, typer.Option("--name-field", help="Property holding each neighbourhood's name.")],
    code_field: Annotated[str | None, typer.Option("--code-field", help="Property holding its official code.")] = None,
    city_name: Annotated[str | None, typer.Option("--city-name", help="Defaults to CITOYEN_CITY_NAME.")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Replace the city's neighbourhoods with those of FILE (all or nothing)."""
    from citoyen.territory import service as territory

    settings = load_settings(data_dir)
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        fail(f"{file}: no such file")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        fail(f"{file} is not GeoJSON (not valid JSON: {exc})")
    try:
        neighbourhoods = territory.parse_neighbourhoods(data, name_field, code_field)
    except territory.TerritoryImportError as exc:
        fail(f"{file}: {exc}; nothing was changed")

    async def replace(session: AsyncSession) -> None:
        await territory.replace_neighbourhoods(
            session, city_name or settings.city_name, neighbourhoods, source=file.name
        )

    run(settings, replace)
    typer.echo(f"{len(neighbourhoods)} neighbourhoods imported from {file.name}")


@territory_app.command("import-addresses")
def import_addresses(
    file: Annotated[Path, typer.Argument(help="Addresses in the BAN's CSV format (adresse.data.gouv.fr, ';').")],
    data_dir: DataDirOption = None,
) -> None:
    """Replace the addresses the geocoder knows with those of FILE, all or nothing: a bad line stops the import
    with its number, and the addresses there before stay."""
    from citoyen.territory import service as territory

    settings = load_settings(data_dir)
    if not file.is_file():
        fail(f"{file}: no such file")
    size = file.stat().st_size

    async def store(session: AsyncSession) -> int:
        with (
            Progress(
                TextColumn("[bold]Importing addresses"),
                BarColumn(),
                TextColumn("{task.percentage:>3.0f} %"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
            ) as progress,
            file.open("rb") as binary,
        ):
            task = progress.add_task("addresses", total=size or 1)
            imported = await territory.import_addresses(
                session, binary, file.name, lambda read: progress.update(task, completed=read)
            )
            return imported.count

    try:
        count = run(settings, store)
    except territory.AddressImportError as exc:
        fail(f"{file}: {exc}; nothing was imported")
    typer.echo(f"{count} addresses imported from {file.name}")


@territory_app.command("import-population")
def import_population(
    file: Annotated[
        Path, typer.Argument(help="INSEE population CSV: the IRIS base (IRIS, P21_POP) or one quartier a line.")
    ],
    data_dir: DataDirOption = None,
) -> None:
    """Replace the neighbourhoods' populations with those of FILE, all or nothing: a bad line stops the import
    with its number, and the populations there before stay."""
    from citoyen.territory import service as territory

    settings = load_settings(data_dir)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(f"{file}: no such file")
    except UnicodeDecodeError:
        fail(f"{file}: not UTF-8 text; nothing was imported")

    async def store(session: AsyncSession) -> Any:
        return await territory.import_population(session, text, file.name)

    try:
        found = run(settings, store)
    except territory.PopulationImportError as exc:
        fail(f"{file}: {exc}; nothing was imported")
    total = round(sum(found.populations.values()))
    typer.echo(f"{len(found.populations)} neighbourhoods, {total:,} residents imported from {file.name}")
    if found.outside:
        typer.echo(f"{found.outside} lines about places outside the city passed over")
    if found.missing:
        typer.echo(f"no population for {len(found.missing)} neighbourhoods: {', '.join(found.missing[:10])}")


@buildings_app.command("import")
def import_buildings(
    file: Annotated[Path, typer.Argument(help="CSV: name, use, floor_area_m2, year_built, lon, lat, dwellings...")],
    data_dir: DataDirOption = None,
) -> None:
    """Create the buildings of FILE with their meters (SensorThings Things), all or nothing: a bad line stops the
    import with its number, and nothing is created."""
    from citoyen.addresses import base_url
    from citoyen.buildings import service as buildings
    from citoyen.sensing import service as sensing
    from citoyen.territory import service as territory

    settings = load_settings(data_dir)
    try:
        specs = buildings.parse_buildings(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        fail(f"{file}: no such file")
    except UnicodeDecodeError:
        fail(f"{file}: not UTF-8 text; nothing was imported")
    except buildings.BuildingImportError as exc:
        fail(f"{file}: {exc}; nothing was imported")

    async def create(session: AsyncSession) -> int:
        ctx = sensing.Context(
            access=sensing.Access(is_staff=True),
            base_url=base_url(settings),
            territory=territory.TerritoryIndexCache(3600.0),
        )
        return len(await buildings.import_buildings(session, ctx, specs))

    try:
        count = run(settings, create)
    except buildings.BuildingImportError as exc:
        fail(f"{file}: {exc}; nothing was imported")
    typer.echo(f"{count} buildings imported from {file.name}")


@app.command("create-admin")
def create_admin(
    email: Annotated[str, typer.Argument(help="The administrator's e-mail address.")],
    password: Annotated[
        str | None,
        typer.Option(help="Defaults to a generated password, printed once.", envvar="CITOYEN_ADMIN_PASSWORD"),
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Create an administrator account (or make an existing account administrator)."""
    from citoyen.people import service as people
    from citoyen.people.models import Role

    settings = load_settings(data_dir)
    generated = password is None
    secret = password if password is not None else secrets.token_urlsafe(12)

    async def create(session: AsyncSession) -> str:
        existing = await people.find_person_by_email(session, email)
        if existing is not None:
            existing.role = Role.ADMIN
            return "existing account is now administrator"
        await people.create_person(session, email, secret, role=Role.ADMIN)
        return "administrator created"

    try:
        outcome = run(settings, create)
    except people.PeopleError as exc:
        fail("; ".join(exc.problems))
    typer.echo(outcome)
    if generated and outcome == "administrator created":
        typer.echo(f"password: {secret}")


@app.command("import-residents")
def import_residents(
    file: Annotated[Path, typer.Argument(help="A CSV file with the columns document_number and birth_date.")],
    name: Annotated[str | None, typer.Option("--name", help="Name of the list (defaults to the file name).")] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Import a residents' list for verification (one person, one vote): only keyed hashes are stored."""
    from citoyen.verification import service as verification

    settings = load_settings(data_dir)
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        fail(f"{file}: no such file")
    except IsADirectoryError:
        fail(f"{file} is a directory")
    try:
        parsed = verification.parse_resident_csv(data)
    except verification.ResidentListError as exc:
        fail(f"{file}: " + "; ".join(exc.problems) + "; nothing was imported")
    del data

    async def store(session: AsyncSession) -> int:
        imported = await verification.import_resident_list(session, settings, name or file.name, parsed)
        return imported.id

    list_id = run(settings, store)
    typer.echo(f"{len(parsed.identifiers)} residents imported from {file.name} (list {list_id}, hashed)")


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option("--name", help="Who or what uses the token.")],
    scope: Annotated[list[str], typer.Option("--scope", help="Repeat for several: sensing:write, open311, ...")],
    data_dir: DataDirOption = None,
) -> None:
    """Create a token and print it alone on stdout (it is stored hashed: save it now)."""
    from citoyen.people import service as people

    async def create(session: AsyncSession) -> str:
        _token, secret = await people.create_api_token(session, name, scope)
        return secret

    try:
        secret = run(load_settings(data_dir), create)
    except people.PeopleError as exc:
        fail("; ".join(exc.problems) + " Known scopes: " + ", ".join(people.API_SCOPES))
    sys.stdout.write(secret + "\n")


@token_app.command("list")
def token_list(data_dir: DataDirOption = None) -> None:
    """List tokens (never their secrets)."""
    from citoyen.people import service as people

    for token in run(load_settings(data_dir), people.list_api_tokens):
        state = "revoked" if token.revoked_at else "active"
        typer.echo(f"{token.id}\t{token.name}\t{token.scopes}\t{token.prefix}…\t{state}")


@token_app.command("revoke")
def token_revoke(token_id: Annotated[int, typer.Argument()], data_dir: DataDirOption = None) -> None:
    """Revoke a token by its id (see `citoyen token list`)."""
    from citoyen.people import service as people

    async def revoke(session: AsyncSession) -> None:
        await people.revoke_api_token(session, token_id)

    try:
        run(load_settings(data_dir), revoke)
    except people.PeopleError as exc:
        fail("; ".join(exc.problems))
    typer.echo(f"token {token_id} revoked")


@app.command("send-digests")
def send_digests(data_dir: DataDirOption = None) -> None:
    """Send today's e-mail digests of followed news (to people who consented); safe to run again."""
    from citoyen.participation.follows import service as follows

    settings = load_settings(data_dir)

    async def send(session: AsyncSession) -> follows.DigestRun:
        return await follows.send_digests(session, settings)

    result = run(settings, send)
    typer.echo(
        f"digests sent: {result.sent}; already sent today: {result.already_sent}; "
        f"consent withdrawn: {result.without_consent} (the mail leaves through the outbox)"
    )


@opendata_app.command("publish")
def opendata_publish(data_dir: DataDirOption = None) -> None:
    """Publish the platform's own datasets into the catalogue now (a new file version only where the content
    changed); exits non-zero, naming them, when some datasets could not be published (the others are)."""
    from rich.table import Table

    from citoyen.opendata.publication import PublicationReport, refresh_platform, sessions_like

    settings = load_settings(data_dir)

    async def publish(session: AsyncSession) -> PublicationReport:
        # Each dataset in short transactions of its own: a running app keeps answering writes meanwhile.
        return await refresh_platform(sessions_like(session), settings)

    report = run(settings, publish)
    table = Table("dataset", "resources", "versions made", "rows", "seconds", "change")
    for outcome in report.datasets:
        change = f"failed: {outcome.error}" if outcome.error else outcome.skipped or outcome.change_note_en
        table.add_row(
            outcome.name,
            str(outcome.resources),
            str(outcome.versions),
            str(outcome.rows),
            f"{outcome.seconds:.2f}",
            change,
        )
    table.add_row("total", "", str(report.versions), "", f"{report.seconds:.2f}", f"{report.releases} privacy releases")
    Console(width=160).print(table)
    if report.failed:
        fail(f"{len(report.failed)} dataset(s) not published: {', '.join(o.name for o in report.failed)}", 1)


@indicators_app.command("rebuild")
def indicators_rebuild(data_dir: DataDirOption = None) -> None:
    """Recompute the indicators' rollups from the raw sensor readings, reports and proposals (after an import, or
    to catch up with readings changed or deleted since they were stored), in one transaction."""
    from citoyen.indicators import service as indicators

    settings = load_settings(data_dir)
    console = Console()

    async def rebuild(session: AsyncSession) -> indicators.Rebuilt:
        with Progress(
            TextColumn("[bold]Rolling up the Datastreams"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            console=console,
        ) as progress:
            task = progress.add_task("rollups", total=None)

            def report(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            return await indicators.rebuild(session, report)

    done = run(settings, rebuild)
    console.print(
        f"{done.datastreams} Datastreams: {done.datastream_buckets} hourly and daily buckets, "
        f"{done.area_buckets} per quartier; {done.civic_buckets} daily counts of reports and proposals."
    )


@foresight_app.command("run")
def foresight_run(data_dir: DataDirOption = None) -> None:
    """Run the early warning now on the app's data (as its scheduled task does): the detectors on the public
    sensors' daily values and the reports per quartier and category, the scan for clusters of reports, and the
    7-day forecasts of the indicators and Datastreams; new alerts notify the concerned staff. Running it twice
    on the same data changes nothing."""
    from citoyen.alerts import service as alerts

    settings = load_settings(data_dir)
    console = Console()

    async def work(session: AsyncSession) -> alerts.AlertRun | None:
        with _step_bars(console) as report:
            return await alerts.run_foresight(
                session, "command", force=True, progress=report, departments=settings.alert_departments
            )

    done = run(settings, work)
    assert done is not None  # a forced run always runs
    console.print(
        f"Data up to {done.data_through}: {done.series_checked} series judged ({done.not_enough_data} with not "
        f"enough data), {done.alerts_raised} new alerts, {done.alerts_updated} updated; "
        f"{done.forecasts_made} forecasts beat seasonal naive."
    )


@opinions_app.command("import-polis")
def opinions_import_polis(
    directory: Annotated[Path, typer.Argument(help="A Pol.is export: comments.csv and votes.csv.")],
    process: Annotated[str, typer.Option("--process", help="The slug of the process the conversation joins.")],
    question: Annotated[
        str, typer.Option(help="The conversation's question (Pol.is's files do not hold it).")
    ] = "Conversation importée de Pol.is",
    data_dir: DataDirOption = None,
) -> None:
    """Import a Pol.is conversation (statements and votes keep their Pol.is numbers); prints its new id last."""
    from citoyen.opinions import service as opinions
    from citoyen.participation import service as participation

    settings = load_settings(data_dir)
    try:
        export = opinions.read_polis_export(directory)
    except opinions.PolisFormatError as exc:
        fail(f"{directory / exc.file}: {exc}; nothing was imported")

    async def store(session: AsyncSession) -> tuple[int, int]:
        found = await participation.get_process_by_slug(session, process, include_unpublished=True)
        conversation = await opinions.import_polis(session, found.id, export, question)
        done = await opinions.recompute(session, conversation.id)
        return conversation.id, done.group_count

    try:
        conversation_id, groups = run(settings, store)
    except participation.ParticipationError:
        fail(f"no process with the slug {process!r}; nothing was imported")
    typer.echo(
        f"{len(export.comments)} statements and {len(export.votes)} votes imported from {directory}; {groups} groups"
    )
    typer.echo(str(conversation_id))


@opinions_app.command("export-polis")
def opinions_export_polis(
    conversation: Annotated[int, typer.Argument(help="The conversation's id.")],
    directory: Annotated[Path, typer.Argument(help="Where to write comments.csv, votes.csv, participants-votes.csv.")],
    data_dir: DataDirOption = None,
) -> None:
    """Export a conversation in Pol.is's format, with each participant's opinion group."""
    from citoyen.opinions import service as opinions

    settings = load_settings(data_dir)

    async def read(session: AsyncSession) -> dict[str, str]:
        return await opinions.export_polis(session, conversation)

    try:
        files = run(settings, read)
    except opinions.OpinionError:
        fail(f"no conversation {conversation}")
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    typer.echo(f"{', '.join(files)} written to {directory}")


@projects_app.command("import")
def import_projects(
    file: Annotated[
        Path, typer.Argument(help="A CSV file (geometry as WKT or GeoJSON) or a GeoJSON FeatureCollection.")
    ],
    data_dir: DataDirOption = None,
) -> None:
    """Import the projects of FILE: all of them, or none when a line is wrong (exit 2 naming it)."""
    from citoyen.projects import service as projects
    from citoyen.territory import service as territory

    settings = load_settings(data_dir)
    try:
        content = file.read_bytes()
    except OSError as exc:
        fail(f"{file}: {exc.strerror or exc}")

    async def store(session: AsyncSession) -> int:
        return await projects.import_projects(session, territory.TerritoryIndexCache(), content, file.name)

    try:
        count = run(settings, store)
    except projects.ProjectImportError as exc:
        fail(f"{file.name}, {exc}; nothing was imported")
    typer.echo(f"{count} projects imported from {file.name}")


def main() -> None:
    app()
