"""The rules of projects: place checked and neighbourhoods derived, filters, works near a place, documents,
questions and answers, updates telling followers, feedback moderated, personal data exported and erased."""

from __future__ import annotations

import io
from datetime import timedelta
from types import SimpleNamespace

import orjson
import pytest
from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from citoyen.db import utcnow
from citoyen.notifications.models import Notification
from citoyen.participation.follows.models import DigestEntry
from citoyen.people import service as people
from citoyen.people.registry import PersonalDataRegistry
from citoyen.projects import service as projects
from citoyen.projects.models import ProjectFeedback, ProjectFollow, ProjectQuestion
from citoyen.territory import service as territory
from tests.factories import create_person
from tests.projects.helpers import ACROSS, WEST_AREA, create_project, create_world, day


async def test_a_line_across_two_neighbourhoods_belongs_to_both(session: AsyncSession) -> None:
    world = await create_world(session)
    project = await create_project(session, world, ACROSS, budget_cents=125_000_00)
    names = await territory.neighbourhood_names(session)
    ids = await projects.neighbourhood_ids_of(session, project.id)
    assert sorted(names[i] for i in ids) == ["Est", "Ouest"]
    assert (project.min_lon, project.max_lon) == (2.302, 2.318)
    assert project.starts_on == utcnow().date() - timedelta(days=400)
    area = await create_project(session, world, WEST_AREA, title="Square")
    assert [names[i] for i in await projects.neighbourhood_ids_of(session, area.id)] == ["Ouest"]


@pytest.mark.parametrize(
    ("geometry", "message"),
    [
        ({"type": "LineString", "coordinates": [[2.35, 48.855], [2.36, 48.855]]}, "not within the city"),
        ({"type": "LineString", "coordinates": [[2.302, 48.855], [2.35, 48.855]]}, "not within the city"),
        (
            {
                "type": "Polygon",
                "coordinates": [[[2.302, 48.852], [2.306, 48.856], [2.306, 48.852], [2.302, 48.856], [2.302, 48.852]]],
            },
            "not valid",
        ),
        (
            {"type": "LineString", "coordinates": [[2.302, 48.852], [2.306, 48.856], [2.306, 48.852], [2.302, 48.856]]},
            "crosses itself",
        ),
        ({"type": "GeometryCollection", "geometries": []}, "point, a line or a polygon"),
        ("LINESTRING (2.302 48.855, 400 48.855)", "longitude and latitude"),
        ("{not json", "not a GeoJSON or WKT"),
    ],
)
async def test_a_bad_place_is_refused_and_nothing_stored(session: AsyncSession, geometry: object, message: str) -> None:
    world = await create_world(session)
    with pytest.raises(projects.ProjectError, match=message) as refused:
        await create_project(session, world, geometry)
    assert refused.value.field == "geometry"
    assert (await projects.list_projects(session, projects.ProjectFilters()))[1] == 0


async def test_only_staff_create_and_phases_end_after_they_start(session: AsyncSession) -> None:
    world = await create_world(session)
    data = projects.ProjectInput(title="Trottoir", theme="mobility", phase="study", geometry=ACROSS)
    with pytest.raises(projects.ProjectError) as refused:
        await projects.create_project(session, world.index, world.citizen, data)
    assert refused.value.status_code == 403
    backwards = [projects.PhaseInput("works", day("2026-05-01"), day("2026-04-01"))]
    with pytest.raises(projects.ProjectError, match="end before"):
        await create_project(session, world, phases=backwards)


async def test_filters_and_works_near_a_place_this_month(session: AsyncSession) -> None:
    world = await create_world(session)
    street = await create_project(session, world, ACROSS)
    later = [projects.PhaseInput("works", utcnow().date() + timedelta(days=200), None)]
    square = await create_project(
        session, world, WEST_AREA, title="Square", theme="greenery", phase="study", phases=later
    )
    ids = await territory.neighbourhood_names(session)
    est = next(i for i, name in ids.items() if name == "Est")
    found, total = await projects.list_projects(session, projects.ProjectFilters(neighbourhood_id=est))
    assert [p.id for p in found] == [street.id] and total == 1
    found, _ = await projects.list_projects(session, projects.ProjectFilters(theme="greenery"))
    assert [p.id for p in found] == [square.id]
    soon = utcnow().date() + timedelta(days=150)
    found, _ = await projects.list_projects(session, projects.ProjectFilters(period_from=soon))
    assert [p.id for p in found] == [square.id]  # the street's works end before
    near = await projects.works_near(session, 2.304, 48.857, utcnow().date())
    assert [(p.id, round(d)) for p, d in near] == [(street.id, 222)]  # the square's works are not this month
    assert await projects.works_near(session, 2.304, 48.87, utcnow().date()) == []
    features = await projects.map_features(session, (2.300, 48.850, 2.301, 48.851), projects.ProjectFilters(), "en")
    assert features == []
    features = await projects.map_features(session, (2.303, 48.853, 2.305, 48.8555), projects.ProjectFilters(), "en")
    assert [f["id"] for f in features] == [street.id, square.id]
    assert features[0]["properties"]["title"] == "Bike lane on West street"


def _jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (40, 30), "red")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    output = io.BytesIO()
    image.save(output, format="JPEG", exif=exif.tobytes())
    return output.getvalue()


async def test_the_map_answer_is_kept_until_a_project_changes_and_low_zooms_get_simplified_lines(
    session: AsyncSession, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    world = await create_world(session)
    # A street drawn with a point every few metres: the city-wide map needs only its two ends.
    wiggly = {
        "type": "LineString",
        "coordinates": [[2.302 + i * 0.0005, 48.855 + (i % 2) * 0.00001] for i in range(31)],
    }
    street = await create_project(session, world, wiggly)
    cache = projects.MapCache()
    box, nothing = (2.30, 48.85, 2.32, 48.86), projects.ProjectFilters()
    whole = await projects.map_answer(session, cache, box, None, nothing, "fr")
    assert len(orjson.loads(whole.body)["features"][0]["geometry"]["coordinates"]) == 31
    city = await projects.map_answer(session, cache, box, 12, nothing, "fr")
    assert orjson.loads(city.body)["features"][0]["geometry"]["coordinates"] == [[2.302, 48.855], [2.317, 48.855]]
    assert await projects.map_answer(session, cache, box, 12, nothing, "fr") is city  # kept: no query, no encoding
    # A view a few pixels away shares the answer; once a project is written, nothing kept is served.
    assert await projects.map_answer(session, cache, (2.3001, 48.8501, 2.3201, 48.8601), 12, nothing, "fr") is city
    data = projects.ProjectInput(title="Rue apaisée", theme="mobility", phase="works", geometry=wiggly)
    await projects.edit_project(session, world.index, world.staff, street.id, data)
    renamed = await projects.map_answer(session, cache, box, 12, nothing, "fr")
    assert orjson.loads(renamed.body)["features"][0]["properties"]["title"] == "Rue apaisée"
    assert renamed.etag != city.etag
    await create_project(session, world, WEST_AREA, title="Square")
    assert len(orjson.loads((await projects.map_answer(session, cache, box, 12, nothing, "fr")).body)["features"]) == 2
    # In the served app a background task keeps the city-wide answer stored for every worker: once a project
    # changes, a worker is served the previous answer, marked so, until the task has rebuilt it; no request builds.
    await session.commit()
    keeper, other_worker = projects.MapCache(background=True), projects.MapCache(background=True)
    assert await projects.keep_once(sessionmaker, keeper, SimpleNamespace()) == 2  # French and English
    stored = await projects.map_answer(session, other_worker, (2.0, 48.0, 2.1, 48.1), 11, nothing, "fr")
    assert stored.current and len(orjson.loads(stored.body)["features"]) == 2
    await create_project(session, world, WEST_AREA, title="Kiosque")
    await session.commit()
    previous = await projects.map_answer(session, other_worker, box, 12, nothing, "fr")
    assert not previous.current and previous.etag == stored.etag
    assert await projects.keep_once(sessionmaker, other_worker, SimpleNamespace()) == 2
    rebuilt = await projects.map_answer(session, keeper, box, 12, nothing, "fr")
    assert rebuilt.current and len(orjson.loads(rebuilt.body)["features"]) == 3


async def test_documents_a_pdf_must_be_one_and_images_lose_their_metadata(session: AsyncSession) -> None:
    world = await create_world(session)
    project = await create_project(session, world)
    pdf = await projects.add_document(session, world.staff, project.id, "Plan", b"%PDF-1.7\n...", "plan.pdf", "")
    assert pdf.media_type == "application/pdf"
    with pytest.raises(projects.ProjectError, match="claims to be a PDF"):
        await projects.add_document(session, world.staff, project.id, "Faux", b"<html>", "faux.pdf", "application/pdf")
    with pytest.raises(projects.ProjectError, match="20 MB"):
        projects.prepare_document(b"%PDF-" + b"0" * projects.MAX_DOCUMENT_BYTES, "big.pdf", "")
    with pytest.raises(projects.ProjectError, match="PDF or an image"):
        await projects.add_document(session, world.staff, project.id, "Texte", b"hello", "notes.txt", "text/plain")
    photo = await projects.add_document(session, world.staff, project.id, "", _jpeg_with_exif(), "site.jpg", "")
    assert photo.media_type == "image/jpeg" and photo.title == "site.jpg"
    assert b"PhoneMaker" not in photo.content and not Image.open(io.BytesIO(photo.content)).getexif()
    assert [d.title for d in await projects.documents_of(session, project.id)] == ["Plan", "site.jpg"]


async def _notifications(session: AsyncSession, person_id: int) -> list[Notification]:
    query = select(Notification).where(Notification.person_id == person_id).order_by(Notification.id)
    return list((await session.execute(query)).scalars())


async def test_followers_are_told_of_updates_and_answers_in_their_language(session: AsyncSession) -> None:
    world = await create_world(session)
    project = await create_project(session, world)
    english = await create_person(session)
    english.locale = "en"
    await people.record_consent(session, english, "email_notifications", True)
    await projects.follow(session, english, project.id)
    await projects.follow(session, english, project.id)  # twice is once
    await projects.post_update(session, world.staff, project.id, "Les travaux commencent le 3 mars.")
    told = await _notifications(session, english.id)
    assert [n.title_in("en") for n in told] == ["News of the project “Bike lane on West street”"]
    assert told[0].link == f"/projects/{project.id}#updates" and "3 mars" in told[0].body
    # The daily e-mail carries it too, for the follower who consented (in their language), never for the others.
    digest = select(DigestEntry.person_id, DigestEntry.title, DigestEntry.link)
    assert [tuple(row) for row in await session.execute(digest)] == [
        (english.id, "News of the project “Bike lane on West street”", f"/projects/{project.id}#updates")
    ]
    question = await projects.ask_question(session, world.citizen, project.id, "La rue sera-t-elle fermée ?")
    assert await projects.is_following(session, world.citizen.id, project.id)
    await projects.answer_question(session, world.staff, question.id, "Oui, du 3 au 20 mars.")
    asker = await _notifications(session, world.citizen.id)
    assert [n.title for n in asker] == [
        "Une question sur le projet «\xa0Piste cyclable rue de l'Ouest\xa0» a reçu une réponse"
    ]
    assert len(await _notifications(session, english.id)) == 2
    await projects.unfollow(session, english, project.id)
    await projects.post_update(session, world.staff, project.id, "Fin des travaux.")
    assert len(await _notifications(session, english.id)) == 2
    with pytest.raises(projects.ProjectError):
        await projects.post_update(session, world.citizen, project.id, "Pirate")


async def test_feedback_worried_needs_words_and_moderators_hide_it_with_a_reason(session: AsyncSession) -> None:
    world = await create_world(session)
    project = await create_project(session, world)
    await projects.give_feedback(session, world.citizen, project.id, "useful", "")
    with pytest.raises(projects.ProjectError, match="required"):
        await projects.give_feedback(session, world.citizen, project.id, "worried", "  ")
    worried = await projects.give_feedback(session, world.citizen, project.id, "worried", "Les livraisons ?")
    other = await create_person(session)
    await projects.flag_feedback(session, other, worried.id)
    await projects.flag_feedback(session, other, worried.id)
    assert [(f.id, f.flag_count) for f in await projects.flagged_feedback(session)] == [(worried.id, 1)]
    with pytest.raises(projects.ProjectError):
        await projects.hide_feedback(session, world.citizen, worried.id, "Hors sujet")
    await projects.hide_feedback(session, world.staff, worried.id, "Hors sujet")
    assert await projects.flagged_feedback(session) == []


async def test_personal_data_is_exported_then_detached(session: AsyncSession) -> None:
    world = await create_world(session)
    project = await create_project(session, world)
    question = await projects.ask_question(session, world.citizen, project.id, "Quand ?")
    feedback = await projects.give_feedback(session, world.citizen, project.id, "useful", "Enfin !")
    other = await create_person(session)
    await projects.flag_feedback(
        session, world.citizen, (await projects.give_feedback(session, other, project.id, "useful", "")).id
    )
    registry = PersonalDataRegistry()
    projects.register_personal_data(registry)
    provider = next(item for item in registry.providers if item.domain == "projects")
    data = await provider.export(session, world.citizen)
    assert data["project_questions"][0]["question"] == "Quand ?"
    assert data["project_feedback"][0]["text"] == "Enfin !"
    assert len(data["project_feedback_flagged"]) == 1 and data["projects_followed"][0]["project_id"] == project.id
    await provider.erase(session, world.citizen)
    await session.refresh(question)
    await session.refresh(feedback)
    assert question.author_id is None and question.body == "Quand ?"
    assert feedback.author_id is None
    follows = await session.execute(select(ProjectFollow).where(ProjectFollow.person_id == world.citizen.id))
    assert follows.first() is None
    assert (await session.execute(select(ProjectQuestion.id))).first() is not None
    assert (await session.execute(select(ProjectFeedback.id))).first() is not None
