"""The projects' open dataset: every project with its phase, dates, budget, department, neighbourhoods and place
(CSV with WKT, GeoJSON), the timelines, a valid Frictionless package, nobody in it, and a table the projects'
import reads back."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.opendata import feeds
from citoyen.opendata.feed_kit import PublishContext
from citoyen.opendata.project_feeds import projects_feed
from citoyen.people import service as people
from citoyen.projects import service as projects
from tests.opendata.test_feeds import read_csv
from tests.projects.helpers import WEST_AREA, create_project, create_world, day


async def test_the_projects_dataset_publishes_projects_and_timelines_and_nobody(
    session: AsyncSession, tmp_path: Path
) -> None:
    world = await create_world(session)
    roads = await people.create_department(session, "voirie", "Voirie et déplacements")
    timeline = [
        projects.PhaseInput("study", day("2026-01-05"), day("2026-06-30")),
        projects.PhaseInput("works", day("2026-11-02")),
    ]
    street = await create_project(session, world, phases=timeline, budget_cents=125_000_050, department_id=roads.id)
    square = await create_project(session, world, WEST_AREA, title="Square", phase="study", phases=[], demo=True)
    await projects.ask_question(session, world.citizen, street.id, "Quand la rue rouvrira-t-elle ?")
    await projects.give_feedback(session, world.citizen, street.id, "worried", "Le bruit la nuit")

    written = await feeds.write_feed(PublishContext(session), projects_feed(), tmp_path)
    assert await feeds.validate(written) == []
    rows = read_csv(tmp_path / "projets.csv")
    assert [int(row["id"]) for row in rows] == [street.id, square.id]
    assert rows[0]["phase"] == "works" and rows[0]["budget_eur"] == "1250000.5"
    assert rows[0]["phases"] == "study:2026-01-05/2026-06-30; works:2026-11-02/"
    assert (rows[0]["starts_on"], rows[0]["ends_on"]) == ("2026-01-05", "")
    assert (rows[0]["department"], rows[0]["department_name"]) == ("voirie", "Voirie et déplacements")
    assert (
        rows[0]["neighbourhoods"] == "Ouest; Est" and rows[0]["geometry"] == "LINESTRING (2.302 48.855, 2.318 48.855)"
    )
    assert rows[1]["demo"] == "true" and rows[1]["geometry"].startswith("POLYGON ((2.302 48.852")
    assert [(row["project_id"], row["phase"], row["ends_on"]) for row in read_csv(tmp_path / "phases.csv")] == [
        (str(street.id), "study", "2026-06-30"),
        (str(street.id), "works", ""),
    ]
    layer = json.loads((tmp_path / "projets-carte.geojson").read_text(encoding="utf-8"))
    assert layer["features"][1]["geometry"] == WEST_AREA and layer["features"][0]["properties"]["title"] == street.title
    written_files = [tmp_path / name for name in ("projets.csv", "projets-carte.geojson", "phases.csv")]
    everything = "".join(path.read_text(encoding="utf-8") for path in written_files)
    assert world.citizen.display_name not in everything and "rouvrira" not in everything and "bruit" not in everything

    # The table is what `citoyen projects import` reads: another platform takes the projects as they are.
    content = (tmp_path / "projets.csv").read_bytes()
    assert await projects.import_projects(session, world.index, content, "projets.csv") == 2
    again = await projects.list_projects(session, projects.ProjectFilters(phase="works"))
    assert again[1] == 2 and {project.budget_cents for project in again[0]} == {125_000_050}
