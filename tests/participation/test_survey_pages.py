"""Survey pages over HTTP: answering once, results for staff or everyone, the admin builder."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.participation.surveys import service as surveys
from citoyen.participation.surveys.models import QuestionKind, Survey
from citoyen.people.models import Role
from tests.conftest import csrf_token
from tests.factories import create_person, log_in
from tests.participation.budget_helpers import verified_residents
from tests.participation.helpers import create_process
from tests.participation.survey_helpers import create_survey, question_ids

EN = {"Accept-Language": "en"}


async def test_a_citizen_answers_once_over_http(client: httpx.AsyncClient, session: AsyncSession) -> None:
    survey = await create_survey(session)
    single, multiple, short, _long, scale, ranking = await question_ids(session, survey)
    person = await create_person(session)
    await session.commit()
    await log_in(client, person.email)
    # Citizens find the survey on its process's page.
    process_page = await client.get("/participation/processes/mobilite", headers=EN)
    assert f'<a href="/participation/surveys/{survey.id}">How you get around</a>' in process_page.text
    assert "open: you can answer" in process_page.text
    page = await client.get(f"/participation/surveys/{survey.id}", headers=EN)
    assert "How you get around" in page.text and "Main mode?" in page.text
    token = await csrf_token(client, f"/participation/surveys/{survey.id}")
    form = {
        "csrf_token": token,
        f"q{single}": "2",
        f"q{multiple}": ["1", "3"],
        f"q{short}": "rue Oberkampf",
        f"q{scale}": "5",
        f"q{ranking}_1": "2",
        f"q{ranking}_2": "2",
        f"q{ranking}_3": "1",
    }
    refused = await client.post(f"/participation/surveys/{survey.id}", data=form, headers=EN)
    assert refused.status_code == 400 and "give each option a different rank" in refused.text
    assert 'value="rue Oberkampf"' in refused.text  # the form keeps what was typed
    form[f"q{ranking}_2"] = "3"
    answered = await client.post(f"/participation/surveys/{survey.id}", data=form)
    assert answered.status_code == 303
    again = await client.post(f"/participation/surveys/{survey.id}", data=form, headers=EN)
    assert again.status_code == 409 and "one response per person" in again.text
    assert "You have answered this survey" in (await client.get(f"/participation/surveys/{survey.id}", headers=EN)).text


async def test_results_are_for_staff_unless_made_public(client: httpx.AsyncClient, session: AsyncSession) -> None:
    private = await create_survey(session)
    public = await create_survey(session, public_results=True, slug="publique")
    ids = await question_ids(session, public)
    await surveys.submit_response(
        session,
        public,
        await create_person(session),
        {ids[0]: ["1"], ids[2]: ["Texte privé"], ids[4]: ["3"], ids[5]: ["1", "2", "3"]},
    )
    await session.commit()
    assert (await client.get(f"/participation/surveys/{private.id}/results")).status_code == 403
    page = await client.get(f"/participation/surveys/{public.id}/results", headers=EN)
    assert page.status_code == 200 and "1 response" in page.text and "Borda" in page.text
    assert "Texte privé" not in page.text
    staff = await create_person(session, role=Role.ADMIN)
    await session.commit()
    await log_in(client, staff.email)
    assert "Texte privé" in (await client.get(f"/participation/surveys/{public.id}/results")).text
    assert (await client.get(f"/participation/surveys/{private.id}/results")).status_code == 200


async def test_an_admin_builds_a_survey(client: httpx.AsyncClient, session: AsyncSession) -> None:
    process = await create_process(session)
    admin = await create_person(session, role=Role.ADMIN)
    await session.commit()
    await log_in(client, admin.email)
    token = await csrf_token(client, "/admin/participation/surveys")
    form = {
        "csrf_token": token,
        "process_id": str(process.id),
        "title": "Parcs",
        "opens_at": "2026-01-01T00:00",
        "closes_at": "2026-02-01T00:00",
        "public_results": "on",
        "question_blocks": "2",
        "question_0_kind": "single",
        "question_0_prompt": "Quel parc ?",
        "question_0_options": "Buttes-Chaumont | Buttes-Chaumont park\n",
        "question_0_required": "on",
        "question_1_kind": "scale",
        "question_1_prompt": "",
    }
    refused = await client.post("/admin/participation/surveys", data=form, headers=EN)
    assert refused.status_code == 400 and "needs at least two options" in refused.text
    form["question_0_options"] += "Monceau | Monceau park"
    created = await client.post("/admin/participation/surveys", data=form)
    assert created.status_code == 303
    survey = (await session.execute(select(Survey).where(Survey.title == "Parcs"))).scalar_one()
    [question] = await surveys.questions_of(session, survey.id)
    assert question.kind == QuestionKind.SINGLE and question.options[1] == {
        "key": "2",
        "label": "Monceau",
        "label_en": "Monceau park",
    }
    assert survey.public_results
    # Typed in the city's time (Europe/Paris, an hour ahead of UTC in winter), kept in UTC, shown back as typed.
    assert survey.opens_at == datetime(2025, 12, 31, 23, 0, tzinfo=UTC)
    edit = await client.get(f"/admin/participation/surveys/{survey.id}")
    assert 'name="opens_at" required value="2026-01-01T00:00"' in edit.text


async def test_a_binding_consultation_is_answered_by_verified_residents_only(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    survey = await create_survey(session, binding=True)
    single, _multiple, _short, _long, scale, ranking = await question_ids(session, survey)
    (resident,) = await verified_residents(session, settings, 1)
    visitor = await create_person(session)
    await session.commit()
    form = {f"q{single}": "1", f"q{scale}": "3", f"q{ranking}_1": "1", f"q{ranking}_2": "2", f"q{ranking}_3": "3"}

    await log_in(client, visitor.email)
    page = await client.get(f"/participation/surveys/{survey.id}", headers=EN)
    assert "only verified residents may answer" in page.text and 'href="/account/verification"' in page.text
    form["csrf_token"] = await csrf_token(client, f"/participation/surveys/{survey.id}")
    refused = await client.post(f"/participation/surveys/{survey.id}", data=form, headers=EN)
    assert refused.status_code == 403 and "Verify your residence first" in refused.text
    assert await surveys.response_count(session, survey.id) == 0

    await log_in(client, resident.email)
    form["csrf_token"] = await csrf_token(client, f"/participation/surveys/{survey.id}")
    assert (await client.post(f"/participation/surveys/{survey.id}", data=form)).status_code == 303
    assert await surveys.response_count(session, survey.id) == 1
