"""The platform's reference datasets: what can be reported (the categories), the participatory processes, the
projects put to participatory budgets, and how accepted proposals are carried out (their milestones). Public
descriptions only, read through each domain's service: nobody's name, account or contact."""

from __future__ import annotations

from typing import Any

from citoyen.opendata.feed_kit import (
    ID,
    NEIGHBOURHOOD,
    NEIGHBOURHOOD_ID,
    Batches,
    Feed,
    FeedResource,
    PublishContext,
    col,
    rows_at_once,
)
from citoyen.participation import service as participation
from citoyen.reports import service as reports

CATEGORY_COLUMNS = (
    ID,
    col("code", "string", "Code", "Code", "code du service Open311", "Open311 service code", required=True),
    col("name", "string", "Nom", "Name", required=True),
    col("name_en", "string", "Nom (anglais)", "Name (English)"),
    col("group", "string", "Groupe", "Group"),
    col("description", "string", "Description", "Description"),
    col("keywords", "string", "Mots-clés", "Keywords"),
    col("active", "boolean", "Active", "Active", "proposée aux habitants", "offered to residents"),
)


async def _category_rows(ctx: PublishContext) -> list[dict[str, Any]]:
    return [
        {
            "id": category.id,
            "code": category.code,
            "name": category.name,
            "name_en": category.name_en or category.name,
            "group": category.group,
            "description": category.description,
            "keywords": category.keywords,
            "active": category.active,
        }
        for category in await reports.list_categories(ctx.session, include_inactive=True)
    ]


def categories_feed() -> Feed:
    return Feed(
        slug="categories-de-signalement",
        title="Catégories de signalement",
        title_en="Report categories",
        description="Ce que les habitants peuvent signaler (les services Open311 de la ville), par groupe.",
        description_en="What residents can report (the city's Open311 services), by group.",
        themes=("GOVE", "REGI"),
        frequency="IRREG",
        keywords=("signalements", "open311", "nomenclature"),
        resources=(
            FeedResource(
                "categories",
                "Catégories",
                "Categories",
                "Une catégorie par ligne.",
                "One category per line.",
                "csv",
                CATEGORY_COLUMNS,
                rows_at_once(_category_rows),
                ("id",),
            ),
        ),
    )


PROCESS_COLUMNS = (
    ID,
    col("slug", "string", "Identifiant court", "Short name", required=True),
    col("title", "string", "Titre", "Title", required=True),
    col("title_en", "string", "Titre (anglais)", "Title (English)"),
    col("description", "string", "Description", "Description", "Markdown", "Markdown"),
    col("whole_city", "boolean", "Toute la ville", "Whole city"),
    col("starts_at", "datetime", "Début", "Start", "UTC", "UTC"),
    col("ends_at", "datetime", "Fin", "End", "UTC", "UTC"),
    col("phases", "string", "Phases", "Phases", "type début/fin\u202f; …", "kind start/end; …"),
    col("proposals", "integer", "Propositions publiques", "Public proposals"),
)
PROJECT_COLUMNS = (
    ID,
    col("budget_id", "integer", "Budget", "Budget", required=True),
    col("budget", "string", "Nom du budget", "Budget name"),
    col("process", "string", "Démarche", "Process"),
    col("budget_total_cents", "integer", "Montant du budget (centimes)", "Budget amount (cents)"),
    col("title", "string", "Projet", "Project", required=True),
    col("title_en", "string", "Projet (anglais)", "Project (English)"),
    col("description", "string", "Description", "Description"),
    col("place", "string", "Lieu", "Place"),
    NEIGHBOURHOOD_ID,
    NEIGHBOURHOOD,
    col("cost_cents", "integer", "Coût (centimes d’euro)", "Cost (euro cents)"),
    col("proposal_id", "integer", "Proposition d’origine", "Originating proposal"),
)
MILESTONE_COLUMNS = (
    ID,
    col("proposal_id", "integer", "Proposition", "Proposal", required=True),
    col("title", "string", "Étape", "Milestone", required=True),
    col("description", "string", "Description", "Description"),
    col("progress", "integer", "Avancement (%)", "Progress (%)"),
    col("happened_on", "datetime", "Date", "Date", "UTC", "UTC"),
)


async def _processes(ctx: PublishContext) -> Batches:
    yield await participation.public_processes(ctx.session)


async def _projects(ctx: PublishContext) -> Batches:
    names = await ctx.neighbourhood_names()
    rows = await participation.public_budget_projects(ctx.session)
    for row in rows:
        row["neighbourhood"] = names.get(row["neighbourhood_id"]) if row["neighbourhood_id"] else None
    yield rows


def _milestones(ctx: PublishContext) -> Batches:
    return participation.public_milestones(ctx.session)


def processes_feed() -> Feed:
    return Feed(
        slug="demarches-participatives",
        title="Démarches participatives",
        title_en="Participatory processes",
        description="Les démarches de participation de la ville, leurs phases et le nombre de propositions publiques.",
        description_en="The city's participatory processes, their phases and their number of public proposals.",
        themes=("GOVE",),
        frequency="WEEKLY",
        keywords=("participation", "concertation", "démocratie participative"),
        publisher="participation",
        resources=(
            FeedResource(
                "demarches",
                "Démarches",
                "Processes",
                "Une démarche par ligne.",
                "One process per line.",
                "csv",
                PROCESS_COLUMNS,
                _processes,
                ("id",),
            ),
        ),
    )


def budget_projects_feed() -> Feed:
    return Feed(
        slug="budget-participatif-projets",
        title="Budget participatif\u00a0: projets soumis au vote",
        title_en="Participatory budget: projects put to the vote",
        description="Les projets de chaque budget participatif, leur lieu et leur coût, dès l’ouverture du vote.",
        description_en="The projects of each participatory budget, their place and cost, from the opening of the vote.",
        themes=("GOVE", "ECON"),
        frequency="IRREG",
        keywords=("budget participatif", "projets", "participation"),
        publisher="participation",
        resources=(
            FeedResource(
                "projets",
                "Projets",
                "Projects",
                "Un projet par ligne.",
                "One project per line.",
                "csv",
                PROJECT_COLUMNS,
                _projects,
                ("id",),
            ),
        ),
    )


def milestones_feed() -> Feed:
    return Feed(
        slug="suivi-des-propositions",
        title="Suivi de la réalisation des propositions",
        title_en="Progress of accepted proposals",
        description="Les étapes de réalisation des propositions citoyennes retenues, avec leur avancement.",
        description_en="The milestones of the citizens' proposals being carried out, with their progress.",
        themes=("GOVE",),
        frequency="WEEKLY",
        keywords=("participation", "redevabilité", "suivi"),
        publisher="participation",
        resources=(
            FeedResource(
                "etapes",
                "Étapes",
                "Milestones",
                "Une étape par ligne.",
                "One milestone per line.",
                "csv",
                MILESTONE_COLUMNS,
                _milestones,
                ("id",),
            ),
        ),
    )


def reference_feeds() -> list[Feed]:
    return [categories_feed(), processes_feed(), budget_projects_feed(), milestones_feed()]
