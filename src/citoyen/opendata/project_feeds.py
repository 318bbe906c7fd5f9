"""The city's urban projects as open data (issue 19): every project with its phase, dates, budget, department,
neighbourhoods and place, as a table (the place in WKT) and as a map layer (GeoJSON), and the projects' timelines
(one phase per line). Read through `projects.service`; nothing about people is published (not who asked a
question, gave an opinion or follows a project, nor which staff account wrote). The CSV's columns are those
`citoyen projects import` reads, so that a city can move its projects from one platform to another."""

from __future__ import annotations

from typing import Any

import shapely
from shapely.geometry import shape

from citoyen.opendata.feed_kit import ID, LAT, LON, Feed, FeedResource, PublishContext, col, rows_at_once
from citoyen.people import service as people
from citoyen.projects import service as projects

PHASES = tuple(projects.PHASE_LABELS)
THEMES = tuple(projects.THEME_LABELS)

_COMMON = (
    ID,
    col("title", "string", "Titre", "Title", required=True),
    col("title_en", "string", "Titre en anglais", "Title in English"),
    col("description", "string", "Description", "Description"),
    col("description_en", "string", "Description en anglais", "Description in English"),
    col("theme", "string", "Thème", "Theme", ", ".join(THEMES), ", ".join(THEMES), required=True, allowed=THEMES),
    col(
        "phase",
        "string",
        "Phase en cours",
        "Current phase",
        "étude, concertation, travaux, livré",
        "study, consultation, works, delivered",
        required=True,
        allowed=PHASES,
    ),
    col(
        "phases",
        "string",
        "Calendrier",
        "Timeline",
        "phase:début/fin séparées par « ; » (fin vide : pas encore connue)",
        "phase:start/end separated by '; ' (an empty end: not known yet)",
    ),
    col("starts_on", "date", "Début", "Start", "début de la première phase", "start of the first phase"),
    col(
        "ends_on",
        "date",
        "Fin",
        "End",
        "fin de la dernière phase (vide si elle n’est pas connue)",
        "end of the last phase (empty when not known)",
    ),
    col("budget_eur", "number", "Budget (€)", "Budget (€)"),
    col("department", "string", "Service (code)", "Department (code)"),
    col("department_name", "string", "Service", "Department"),
    col(
        "neighbourhoods",
        "string",
        "Quartiers",
        "Neighbourhoods",
        "les quartiers que le lieu touche, séparés par « ; »",
        "the neighbourhoods the place touches, separated by '; '",
    ),
    col("process_id", "integer", "Démarche participative (identifiant)", "Participatory process (id)"),
    col(
        "proposal_ids",
        "string",
        "Propositions d’origine (identifiants)",
        "Proposals it comes from (ids)",
        "séparés par des espaces",
        "space-separated",
    ),
    col("demo", "boolean", "Projet de démonstration", "Demo project", "données simulées", "simulated data"),
    col("updated_at", "datetime", "Mis à jour", "Updated"),
)
PROJECT_COLUMNS = (
    *_COMMON,
    LON,
    LAT,
    col(
        "geometry",
        "string",
        "Lieu (WKT)",
        "Place (WKT)",
        "point, ligne ou polygone, WGS84, longitude d’abord",
        "point, line or polygon, WGS84, longitude first",
        required=True,
    ),
)
LAYER_COLUMNS = _COMMON
PHASE_COLUMNS = (
    col("project_id", "integer", "Projet (identifiant)", "Project (id)", required=True),
    col("position", "integer", "Rang", "Order", "0 pour la première phase", "0 for the first phase", required=True),
    col("phase", "string", "Phase", "Phase", required=True, allowed=PHASES),
    col("starts_on", "date", "Début", "Start", required=True),
    col("ends_on", "date", "Fin", "End", "vide si elle n’est pas connue", "empty when not known"),
)


def _euros(cents: int | None) -> float | None:
    return None if cents is None else cents / 100


async def _rows(ctx: PublishContext, place: str) -> list[dict[str, Any]]:
    """One row per project; `place`: "wkt" (the table) or "geojson" (the map layer)."""
    names = await ctx.neighbourhood_names()
    departments = {department.id: department for department in await people.list_departments(ctx.session)}
    rows = []
    for project in await projects.published_projects(ctx.session):
        department = departments.get(project.department_id or 0)
        row: dict[str, Any] = {
            "id": project.id,
            "title": project.title,
            "title_en": project.title_en,
            "description": project.description,
            "description_en": project.description_en,
            "theme": project.theme,
            "phase": project.phase,
            "phases": "; ".join(
                f"{phase.kind}:{phase.starts_on.isoformat()}/{phase.ends_on.isoformat() if phase.ends_on else ''}"
                for phase in project.phases
            ),
            "starts_on": project.starts_on,
            "ends_on": project.ends_on,
            "budget_eur": _euros(project.budget_cents),
            "department": department.code if department else None,
            "department_name": department.name if department else None,
            "neighbourhoods": "; ".join(names[i] for i in project.neighbourhood_ids if i in names),
            "process_id": project.process_id,
            "proposal_ids": " ".join(str(i) for i in project.proposal_ids),
            "demo": project.demo,
            "updated_at": project.updated_at,
            "lon": project.lon,
            "lat": project.lat,
        }
        if place == "wkt":
            row["geometry"] = shapely.to_wkt(shape(project.geometry), rounding_precision=7, trim=True)
        else:
            row["geometry"] = project.geometry
        rows.append(row)
    return rows


async def _table_rows(ctx: PublishContext) -> list[dict[str, Any]]:
    return await _rows(ctx, "wkt")


async def _layer_rows(ctx: PublishContext) -> list[dict[str, Any]]:
    return await _rows(ctx, "geojson")


async def _phase_rows(ctx: PublishContext) -> list[dict[str, Any]]:
    return [
        {
            "project_id": project.id,
            "position": position,
            "phase": phase.kind,
            "starts_on": phase.starts_on,
            "ends_on": phase.ends_on,
        }
        for project in await projects.published_projects(ctx.session)
        for position, phase in enumerate(project.phases)
    ]


def projects_feed() -> Feed:
    return Feed(
        slug="projets-urbains",
        title="Projets urbains de la ville",
        title_en="The city's urban projects",
        description=(
            "Les projets que la ville mène dans l’espace public (travaux, pistes cyclables, places, écoles…)\u00a0: "
            "leur lieu, leur phase, leur calendrier, leur budget et le service qui les conduit. Les questions et "
            "avis des habitants n’y figurent pas, ni personne."
        ),
        description_en=(
            "The projects the city carries out in public space (works, bike lanes, squares, schools…): their place, "
            "phase, timeline, budget and the department in charge. Residents' questions and opinions are not in "
            "it, nor anyone."
        ),
        themes=("REGI", "TRAN"),
        frequency="DAILY",
        keywords=("projets urbains", "travaux", "aménagement", "carte des chantiers"),
        resources=(
            FeedResource(
                "projets",
                "Projets",
                "Projects",
                "Un projet par ligne\u00a0; son lieu en WKT.",
                "One project per line; its place as WKT.",
                "csv",
                PROJECT_COLUMNS,
                rows_at_once(_table_rows),
                ("id",),
            ),
            FeedResource(
                "projets-carte",
                "Carte des projets",
                "Map of the projects",
                "Un projet par entité GeoJSON (point, ligne ou polygone).",
                "One project per GeoJSON feature (point, line or polygon).",
                "geojson",
                LAYER_COLUMNS,
                rows_at_once(_layer_rows),
            ),
            FeedResource(
                "phases",
                "Calendrier des projets",
                "The projects' timelines",
                "Une phase d’un projet par ligne, dans l’ordre.",
                "One phase of a project per line, in order.",
                "csv",
                PHASE_COLUMNS,
                rows_at_once(_phase_rows),
                ("project_id", "position"),
            ),
        ),
    )
