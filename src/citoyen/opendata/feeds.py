"""The datasets the platform publishes about itself, and how each is written.

A `Feed` describes one dataset (titles and Markdown descriptions in French and English, EU data themes,
publisher department, licence, EU update frequency, keywords) and its resources; a `FeedResource` is one table
(CSV with its Frictionless Table Schema) or map layer (GeoJSON) with the function that produces its rows, batch
by batch, from the domain that owns them (through that domain's `service`: opendata never reads another domain's
tables). `write_feed` renders every resource and the dataset's `datapackage.json` into a directory;
`write_resource` renders one resource into a stream the caller gives.

Counts about people (reports per neighbourhood, category and week; participants per neighbourhood; survey answers
per option) are built in `opendata.aggregates` and leave only through the privacy layer; each release appends its
ledger entry to the `PublishContext`, for the catalogue to record.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import utcnow
from citoyen.opendata import (
    aggregates,
    mobility_feeds,
    opinion_feeds,
    project_feeds,
    reference_feeds,
    sensor_feeds,
    statistics_feeds,
)
from citoyen.opendata.feed_kit import (
    ID,
    LAT,
    LON,
    NEIGHBOURHOOD,
    NEIGHBOURHOOD_ID,
    Batches,
    Feed,
    FeedResource,
    PublishContext,
    Rows,
    col,
    rows_at_once,
)
from citoyen.opendata.privacy import LedgerEntry, already_released
from citoyen.opendata.tabular import write_csv, write_geojson
from citoyen.opendata.vocabularies import LICENCES
from citoyen.participation import service as participation
from citoyen.people import service as people
from citoyen.reports import service as reports
from citoyen.territory import service as territory


@dataclass(frozen=True)
class WrittenResource:
    resource: FeedResource
    path: Path
    rows: int


@dataclass(frozen=True)
class WrittenFeed:
    feed: Feed
    directory: Path
    resources: list[WrittenResource]
    datapackage: Path


# --- writing ------------------------------------------------------------------------------------------


async def write_resource(ctx: PublishContext, resource: FeedResource, stream: IO[str]) -> int:
    """Render one resource into `stream` (UTF-8 text, opened with `newline=""`); returns its row count."""
    if resource.format == "csv":
        return await write_csv(resource.columns, resource.rows(ctx), stream)
    return await write_geojson(resource.columns, resource.rows(ctx), stream)


def datapackage(feed: Feed, resources: Sequence[FeedResource], created: datetime) -> dict[str, Any]:
    """The Frictionless Data Package descriptor of a dataset whose resources sit beside it."""
    licence = LICENCES.get(feed.licence)
    described: dict[str, Any] = {"name": feed.licence}
    if licence is not None:
        described |= {"path": licence.uri, "title": licence.title.fr}
    package: dict[str, Any] = {
        "name": feed.slug,
        "title": feed.title,
        "description": f"{feed.description}\n\n---\n\n{feed.description_en}",
        "licenses": [described],
        "keywords": list(feed.keywords),
        "created": created.isoformat(),
        "resources": [],
    }
    for resource in resources:
        item: dict[str, Any] = {
            "name": resource.name,
            "path": resource.filename,
            "title": resource.title,
            "description": f"{resource.description}\n\n{resource.description_en}",
            "format": resource.format,
            "mediatype": resource.mediatype,
            "encoding": "utf-8",
        }
        if resource.format == "csv":
            item["profile"] = "tabular-data-resource"
            item["schema"] = resource.schema()
        package["resources"].append(item)
    return package


async def write_feed(ctx: PublishContext, feed: Feed, directory: Path) -> WrittenFeed:
    """Write every resource of `feed` and its `datapackage.json` into `directory` (created if needed)."""
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    written = []
    for resource in feed.resources:
        path = directory / resource.filename
        with path.open("w", encoding="utf-8", newline="") as stream:
            count = await write_resource(ctx, resource, stream)
        written.append(WrittenResource(resource, path, count))
    package = directory / "datapackage.json"
    descriptor = datapackage(feed, feed.resources, ctx.now)
    text = json.dumps(descriptor, ensure_ascii=False, indent=2)
    await asyncio.to_thread(package.write_text, text, encoding="utf-8")
    return WrittenFeed(feed, directory, written, package)


def _problems(package: Path) -> list[str]:
    import frictionless  # here, not with the module: only publication runs validate

    report = frictionless.validate(str(package))
    problems = []
    for task in report.tasks:
        for error in task.errors:
            row, field = getattr(error, "row_number", None) or "-", getattr(error, "field_name", None) or "-"
            problems.append(f"{task.name} row {row} field {field}: {error.type}: {error.note}")
    return problems + [f"datapackage: {error.type}: {error.note}" for error in report.errors]


async def validate(written: WrittenFeed) -> list[str]:
    """What `frictionless validate` finds wrong in a written dataset (nothing: it may be published), one line
    per problem naming the resource, row and field. Runs in a thread: it reads every row."""
    return await asyncio.to_thread(_problems, written.datapackage)


# --- helpers for the producers ----------------------------------------------------------------------------


def _with_neighbourhood(batches: Callable[[PublishContext], Batches]) -> Rows:
    """Adds the neighbourhood's name beside its id."""

    async def rows(ctx: PublishContext) -> Batches:
        names = await ctx.neighbourhood_names()
        async for batch in batches(ctx):
            for row in batch:
                row["neighbourhood"] = names.get(row["neighbourhood_id"]) if row.get("neighbourhood_id") else None
            yield batch

    return rows


# --- reports ---------------------------------------------------------------------------------------------

REPORT_STATUSES = ("open", "acknowledged", "in_progress", "closed")
REPORT_COLUMNS = (
    ID,
    col("category", "string", "Code de la catégorie", "Category code", required=True),
    col("category_name", "string", "Catégorie", "Category"),
    col("category_name_en", "string", "Catégorie (anglais)", "Category (English)"),
    col("status", "string", "État", "Status", required=True, allowed=REPORT_STATUSES),
    col("close_reason", "string", "Motif de clôture", "Reason for closing"),
    NEIGHBOURHOOD_ID,
    NEIGHBOURHOOD,
    col(
        "lon",
        "number",
        "Longitude",
        "Longitude",
        "lieu public du problème, tel que la carte le montre (WGS84)",
        "public place of the problem, as the map shows it (WGS84)",
        required=True,
    ),
    col("lat", "number", "Latitude", "Latitude", "WGS84", "WGS84", required=True),
    col("address", "string", "Adresse", "Address", "adresse du lieu signalé", "address of the reported place"),
    col("requested_at", "datetime", "Signalé le", "Reported at", "UTC", "UTC", required=True),
    col("updated_at", "datetime", "Mis à jour le", "Updated at", "UTC", "UTC"),
    col("closed_at", "datetime", "Clos le", "Closed at", "UTC", "UTC"),
    col("public_answer", "string", "Réponse publique", "Public answer", "réponse des services", "the city's answer"),
    col("supports", "integer", "Soutiens", "Supports", "nombre de « moi aussi »", "number of “me too”"),
    col("duplicate_of", "integer", "Doublon de", "Duplicate of", "signalement d’origine", "original report"),
)


def _reports(ctx: PublishContext) -> Batches:
    return reports.public_reports(ctx.session)


REPORT_ROWS = _with_neighbourhood(_reports)


def reports_feed() -> Feed:
    description = (
        "Tous les signalements de problèmes dans l’espace public (nids-de-poule, éclairage, propreté…) : "
        "catégorie, état, quartier, lieu public du problème, dates et réponse des services. "
        "**Aucune donnée sur les personnes qui signalent** : ni nom, ni contact, ni texte libre."
    )
    description_en = (
        "Every report of a problem in public space (potholes, lighting, cleanliness…): category, status, "
        "neighbourhood, public place of the problem, dates and the city's answer. "
        "**Nothing about the people who report**: no name, no contact, no free text."
    )
    return Feed(
        slug="signalements",
        title="Signalements dans l’espace public",
        title_en="Reports of problems in public space",
        description=description,
        description_en=description_en,
        themes=("REGI", "GOVE"),
        frequency="DAILY",
        keywords=("signalements", "open311", "espace public", "voirie"),
        resources=(
            FeedResource(
                "signalements",
                "Signalements",
                "Reports",
                "Un signalement par ligne.",
                "One report per line.",
                "csv",
                REPORT_COLUMNS,
                REPORT_ROWS,
                ("id",),
            ),
            FeedResource(
                "signalements-carte",
                "Carte des signalements",
                "Map of reports",
                "Les mêmes signalements, en points GeoJSON.",
                "The same reports as GeoJSON points.",
                "geojson",
                tuple(c for c in REPORT_COLUMNS if c.name not in ("lon", "lat")),
                REPORT_ROWS,
            ),
        ),
    )


# --- participation -----------------------------------------------------------------------------------------

PROPOSAL_STATUSES = ("published", "evaluating", "accepted", "rejected", "in_progress", "done")
PROPOSAL_COLUMNS = (
    ID,
    col("process", "string", "Démarche", "Process", "identifiant court", "short name", required=True),
    col("category", "string", "Catégorie", "Category"),
    col("title", "string", "Titre", "Title", required=True),
    col("body", "string", "Texte", "Text"),
    col(
        "language",
        "string",
        "Langue",
        "Language",
        "langue dans laquelle l’auteur a écrit (fr ou en)",
        "language the author wrote in (fr or en)",
        allowed=("fr", "en"),
    ),
    NEIGHBOURHOOD_ID,
    NEIGHBOURHOOD,
    LON,
    LAT,
    col("status", "string", "État", "Status", required=True, allowed=PROPOSAL_STATUSES),
    col("progress", "integer", "Avancement (%)", "Progress (%)"),
    col("supports", "integer", "Soutiens", "Supports"),
    col("comments", "integer", "Commentaires", "Comments"),
    col("created_at", "datetime", "Déposée le", "Submitted at", "UTC", "UTC", required=True),
    col("answered_at", "datetime", "Réponse le", "Answered at", "UTC", "UTC"),
)
ANSWER_COLUMNS = (
    ID,
    col("proposal_id", "integer", "Proposition", "Proposal", required=True),
    col("status", "string", "Décision", "Decision", required=True, allowed=PROPOSAL_STATUSES),
    col("answer", "string", "Réponse officielle", "Official answer"),
    col("progress", "integer", "Avancement (%)", "Progress (%)"),
    col("answered_at", "datetime", "Répondu le", "Answered at", "UTC", "UTC", required=True),
)


def _proposals(ctx: PublishContext, process_id: int | None = None) -> Batches:
    return participation.public_proposals(ctx.session, process_id=process_id)


def _answers(ctx: PublishContext, process_id: int | None = None) -> Batches:
    return participation.public_answers(ctx.session, process_id=process_id)


def _proposal_resources(process_id: int | None) -> tuple[FeedResource, FeedResource]:
    return (
        FeedResource(
            "propositions",
            "Propositions",
            "Proposals",
            "Une proposition par ligne.",
            "One proposal per line.",
            "csv",
            PROPOSAL_COLUMNS,
            _with_neighbourhood(lambda ctx: _proposals(ctx, process_id)),
            ("id",),
        ),
        FeedResource(
            "reponses",
            "Réponses officielles",
            "Official answers",
            "Chaque réponse de la ville à une proposition.",
            "Each of the city's answers to a proposal.",
            "csv",
            ANSWER_COLUMNS,
            lambda ctx: _answers(ctx, process_id),
            ("id",),
        ),
    )


async def process_proposals_feeds(session: AsyncSession) -> list[Feed]:
    """One dataset per published process with public proposals: its proposals and the city's answers."""
    feeds = []
    for process in await participation.public_processes(session):
        if not process["proposals"]:
            continue
        title, title_en = process["title"], process["title_en"]
        feeds.append(
            Feed(
                slug=f"propositions-{process['slug']}"[:100],
                title=f"Propositions\u00a0: {title}",
                title_en=f"Proposals: {title_en}",
                description=(
                    f"Les propositions publiques de la démarche « {title} » (texte, lieu, état, soutiens) et les "
                    "réponses officielles de la ville. Les auteurs ne sont jamais publiés."
                ),
                description_en=(
                    f"The public proposals of the process “{title_en}” (text, place, status, supports) and the "
                    "city's official answers. Authors are never published."
                ),
                themes=("GOVE", "SOCI"),
                frequency="DAILY",
                keywords=("participation", "propositions", process["slug"]),
                publisher="participation",
                resources=_proposal_resources(process["id"]),
            )
        )
    return feeds


def proposals_feed() -> Feed:
    return Feed(
        slug="propositions-citoyennes",
        title="Propositions citoyennes et réponses de la ville",
        title_en="Citizens' proposals and the city's answers",
        description=(
            "Les propositions publiques des démarches participatives (texte, lieu, état, soutiens) et les "
            "réponses officielles de la ville. Les auteurs ne sont jamais publiés."
        ),
        description_en=(
            "The public proposals of participatory processes (text, place, status, supports) and the city's "
            "official answers. Authors are never published."
        ),
        themes=("GOVE", "SOCI"),
        frequency="DAILY",
        keywords=("participation", "propositions", "démocratie participative"),
        publisher="participation",
        resources=_proposal_resources(None),
    )


BUDGET_COLUMNS = (
    col("budget_id", "integer", "Budget", "Budget", required=True),
    col("budget", "string", "Nom du budget", "Budget name"),
    col("budget_en", "string", "Nom du budget (anglais)", "Budget name (English)"),
    col("process", "string", "Démarche", "Process"),
    col("project_id", "integer", "Projet", "Project", required=True),
    col("project", "string", "Nom du projet", "Project name"),
    col("project_en", "string", "Nom du projet (anglais)", "Project name (English)"),
    NEIGHBOURHOOD_ID,
    NEIGHBOURHOOD,
    col("cost_cents", "integer", "Coût (centimes d’euro)", "Cost (euro cents)"),
    col("votes", "integer", "Voix", "Votes", "bulletins choisissant le projet", "ballots selecting the project"),
    col("voters", "integer", "Votants", "Voters", "bulletins du budget", "ballots of the budget"),
    col("funded", "boolean", "Financé", "Funded", "selon la méthode officielle", "by the official method"),
    col("method", "string", "Méthode officielle", "Official method"),
    col("voting_ended_at", "datetime", "Fin du vote", "Voting ended at", "UTC", "UTC"),
)


async def _budget_rows(ctx: PublishContext) -> list[dict[str, Any]]:
    names = await ctx.neighbourhood_names()
    rows = await participation.budget_results(ctx.session)
    for row in rows:
        row["neighbourhood"] = names.get(row["neighbourhood_id"]) if row["neighbourhood_id"] else None
    return rows


def budgets_feed() -> Feed:
    return Feed(
        slug="budget-participatif-resultats",
        title="Budget participatif : résultats des votes",
        title_en="Participatory budget: results of the votes",
        description=(
            "Pour chaque budget dont le vote est clos : les projets, leur coût, leurs voix et s’ils sont "
            "financés selon la méthode officielle. Ce sont les résultats officiels ; les bulletins ne sont pas "
            "publiés."
        ),
        description_en=(
            "For each budget whose vote has ended: the projects, their cost, their votes and whether the "
            "official method funds them. These are the official results; ballots are not published."
        ),
        themes=("GOVE", "ECON"),
        frequency="IRREG",
        keywords=("budget participatif", "vote", "participation"),
        publisher="participation",
        resources=(
            FeedResource(
                "resultats",
                "Résultats par projet",
                "Results per project",
                "Un projet par ligne.",
                "One project per line.",
                "csv",
                BUDGET_COLUMNS,
                rows_at_once(_budget_rows),
                ("budget_id", "project_id"),
            ),
        ),
    )


# --- territory and people ----------------------------------------------------------------------------------

NEIGHBOURHOOD_COLUMNS = (
    ID,
    col("name", "string", "Nom", "Name", required=True),
    col("code", "string", "Code", "Code"),
    col("area_m2", "number", "Surface (m²)", "Area (m²)"),
    col("centroid_lon", "number", "Longitude du centre", "Centre longitude"),
    col("centroid_lat", "number", "Latitude du centre", "Centre latitude"),
)


async def _neighbourhood_rows(ctx: PublishContext) -> list[dict[str, Any]]:
    return [
        {
            "id": n.id,
            "name": n.name,
            "code": n.code,
            "area_m2": round(n.area_m2, 1),
            "centroid_lon": n.centroid_lon,
            "centroid_lat": n.centroid_lat,
            "geometry": n.geometry,
        }
        for n in await territory.list_neighbourhoods(ctx.session)
    ]


def neighbourhoods_feed() -> Feed:
    return Feed(
        slug="quartiers",
        title="Quartiers de la ville",
        title_en="The city's neighbourhoods",
        description="Les limites des quartiers (GeoJSON, WGS84) et leur surface.",
        description_en="The neighbourhoods' boundaries (GeoJSON, WGS84) and their area.",
        themes=("REGI",),
        frequency="IRREG",
        keywords=("quartiers", "limites administratives", "géographie"),
        resources=(
            FeedResource(
                "quartiers",
                "Limites des quartiers",
                "Neighbourhood boundaries",
                "Un polygone par quartier.",
                "One polygon per neighbourhood.",
                "geojson",
                NEIGHBOURHOOD_COLUMNS,
                rows_at_once(_neighbourhood_rows),
            ),
            FeedResource(
                "quartiers-liste",
                "Liste des quartiers",
                "List of neighbourhoods",
                "Un quartier par ligne, avec son centre.",
                "One neighbourhood per line, with its centre.",
                "csv",
                NEIGHBOURHOOD_COLUMNS,
                rows_at_once(_neighbourhood_rows),
                ("id",),
            ),
        ),
    )


DEPARTMENT_COLUMNS = (
    ID,
    col("code", "string", "Code", "Code", required=True),
    col("name", "string", "Nom", "Name", required=True),
)


async def _department_rows(ctx: PublishContext) -> list[dict[str, Any]]:
    return [{"id": d.id, "code": d.code, "name": d.name} for d in await people.list_departments(ctx.session)]


def departments_feed() -> Feed:
    return Feed(
        slug="services-municipaux",
        title="Services municipaux",
        title_en="The city's departments",
        description="Les services de la ville qui traitent les signalements et publient des données.",
        description_en="The city's departments that handle reports and publish data.",
        themes=("GOVE",),
        frequency="IRREG",
        keywords=("administration", "services municipaux"),
        resources=(
            FeedResource(
                "services",
                "Services",
                "Departments",
                "Un service par ligne.",
                "One department per line.",
                "csv",
                DEPARTMENT_COLUMNS,
                rows_at_once(_department_rows),
                ("id",),
            ),
        ),
    )


# --- the whole platform ----------------------------------------------------------------------------------


async def platform_feeds(session: AsyncSession, now: datetime | None = None) -> list[Feed]:
    """Every dataset the platform publishes about itself, as of now. A feed's publisher is kept only when
    that department exists (otherwise the city as a whole publishes it)."""
    feeds = [
        reports_feed(),
        statistics_feeds.report_handling_feed(),
        proposals_feed(),
        *await process_proposals_feeds(session),
        budgets_feed(),
        sensor_feeds.sensors_feed(),
        *await sensor_feeds.kind_feeds(session, now or utcnow()),
        statistics_feeds.sensor_summaries_feed(),
        mobility_feeds.carpool_flows_feed(),
        *await opinion_feeds.conversation_feeds(session),
        project_feeds.projects_feed(),
        neighbourhoods_feed(),
        departments_feed(),
        *reference_feeds.reference_feeds(),
        *await aggregates.aggregate_feeds(session, now or utcnow()),
    ]
    codes = {department.code for department in await people.list_departments(session)}
    return [feed if feed.publisher is None or feed.publisher in codes else _without_publisher(feed) for feed in feeds]


def _without_publisher(feed: Feed) -> Feed:
    return replace(feed, publisher=None)


async def write_platform(
    ctx: PublishContext, directory: Path, released: Iterable[LedgerEntry] = ()
) -> list[WrittenFeed]:
    """Write every platform feed into `directory/<slug>/`, but a feed of counts about people whose period
    the ledger already holds (`released`: the catalogue's privacy ledger): a period's ε is spent once.
    The new releases' entries are in `ctx.ledger` afterwards, for the catalogue to record."""
    done = list(released)
    written = []
    for feed in await platform_feeds(ctx.session, ctx.now):
        if feed.period is not None and already_released(done, feed.slug, feed.period):
            continue
        written.append(await write_feed(ctx, feed, directory / feed.slug))
    return written
