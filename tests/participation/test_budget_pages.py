"""Budget pages over HTTP: the ballot page, casting a ballot (refusals keep the selection), results, CSV,
and the administrators' pages."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.i18n import format_moment
from citoyen.participation.budgets import service as budgets
from citoyen.participation.budgets.models import Ballot, Budget
from citoyen.people.models import Role
from tests.conftest import csrf_token
from tests.factories import create_person, log_in
from tests.participation.budget_helpers import create_budget, verified_residents, voting_phase

EN = {"Accept-Language": "en"}


async def test_the_ballot_page_shows_projects_costs_and_the_rules(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    budget, _ = await create_budget(session, min_spend_percent=50)
    await session.commit()
    page = await client.get(f"/participation/budgets/{budget.id}", headers=EN)
    assert page.status_code == 200
    assert "Project A" in page.text and "€60" in page.text and "€100" in page.text
    assert "at least €50 (50% of the budget)" in page.text
    assert "Log in to vote" in page.text
    assert 'data-cost="6000"' in page.text
    french = await client.get(f"/participation/budgets/{budget.id}", headers={"Accept-Language": "fr"})
    assert "Projet A" in french.text and "60\u00a0€" in french.text


async def test_a_citizen_must_verify_before_voting(client: httpx.AsyncClient, session: AsyncSession) -> None:
    budget, (a, _, _) = await create_budget(session)
    person = await create_person(session)
    await session.commit()
    await log_in(client, person.email)
    page = await client.get(f"/participation/budgets/{budget.id}", headers=EN)
    assert f"/account/verification?next=/participation/budgets/{budget.id}" in page.text
    token = await csrf_token(client, f"/participation/budgets/{budget.id}")
    refused = await client.post(
        f"/participation/budgets/{budget.id}/ballot", data={"csrf_token": token, "project": [str(a.id)]}, headers=EN
    )
    assert refused.status_code == 403
    assert "Only verified residents can vote" in refused.text


async def test_an_over_budget_ballot_is_refused_and_the_form_keeps_the_selection(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    budget, (a, b, c) = await create_budget(session)
    [resident] = await verified_residents(session, settings, 1)
    await session.commit()
    await log_in(client, resident.email)
    token = await csrf_token(client, f"/participation/budgets/{budget.id}")
    chosen = [str(a.id), str(b.id), str(c.id)]
    refused = await client.post(
        f"/participation/budgets/{budget.id}/ballot", data={"csrf_token": token, "project": chosen}, headers=EN
    )
    assert refused.status_code == 400
    assert "Your selection costs €140, more than the budget of €100." in refused.text
    checked = set(re.findall(r'value="(\d+)" id="project-\d+" data-cost="\d+"\s+checked', refused.text))
    assert checked == set(chosen)
    assert await session.scalar(select(func.count()).select_from(Ballot)) == 0

    accepted = await client.post(
        f"/participation/budgets/{budget.id}/ballot",
        data={"csrf_token": token, "project": [str(a.id), str(c.id)]},
        headers=EN,
    )
    assert accepted.status_code == 303
    page = await client.get(accepted.headers["location"], headers=EN)
    assert "Your ballot has been recorded" in page.text
    assert "Change my ballot" in page.text
    assert await budgets.ballot_of(session, budget, resident) == {a.id, c.id}


async def test_results_are_public_only_once_voting_has_closed(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings, app: FastAPI
) -> None:
    budget, (a, b, c) = await create_budget(session)
    residents = await verified_residents(session, settings, 10)
    for resident in residents[:6]:
        await budgets.cast_ballot(session, budget, resident, [a.id, b.id])
    for resident in residents[6:]:
        await budgets.cast_ballot(session, budget, resident, [c.id])
    await session.commit()
    phase = await voting_phase(session, await budgets.process_of(session, budget))
    early = await client.get(f"/participation/budgets/{budget.id}/results", headers=EN)
    assert early.status_code == 403 and "Access denied" not in early.text
    closing = format_moment(phase.ends_at, "en", settings.zone)  # in the city's time, as every time shown
    assert f"The results will be published when voting closes, on {closing}." in early.text
    french = await client.get(f"/participation/budgets/{budget.id}/results", headers={"Accept-Language": "fr"})
    assert "Les résultats seront publiés à la clôture du vote, le " in french.text
    staff = await create_person(session, role=Role.ADMIN)
    await session.commit()
    await log_in(client, staff.email)
    # The first count runs in the background: the page says so, and shows the results once it is over.
    counting = await client.get(f"/participation/budgets/{budget.id}/results", headers=EN)
    assert counting.status_code == 200 and "The ballots are being counted" in counting.text
    await app.state.budget_results.wait(budget.id)
    provisional = await client.get(f"/participation/budgets/{budget.id}/results", headers=EN)
    assert provisional.status_code == 200 and "provisional results" in provisional.text

    phase.ends_at = phase.starts_at  # voting has closed
    await session.commit()
    await client.post("/logout", data={"csrf_token": await csrf_token(client)})
    page = await client.get(f"/participation/budgets/{budget.id}/results", headers=EN)
    assert page.status_code == 200
    assert "10 ballots" in page.text
    assert "Method of Equal Shares" in page.text and "(official result)" in page.text
    assert page.text.count('class="funded"') == 4  # A and B by greedy, A and C by Equal Shares
    exported = await client.get(f"/participation/budgets/{budget.id}/results.csv")
    assert exported.headers["content-type"].startswith("text/csv")
    assert f"{c.id},Projet C,40.00,4,0,1,1" in exported.text


async def test_admins_create_a_budget_add_projects_and_choose_the_method(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    existing, _ = await create_budget(session)
    admin = await create_person(session, role=Role.ADMIN)
    await session.commit()
    await log_in(client, admin.email)
    token = await csrf_token(client, "/admin/participation/budgets")
    form = {
        "csrf_token": token,
        "phase_id": str(existing.phase_id),
        "title": "Budget des écoles",
        "total": "250 000",
        "rule": "approval",
        "max_projects": "",
        "official_method": "greedy",
    }
    refused = await client.post("/admin/participation/budgets", data=form, headers=EN)
    assert refused.status_code == 400 and "maximum number of projects" in refused.text
    created = await client.post("/admin/participation/budgets", data=form | {"max_projects": "3"})
    assert created.status_code == 303
    budget = (await session.execute(select(Budget).where(Budget.title == "Budget des écoles"))).scalar_one()
    assert budget.total_cents == 250_000_00 and budget.max_projects == 3
    added = await client.post(
        f"/admin/participation/budgets/{budget.id}/projects",
        data={"csrf_token": token, "title": "Cour oasis", "cost": "80 000,50", "place": "École Jean-Jaurès"},
    )
    assert added.status_code == 303
    [project] = await budgets.projects_of(session, budget.id)
    assert project.cost_cents == 80_000_50
    chosen = await client.post(
        f"/admin/participation/budgets/{budget.id}/method",
        data={"csrf_token": token, "official_method": "equal_shares"},
    )
    assert chosen.status_code == 303
    await session.refresh(budget)
    assert budget.official_method.value == "equal_shares"
