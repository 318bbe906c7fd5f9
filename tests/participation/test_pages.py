"""Participation pages: processes and what one can do now, submitting (with the typed values kept on
errors), supporting with htmx, the author's edit window, staff answers, the admin process form."""

from __future__ import annotations

import asyncio
import re
from datetime import date, timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.app import build_event_hub, create_app
from citoyen.config import Settings
from citoyen.db import make_engine, make_sessionmaker
from citoyen.migrations import upgrade_engine
from citoyen.participation import service as participation
from citoyen.participation import views as participation_views
from citoyen.participation.models import Process, Proposal, ProposalStatus, Support
from citoyen.people.models import Person, Role
from citoyen.people.security import hash_password
from tests.conftest import csrf_token
from tests.factories import create_person, log_in
from tests.participation.helpers import (
    EAST,
    OUTSIDE,
    WEST,
    create_process,
    neighbourhood_ids,
    open_phases,
    setup_territory,
    submit,
)


@pytest.fixture
async def process(session: AsyncSession) -> Process:
    await setup_territory(session)
    process = await create_process(session, support_threshold=1)
    await session.commit()
    return process


async def signed_in(client: httpx.AsyncClient, session: AsyncSession, role: Role = Role.CITIZEN) -> int:
    person = await create_person(session, role=role)
    await session.commit()
    await log_in(client, person.email)
    return person.id


async def test_processes_say_what_one_can_do_now(client: httpx.AsyncClient, process: Process) -> None:
    page = await client.get("/participation")
    assert page.status_code == 200
    assert "Des idées pour nos quartiers" in page.text
    assert "submit proposals" in page.text or "déposer des propositions" in page.text
    english = await client.get("/participation", headers={"Accept-Language": "en"})
    assert "Ideas for our neighbourhoods" in english.text and "submit proposals" in english.text
    detail = await client.get(f"/participation/processes/{process.slug}", headers={"Accept-Language": "en"})
    assert detail.status_code == 200 and 'data-map-api="/api/participation/map"' in detail.text
    assert (await client.get("/participation/processes/unknown")).status_code == 404


async def test_a_search_by_words_counts_up_to_a_limit(
    client: httpx.AsyncClient, session: AsyncSession, process: Process, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(participation_views, "COUNTED_AT_MOST", 2)
    author = await create_person(session)
    for n in range(3):
        await submit(session, process, author, WEST, title=f"Des arbres rue {n}")
    await session.commit()
    url = f"/participation/processes/{process.slug}"
    english = {"Accept-Language": "en"}
    found = await client.get(url, params={"q": "arbres"}, headers=english)
    assert "More than 2 proposals" in found.text and "Page 1<" in found.text
    french = await client.get(url, params={"q": "arbres"}, headers={"Accept-Language": "fr"})
    assert "Plus de 2 propositions" in french.text
    listed = await client.get(url, headers=english)  # without words, the counts table answers in full
    assert "3 proposals" in listed.text and "Page 1 of 1" in listed.text


async def test_the_chosen_filters_stay_selected(
    client: httpx.AsyncClient, session: AsyncSession, process: Process
) -> None:
    east = (await neighbourhood_ids(session))["Est"]
    page = await client.get(
        f"/participation/processes/{process.slug}", params={"neighbourhood": east, "status": "accepted"}
    )
    assert f'<option value="{east}" selected>Est</option>' in page.text
    assert '<option value="accepted" selected>' in page.text


async def test_submitting_a_proposal_with_a_place(
    client: httpx.AsyncClient, session: AsyncSession, process: Process
) -> None:
    await signed_in(client, session)
    token = await csrf_token(client, f"/participation/processes/{process.slug}/proposals/new")
    form = {
        "csrf_token": token,
        "title": "Un jardin partagé",
        "body": "Transformer le terrain vague en jardin partagé.",
        "lon": str(EAST[0]),
        "lat": str(EAST[1]),
        "address": "",
        "category": "",
    }
    sent = await client.post(f"/participation/processes/{process.slug}/proposals", data=form)
    assert sent.status_code == 303
    page = await client.get(sent.headers["location"], headers={"Accept-Language": "en"})
    assert "Un jardin partagé" in page.text and "Est" in page.text
    assert "Thank you! Your proposal is published." in page.text


async def test_a_refused_proposal_keeps_what_was_typed(
    client: httpx.AsyncClient, session: AsyncSession, process: Process
) -> None:
    await signed_in(client, session)
    token = await csrf_token(client, f"/participation/processes/{process.slug}/proposals/new")
    form = {
        "csrf_token": token,
        "title": "Loin d'ici",
        "body": "Une idée pour un endroit hors de la ville.",
        "lon": str(OUTSIDE[0]),
        "lat": str(OUTSIDE[1]),
    }
    sent = await client.post(
        f"/participation/processes/{process.slug}/proposals", data=form, headers={"Accept-Language": "en"}
    )
    assert sent.status_code == 400
    assert "This place is outside the city." in sent.text
    assert 'value="Loin d&#39;ici"' in sent.text and "Une idée pour un endroit hors de la ville." in sent.text
    assert await session.scalar(select(func.count()).select_from(Proposal)) == 0


async def test_concurrent_supports_on_committing_sessions_are_each_counted_once(
    own_database_url: str, settings: Settings
) -> None:
    """The support form's sessions on a real engine (on PostgreSQL each statement its own transaction):
    simultaneous supports all count, a second one is refused, and the threshold is reached."""
    engine = make_engine(own_database_url)
    await upgrade_engine(engine)
    try:
        app = create_app(settings.model_copy(update={"database_url": own_database_url}), engine=engine)
        async with make_sessionmaker(engine, build_event_hub())() as session:
            await setup_territory(session)
            process = await create_process(session, support_threshold=8)
            proposal = await submit(session, process, await create_person(session))
            emails = [(await create_person(session)).email for _ in range(8)]
            await session.commit()
        transport = httpx.ASGITransport(app=app)
        clients = [httpx.AsyncClient(transport=transport, base_url="http://testserver") for _ in emails]
        url = f"/participation/proposals/{proposal.id}/support"
        headers = {"HX-Request": "true", "Accept-Language": "en"}
        tokens = []
        for client, email in zip(clients, emails, strict=True):
            await log_in(client, email)
            tokens.append(await csrf_token(client, f"/participation/proposals/{proposal.id}"))
        supports = (
            client.post(url, data={"csrf_token": token}, headers=headers)
            for client, token in zip(clients, tokens, strict=True)
        )
        answers = await asyncio.gather(*supports)
        assert [answer.status_code for answer in answers] == [200] * 8
        again = await clients[0].post(url, data={"csrf_token": tokens[0]}, headers=headers)
        assert "You already support this proposal." in again.text
        withdrawn = await clients[1].post(url, data={"csrf_token": tokens[1], "action": "withdraw"}, headers=headers)
        assert "7 people support this proposal." in withdrawn.text
        for client in clients:
            await client.aclose()
        async with make_sessionmaker(engine, build_event_hub())() as session:
            stored = await session.get_one(Proposal, proposal.id)
            assert stored.support_count == 7 and stored.answer_required
            assert await session.scalar(select(func.count()).where(Support.proposal_id == proposal.id)) == 7
    finally:
        await engine.dispose()


async def test_supporting_with_htmx_and_the_staff_queue(
    client: httpx.AsyncClient, session: AsyncSession, process: Process
) -> None:
    author = await create_person(session)
    proposal = await submit(session, process, author, WEST)
    await session.commit()
    await signed_in(client, session)
    token = await csrf_token(client, f"/participation/proposals/{proposal.id}")
    url = f"/participation/proposals/{proposal.id}/support"
    headers = {"HX-Request": "true", "Accept-Language": "en"}
    first = await client.post(url, data={"csrf_token": token}, headers=headers)
    assert first.status_code == 200 and "1 person supports this proposal." in first.text
    assert "Withdraw my support" in first.text
    again = await client.post(url, data={"csrf_token": token}, headers=headers)
    assert "You already support this proposal." in again.text and "Withdraw my support" in again.text
    assert await session.scalar(select(func.count()).where(Support.proposal_id == proposal.id)) == 1
    taken_back = await client.post(url, data={"csrf_token": token, "action": "withdraw"}, headers=headers)
    assert "Your support is withdrawn." in taken_back.text and "0 people support this proposal." in taken_back.text
    assert "Support this proposal" in taken_back.text
    await client.post(url, data={"csrf_token": token}, headers=headers)

    staff_client = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    async with staff_client:
        await signed_in(staff_client, session, Role.STAFF)
        queue = await staff_client.get("/staff/participation", headers={"Accept-Language": "en"})
        assert "Une rue scolaire devant l&#39;école" in queue.text and "1 proposal reached" in queue.text
        staff_token = await csrf_token(staff_client, f"/staff/participation/proposals/{proposal.id}")
        answer_url = f"/staff/participation/proposals/{proposal.id}/answer"
        refused = await staff_client.post(
            answer_url,
            data={"csrf_token": staff_token, "status": "rejected", "text": ""},
            headers={"Accept-Language": "en"},
        )
        assert refused.status_code == 400 and "Say why the proposal is rejected." in refused.text
        answered = await staff_client.post(
            answer_url, data={"csrf_token": staff_token, "status": "accepted", "text": "Bonne idée, nous la réalisons."}
        )
        assert answered.status_code == 303
    page = await client.get(f"/participation/proposals/{proposal.id}", headers={"Accept-Language": "en"})
    assert "The city&#39;s answer" in page.text and "Bonne idée, nous la réalisons." in page.text


async def test_supports_refused_outside_the_phase_with_a_clear_message(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await setup_territory(session)
    closed = await create_process(session, slug="ferme", phases=open_phases(allows_supports=False))
    proposal = await submit(session, closed, await create_person(session))
    await session.commit()
    await signed_in(client, session)
    token = await csrf_token(client, f"/participation/proposals/{proposal.id}")
    sent = await client.post(f"/participation/proposals/{proposal.id}/support", data={"csrf_token": token})
    assert sent.status_code == 303
    page = await client.get(sent.headers["location"], headers={"Accept-Language": "en"})
    assert "Supports are not open in this process at the moment." in page.text
    assert await session.scalar(select(func.count()).select_from(Support)) == 0


async def test_a_support_needs_a_session_still_valid(
    client: httpx.AsyncClient, session: AsyncSession, process: Process
) -> None:
    """The support form reads who is asking without the ORM, with the same checks as every page: a session
    opened before the account was deactivated sends to the login page and records nothing."""
    proposal = await submit(session, process, await create_person(session), WEST)
    await session.commit()
    person_id = await signed_in(client, session)
    token = await csrf_token(client, f"/participation/proposals/{proposal.id}")
    person = await session.get(Person, person_id)
    assert person is not None
    person.is_active = False
    await session.commit()
    sent = await client.post(f"/participation/proposals/{proposal.id}/support", data={"csrf_token": token})
    assert sent.status_code == 303 and sent.headers["location"].startswith("/login")
    assert await session.scalar(select(func.count()).select_from(Support)) == 0


async def test_a_support_from_a_session_opened_before_a_password_reset_is_refused(
    client: httpx.AsyncClient, session: AsyncSession, process: Process
) -> None:
    """The support statement checks the session's password stamp as it writes (in SQL on PostgreSQL):
    sessions opened with the old password send to the login page, for a withdrawal as for a support, and
    change nothing."""
    author = await create_person(session)
    supported = await submit(session, process, author, WEST)
    other = await submit(session, process, author, EAST, title="Des bancs au square")
    await session.commit()
    person_id = await signed_in(client, session)
    token = await csrf_token(client, f"/participation/proposals/{supported.id}")
    assert (
        await client.post(f"/participation/proposals/{supported.id}/support", data={"csrf_token": token})
    ).is_redirect
    second = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    person = await session.get(Person, person_id)
    assert person is not None
    async with second:
        await log_in(second, person.email)
        second_token = await csrf_token(second, f"/participation/proposals/{other.id}")
        person.password_hash = hash_password("un-tout-autre-mot-de-passe")
        await session.commit()
        attempts = (
            (client, supported, {"csrf_token": token, "action": "withdraw"}),
            (second, other, {"csrf_token": second_token}),
        )
        for stale, proposal, form in attempts:
            sent = await stale.post(f"/participation/proposals/{proposal.id}/support", data=form)
            assert sent.status_code == 303 and sent.headers["location"].startswith("/login")
    assert (await participation.get_support_target(session, supported.id)).support_count == 1
    assert (await participation.get_support_target(session, other.id)).support_count == 0
    assert await session.scalar(select(func.count()).select_from(Support)) == 1


async def test_the_author_edits_then_the_window_closes(
    client: httpx.AsyncClient, session: AsyncSession, process: Process
) -> None:
    person_id = await signed_in(client, session)
    author = await session.get(Person, person_id)
    assert author is not None
    proposal = await submit(session, process, author)
    await session.commit()
    token = await csrf_token(client, f"/participation/proposals/{proposal.id}/edit")
    form = {
        "csrf_token": token,
        "title": "Une rue scolaire rue Lepic",
        "body": "Fermer la rue Lepic aux voitures.",
        "lon": "",
        "lat": "",
    }
    assert (await client.post(f"/participation/proposals/{proposal.id}/edit", data=form)).status_code == 303
    await session.refresh(proposal)
    assert proposal.title == "Une rue scolaire rue Lepic" and proposal.lon is None

    proposal.created_at = proposal.created_at - timedelta(minutes=31)
    await session.commit()
    form["title"] = "Trop tard pour ce titre"
    late = await client.post(
        f"/participation/proposals/{proposal.id}/edit", data=form, headers={"Accept-Language": "en"}
    )
    assert late.status_code == 403
    assert "only during the 30 minutes after it was submitted" in late.text
    assert 'value="Trop tard pour ce titre"' in late.text
    await session.refresh(proposal)
    assert proposal.title == "Une rue scolaire rue Lepic"


async def test_an_admin_creates_a_process_with_phases(client: httpx.AsyncClient, session: AsyncSession) -> None:
    ids = await setup_territory(session)
    await session.commit()
    await signed_in(client, session, Role.ADMIN)
    token = await csrf_token(client, "/admin/participation/processes/new")
    today = date.today()
    form = {
        "csrf_token": token,
        "title": "Budget participatif 2027",
        "title_en": "Participatory budget 2027",
        "slug": "",
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=90)).isoformat(),
        "scope": "neighbourhoods",
        "neighbourhoods": [str(ids["Est"])],
        "categories": "Mobilité | Mobility\nNature en ville",
        "edit_window": "15",
        "support_threshold": "",
        "published": "1",
        "phase_rows": "3",
        "phase0_kind": "proposals",
        "phase0_starts_on": today.isoformat(),
        "phase0_ends_on": (today + timedelta(days=30)).isoformat(),
        "phase0_allows_proposals": "1",
        "phase1_kind": "voting",
        "phase1_starts_on": (today + timedelta(days=31)).isoformat(),
        "phase1_ends_on": (today + timedelta(days=60)).isoformat(),
        "phase1_allows_votes": "1",
    }
    sent = await client.post("/admin/participation/processes", data=form)
    assert sent.status_code == 303, sent.text
    process = await participation.get_process_by_slug(session, "budget-participatif-2027")
    (view,) = await participation.overview(session, [process])
    assert view.scope == [ids["Est"]] and process.edit_window_minutes == 15
    assert [phase.kind.value for phase in view.phases] == ["proposals", "voting"]
    assert [c.label("en") for c in view.categories] == ["Mobility", "Nature en ville"]
    assert view.abilities.proposals

    form["phase1_ends_on"] = (today + timedelta(days=20)).isoformat()
    form["title"] = "Un autre titre"
    again = await client.post(
        f"/admin/participation/processes/{process.id}", data=form, headers={"Accept-Language": "en"}
    )
    assert again.status_code == 400 and "Phase 2 must end after it starts." in again.text
    assert 'value="Un autre titre"' in again.text
    await session.refresh(process)
    assert process.title == "Budget participatif 2027"


async def test_only_admins_manage_processes_and_staff_answer(
    client: httpx.AsyncClient, session: AsyncSession, process: Process
) -> None:
    await signed_in(client, session)
    assert (await client.get("/admin/participation/processes")).status_code == 403
    assert (await client.get("/staff/participation")).status_code == 403


def test_status_labels_cover_every_status() -> None:
    assert set(participation.STATUS_LABELS) == set(ProposalStatus)
    assert re.match(r"^[a-z]", participation.STATUS_LABELS[ProposalStatus.DONE])


async def test_a_proposal_image_is_served_without_its_metadata(
    client: httpx.AsyncClient, session: AsyncSession, process: Process
) -> None:
    import io

    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    upload = io.BytesIO()
    Image.new("RGB", (64, 48), "green").save(upload, format="JPEG", exif=exif)
    await signed_in(client, session)
    token = await csrf_token(client, f"/participation/processes/{process.slug}/proposals/new")
    form = {"csrf_token": token, "title": "Un mur végétal", "body": "Un mur végétal sur le pignon nu de l'école."}
    files = {"image": ("mur.jpg", upload.getvalue(), "image/jpeg")}
    sent = await client.post(f"/participation/processes/{process.slug}/proposals", data=form, files=files)
    assert sent.status_code == 303
    page = await client.get(sent.headers["location"])
    match = re.search(r'src="(/participation/images/\d+)"', page.text)
    assert match
    served = await client.get(match.group(1))
    assert served.headers["content-type"] == "image/jpeg"
    assert b"PhoneMaker" not in served.content and Image.open(io.BytesIO(served.content)).size == (64, 48)

    not_a_photo = {"image": ("notes.txt", b"not a photo", "text/plain")}
    refused = await client.post(
        f"/participation/processes/{process.slug}/proposals",
        data=form,
        files=not_a_photo,
        headers={"Accept-Language": "en"},
    )
    assert refused.status_code == 400 and "This file is not a photo" in refused.text


async def test_saving_a_process_keeps_what_each_phase_says(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await setup_territory(session)
    phases = open_phases()
    phases[1].description = "Déposez vos idées jusqu'au 30."
    phases[1].description_en = "Send your ideas until the 30th."
    process = await create_process(session, phases=phases)
    await session.commit()
    await signed_in(client, session, Role.ADMIN)
    page = await client.get(f"/admin/participation/processes/{process.id}")
    # The edit form carries each phase's text, so that saving sends it back rather than clearing it.
    assert re.search(
        r'<textarea[^>]*name="phase1_description"[^>]*>Déposez vos idées jusqu&#39;au 30.</textarea>', page.text
    )
    assert re.search(
        r'<textarea[^>]*name="phase1_description_en"[^>]*>Send your ideas until the 30th.</textarea>', page.text
    )

    today = date.today()
    form = {
        "csrf_token": await csrf_token(client, f"/admin/participation/processes/{process.id}"),
        "title": "Des idées pour nos quartiers, saison 2",
        "slug": process.slug,
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=60)).isoformat(),
        "scope": "city",
        "categories": "Mobilité | Mobility",
        "edit_window": "30",
        "published": "1",
        "phase_rows": "1",
        "phase0_kind": "proposals",
        "phase0_starts_on": today.isoformat(),
        "phase0_ends_on": (today + timedelta(days=30)).isoformat(),
        "phase0_allows_proposals": "1",
        "phase0_description": "Une nouvelle consigne.",
        "phase0_description_en": "New guidance.",
    }
    saved = await client.post(f"/admin/participation/processes/{process.id}", data=form)
    assert saved.status_code == 303, saved.text
    slug = form["slug"]
    session.expire_all()
    (view,) = await participation.overview(session, [await participation.get_process_by_slug(session, slug)])
    assert [(p.description, p.description_en) for p in view.phases] == [("Une nouvelle consigne.", "New guidance.")]


async def test_a_request_refused_after_caching_a_frame_leaves_it_usable(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, process: Process
) -> None:
    """A refused request rolls its session back: the process frame it cached on the way must still serve
    the next requests (here an anonymous 404 on an unpublished process, then a staff member's view)."""
    process.published = False
    await session.commit()
    await signed_in(client, session, Role.STAFF)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as anonymous:
        assert (await anonymous.get(f"/participation/processes/{process.slug}")).status_code == 404
    staff_view = await client.get(f"/participation/processes/{process.slug}")
    assert staff_view.status_code == 200 and process.title in staff_view.text
