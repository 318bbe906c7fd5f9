"""The projects' pages in French and English, the GeoJSON API, and what a citizen and staff do on them."""

from __future__ import annotations

from xml.etree import ElementTree

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.projects import service as projects
from tests.conftest import csrf_token
from tests.factories import log_in
from tests.projects.helpers import WEST_AREA, create_project, create_world

ATOM = "{http://www.w3.org/2005/Atom}"
EN = {"Accept-Language": "en"}
FR = {"Accept-Language": "fr"}


async def test_the_map_list_and_a_project_read_in_french_and_english(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    world = await create_world(session)
    street = await create_project(session, world, demo=True, description="Une piste protégée.")
    await projects.create_project(
        session,
        world.index,
        world.staff,
        projects.ProjectInput(title="Square", theme="greenery", phase="study", geometry=WEST_AREA),
    )
    await session.commit()
    french = await client.get("/projects", headers=FR)
    assert french.status_code == 200
    assert "Les projets de la ville" in french.text and "2 projets" in french.text
    assert "projet de démonstration" in french.text and "Travaux" in french.text
    english = await client.get("/projects", params={"phase": "works"}, headers=EN)
    assert "1 project" in english.text and "Bike lane on West street" in english.text and "demo project" in english.text
    near = await client.get("/projects", params={"at": "2.304,48.857"}, headers=EN)
    assert "Works within 1 km of this point" in near.text and "222 m away" in near.text
    page = await client.get(f"/projects/{street.id}", headers=FR)
    assert page.status_code == 200 and "Une piste protégée." in page.text
    assert "Ceci est un projet de démonstration" in page.text and "Calendrier" in page.text
    assert (await client.get(f"/projects/{street.id}", headers=EN)).text.count("This is a demo project") == 1
    assert (await client.get("/projects/999999")).status_code == 404


async def test_the_api_gives_geojson_in_the_box(client: httpx.AsyncClient, session: AsyncSession) -> None:
    world = await create_world(session)
    street = await create_project(session, world, demo=True)
    await session.commit()
    found = await client.get("/api/projects", params={"bbox": "2.30,48.85,2.32,48.86"}, headers=EN)
    assert found.headers["content-type"] == "application/geo+json"
    body = found.json()
    assert body["type"] == "FeatureCollection" and [f["id"] for f in body["features"]] == [street.id]
    assert body["features"][0]["properties"]["demo"] is True
    assert body["features"][0]["geometry"]["type"] == "LineString"
    assert (await client.get("/api/projects", params={"bbox": "2.40,48.90,2.41,48.91"})).json()["features"] == []
    # The map's view at its zoom: the same projects, and a browser that has them already is told so in a line.
    view = {"bbox": "2.30,48.85,2.32,48.86", "zoom": "12.6"}
    at_zoom = await client.get("/api/projects", params=view, headers=EN)
    assert [f["id"] for f in at_zoom.json()["features"]] == [street.id]
    again = await client.get("/api/projects", params=view, headers={**EN, "If-None-Match": at_zoom.headers["etag"]})
    assert again.status_code == 304 and not again.content
    assert at_zoom.headers["x-projects-map-current"] == "true"
    assert (await client.get("/api/projects", params={"bbox": "2.40,48.90"})).status_code == 400


async def test_a_citizen_follows_asks_and_staff_answer(client: httpx.AsyncClient, session: AsyncSession) -> None:
    world = await create_world(session)
    street = await create_project(session, world)
    await session.commit()
    await log_in(client, world.citizen.email)
    token = await csrf_token(client, f"/projects/{street.id}")
    followed = await client.post(f"/projects/{street.id}/follow", data={"csrf_token": token, "action": "follow"})
    assert followed.status_code == 303
    empty = await client.post(f"/projects/{street.id}/questions", data={"csrf_token": token, "question": " "})
    assert empty.status_code == 400 and "Ce champ est obligatoire." in empty.text
    asked = await client.post(f"/projects/{street.id}/questions", data={"csrf_token": token, "question": "Quand ?"})
    assert asked.status_code == 303
    worried = {"csrf_token": token, "kind": "worried", "body": "Le bruit la nuit"}
    assert (await client.post(f"/projects/{street.id}/feedback", data=worried)).status_code == 303
    page = await client.get(f"/projects/{street.id}", headers=FR)
    assert "Vous suivez ce projet" in page.text and "Quand ?" in page.text and "Le bruit la nuit" in page.text
    assert "En attente de la réponse du service." in page.text
    question = (await projects.questions_of(session, street.id))[0]

    await client.post("/logout", data={"csrf_token": token})
    await log_in(client, world.staff.email)
    token = await csrf_token(client, f"/projects/{street.id}")
    answered = await client.post(
        f"/staff/projects/questions/{question.id}/answer", data={"csrf_token": token, "answer": "En mars."}
    )
    assert answered.status_code == 303 and answered.headers["location"].endswith(f"#question-{question.id}")
    update = {"csrf_token": token, "body": "Les travaux commencent le 3 mars."}
    posted = await client.post(f"/staff/projects/{street.id}/updates", data=update)
    assert posted.status_code == 303 and posted.headers["location"] == f"/projects/{street.id}#updates"
    pdf = {"document": ("plan.pdf", b"<html>not a pdf", "application/pdf")}
    refused = await client.post(f"/staff/projects/{street.id}/documents", data={"csrf_token": token}, files=pdf)
    assert refused.status_code == 303, refused.text
    assert refused.headers["location"] == f"/projects/{street.id}#documents"
    # Every message of the staff's posts shows on the next page (a second one before a page was shown was lost).
    shown = (await client.get(f"/projects/{street.id}", headers=FR)).text
    assert "se dit PDF" in shown and "L&#39;actualité est publiée" in shown
    assert await projects.documents_of(session, street.id) == []
    page = await client.get(f"/projects/{street.id}", headers=FR)
    assert "En mars." in page.text and "Les travaux commencent le 3 mars." in page.text
    assert f'<link rel="alternate" type="application/atom+xml" href="/projects/{street.id}.atom"' in page.text

    bad = {"csrf_token": token, "title": "Croisé", "theme": "public_space", "phase": "study"}
    bad["geometry"] = (
        '{"type": "LineString", "coordinates": [[2.302, 48.852], [2.306, 48.856], [2.306, 48.852], [2.302, 48.856]]}'
    )
    form = await client.post("/staff/projects/new", data=bad, headers=EN)
    assert form.status_code == 400 and "This line crosses itself" in form.text
    assert (await projects.list_projects(session, projects.ProjectFilters()))[1] == 1

    # The project's own Atom feed, read without an account: the news and the answer, never who asked.
    await client.post("/logout", data={"csrf_token": token})
    atom = await client.get(f"/projects/{street.id}.atom", headers=FR)
    assert atom.status_code == 200 and atom.headers["content-type"].startswith("application/atom+xml")
    feed = ElementTree.fromstring(atom.content)  # noqa: S314 (our own answer, not untrusted input)
    assert feed.findtext(f"{ATOM}id", "").endswith(f"/projects/{street.id}.atom")
    entries = feed.findall(f"{ATOM}entry")
    assert [entry.findtext(f"{ATOM}title") for entry in entries] == [
        "Les travaux commencent le 3 mars.",
        "Réponse\u00a0: Quand ?",
    ]
    assert entries[1].findtext(f"{ATOM}id", "").endswith(f"/projects/{street.id}#question-{question.id}")
    assert "En mars." in entries[1].findtext(f"{ATOM}summary", "") and "Camille" not in atom.text
    assert (await client.get("/projects/999999.atom")).status_code == 404
