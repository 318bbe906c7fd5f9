"""Budget pages: the list of budgets, a resident's ballot (phone first, with the running total), the
results of both counting methods with a CSV export, and the administrators' pages."""

from __future__ import annotations

from datetime import datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import DbSession
from citoyen.i18n import N_, format_moment
from citoyen.participation.budgets import service as budgets
from citoyen.participation.budgets.models import Budget
from citoyen.participation.budgets.rules import BallotRule, ResultMethod
from citoyen.people.service import Person
from citoyen.territory import service as territory
from citoyen.verification import service as verification
from citoyen.web.forms import field, or_404, see_other
from citoyen.web.params import MAX_ID, PathId, parse_id
from citoyen.web.security import AdminPerson, CurrentPerson, Form, SignedInPerson
from citoyen.web.templating import flash, locale_of, render

router = APIRouter(include_in_schema=False)


def _problems(error: budgets.BudgetError, locale: str) -> list[dict[str, Any]]:
    """For _errors.html: msgids with their values, amounts already formatted for the reader."""
    return [
        {"message": problem.message, "values": budgets.problem_values(problem, locale)} for problem in error.problems
    ]


async def _budget_or_404(session: AsyncSession, budget_id: int) -> Budget:
    return await or_404(budgets.get_budget(session, budget_id), "Unknown budget.")


def _money(locale: str) -> Any:
    return lambda cents: budgets.format_money(int(cents), locale)


# --- citizens ---------------------------------------------------------------------------------


@router.get("/participation/budgets")
async def list_budgets(request: Request, session: DbSession, person: CurrentPerson) -> Response:
    items = []
    for budget in await budgets.list_budgets(session):
        phase = await budgets.phase_of(session, budget)
        if budgets.results_are_public(phase):
            # Voting has closed: the count starts now, if it has not run, before anyone opens the results.
            await request.app.state.budget_results.warm(session, budget)
        items.append(
            {
                "budget": budget,
                "phase": phase,
                "open": budgets.is_open(phase),
                "results": budgets.results_are_public(phase),
            }
        )
    return render(request, "budgets/list.html", {"items": items, "money": _money(locale_of(request))})


async def _render_ballot(
    request: Request,
    session: AsyncSession,
    budget: Budget,
    person: Person | None,
    selection: set[int] | None = None,
    errors: list[dict[str, Any]] | None = None,
    status_code: int = 200,
) -> Response:
    locale = locale_of(request)
    phase = await budgets.phase_of(session, budget)
    process = await budgets.process_of(session, budget)
    saved = await budgets.ballot_of(session, budget, person) if person else None
    verified = await verification.is_verified(session, person.id) if person else False
    neighbourhoods = await territory.neighbourhood_names(session, request.app.state.territory_index)
    context = {
        "budget": budget,
        "phase": phase,
        "process": process,
        "projects": await budgets.projects_of(session, budget.id),
        "open": budgets.is_open(phase),
        "results_public": budgets.results_are_public(phase),
        "verified": verified,
        "saved": saved,
        "selection": selection if selection is not None else (saved or set()),
        "errors": errors or [],
        "money": _money(locale),
        "neighbourhoods": neighbourhoods,
        "rule_labels": budgets.RULE_LABELS,
        "min_spend_cents": budget.rules.min_spend_cents,
    }
    return render(request, "budgets/ballot.html", context, status_code)


@router.get("/participation/budgets/{budget_id:int}")
async def show_ballot(request: Request, session: DbSession, person: CurrentPerson, budget_id: PathId) -> Response:
    budget = await _budget_or_404(session, budget_id)
    return await _render_ballot(request, session, budget, person)


@router.post("/participation/budgets/{budget_id:int}/ballot")
async def cast_ballot(
    request: Request, session: DbSession, person: SignedInPerson, budget_id: PathId, form: Form
) -> Response:
    budget = await _budget_or_404(session, budget_id)
    try:
        # Not a project id: -1, refused below as a project outside this budget.
        chosen = [parse_id(value) or -1 for value in form.getlist("project") if isinstance(value, str)]
    except ValueError:
        chosen = [-1]
    try:
        await budgets.cast_ballot(session, budget, person, chosen)
    except budgets.BudgetError as error:
        problems = _problems(error, locale_of(request))
        status_code = error.status_code
        return await _render_ballot(request, session, budget, person, set(chosen), problems, status_code)
    flash(request, N_("Your ballot has been recorded. You can change it until voting closes."), "success")
    return see_other(f"/participation/budgets/{budget.id}#ballot")


async def _render_results(request: Request, session: AsyncSession, budget: Budget) -> Response:
    phase = await budgets.phase_of(session, budget)
    counted = await request.app.state.budget_results.ready(session, budget)
    if counted is None:
        # The first count runs in the background (seconds over many ballots): the page says so and reloads.
        counting = {"budget": budget, "process": await budgets.process_of(session, budget)}
        return render(request, "budgets/results_counting.html", counting)
    projects, outcome = counted.projects, counted.outcome
    most_votes = max(outcome.votes.values(), default=0) or 1
    rows = sorted(projects, key=lambda project: (-outcome.votes.get(project.id, 0), project.position))
    context = {
        "budget": budget,
        "phase": phase,
        "process": await budgets.process_of(session, budget),
        "rows": rows,
        "outcome": outcome,
        "greedy": set(outcome.greedy.selected),
        "equal_shares": set(outcome.equal_shares.selected),
        "official": budget.official_method.value,
        "most_votes": most_votes,
        "final": budgets.results_are_public(phase),
        "current": counted.current,
        "money": _money(locale_of(request)),
        "method_labels": {method.value: label for method, label in budgets.METHOD_LABELS.items()},
    }
    return render(request, "budgets/results.html", context)


async def _results_visible(session: AsyncSession, budget: Budget, person: Person | None) -> None:
    if person is not None and person.is_staff:
        return
    if not budgets.results_are_public(await budgets.phase_of(session, budget)):
        raise HTTPException(403, "The results are published when voting closes.")


def _closing(moment: datetime, locale: str, zone: tzinfo) -> str:
    """When voting closes, in the city's time, as the page's language writes a moment."""
    return format_moment(moment, locale, zone)


@router.get("/participation/budgets/{budget_id:int}/results")
async def show_results(request: Request, session: DbSession, person: CurrentPerson, budget_id: PathId) -> Response:
    """The results once voting has closed (staff see them, provisional, before); a citizen who comes early is
    told when they will be published."""
    budget = await _budget_or_404(session, budget_id)
    phase = await budgets.phase_of(session, budget)
    if not (person is not None and person.is_staff) and not budgets.results_are_public(phase):
        context = {
            "budget": budget,
            "process": await budgets.process_of(session, budget),
            "closing": _closing(phase.ends_at, locale_of(request), request.app.state.settings.zone),
        }
        return render(request, "budgets/results_pending.html", context, status_code=403)
    return await _render_results(request, session, budget)


@router.get("/participation/budgets/{budget_id:int}/results.csv")
async def results_csv(request: Request, session: DbSession, person: CurrentPerson, budget_id: PathId) -> Response:
    budget = await _budget_or_404(session, budget_id)
    await _results_visible(session, budget, person)
    projects, outcome = await request.app.state.budget_results.results(session, budget)
    return Response(
        budgets.results_csv(projects, outcome, budget.official_method),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="budget-{budget.id}-results.csv"'},
    )


# --- administration ---------------------------------------------------------------------------


def _cents(text: str) -> int:
    """Euros typed in a form ("250 000", "1234,50") as cents; -1 when it is not an amount."""
    cleaned = text.replace("\u00a0", "").replace(" ", "").replace("€", "").replace(",", ".")
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        return -1
    # Beyond any budget, before Decimal builds a huge int (the service names the bound to the admin).
    if not amount.is_finite() or abs(amount) > budgets.MAX_TOTAL_CENTS:
        return budgets.MAX_TOTAL_CENTS + 1
    return int((amount * 100).to_integral_value())


def _optional_int(text: str) -> int | None:
    try:
        number = int(text) if text else None
    except ValueError:
        return -1
    return number if number is None or abs(number) <= MAX_ID else -1


def _budget_input(form: Any) -> budgets.BudgetInput:
    rule = BallotRule.APPROVAL if field(form, "rule") == "approval" else BallotRule.KNAPSACK
    method = ResultMethod.GREEDY if field(form, "official_method") == "greedy" else ResultMethod.EQUAL_SHARES
    return budgets.BudgetInput(
        phase_id=_optional_int(field(form, "phase_id")) or 0,
        title=field(form, "title"),
        title_en=field(form, "title_en"),
        description=field(form, "description"),
        description_en=field(form, "description_en"),
        total_cents=_cents(field(form, "total")),
        rule=rule,
        min_spend_percent=_optional_int(field(form, "min_spend_percent")),
        min_projects=_optional_int(field(form, "min_projects")) or 0,
        max_projects=_optional_int(field(form, "max_projects")),
        official_method=method,
    )


async def _render_admin_list(
    request: Request, session: AsyncSession, errors: list[dict[str, Any]] | None = None, status_code: int = 200
) -> Response:
    context = {
        "budgets": await budgets.list_budgets(session),
        "phases": await budgets.voting_phases(session),
        "errors": errors or [],
        "values": {},
        "money": _money(locale_of(request)),
        "method_labels": {method.value: label for method, label in budgets.METHOD_LABELS.items()},
    }
    return render(request, "budgets/admin_list.html", context, status_code)


@router.get("/admin/participation/budgets")
async def admin_budgets(request: Request, session: DbSession, admin: AdminPerson) -> Response:
    return await _render_admin_list(request, session)


@router.post("/admin/participation/budgets")
async def admin_create_budget(request: Request, session: DbSession, admin: AdminPerson, form: Form) -> Response:
    try:
        budget = await budgets.save_budget(session, _budget_input(form))
    except budgets.BudgetError as error:
        return await _render_admin_list(request, session, _problems(error, locale_of(request)), 400)
    flash(request, N_("The budget has been created: add its projects."), "success")
    return see_other(f"/admin/participation/budgets/{budget.id}")


async def _render_admin_budget(
    request: Request,
    session: AsyncSession,
    budget: Budget,
    errors: list[dict[str, Any]] | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "budget": budget,
        "phase": await budgets.phase_of(session, budget),
        "process": await budgets.process_of(session, budget),
        "phases": await budgets.voting_phases(session),
        "projects": await budgets.projects_of(session, budget.id),
        "proposals": await budgets.fundable_proposals(session, budget),
        "ballots": await budgets.ballot_count(session, budget.id),
        "neighbourhoods": await territory.list_neighbourhoods(session),
        "errors": errors or [],
        "money": _money(locale_of(request)),
        "method_labels": {method.value: label for method, label in budgets.METHOD_LABELS.items()},
    }
    return render(request, "budgets/admin_budget.html", context, status_code)


@router.get("/admin/participation/budgets/{budget_id:int}")
async def admin_budget(request: Request, session: DbSession, admin: AdminPerson, budget_id: PathId) -> Response:
    return await _render_admin_budget(request, session, await _budget_or_404(session, budget_id))


@router.post("/admin/participation/budgets/{budget_id:int}")
async def admin_update_budget(
    request: Request, session: DbSession, admin: AdminPerson, budget_id: PathId, form: Form
) -> Response:
    budget = await _budget_or_404(session, budget_id)
    try:
        await budgets.save_budget(session, _budget_input(form), budget)
    except budgets.BudgetError as error:
        await session.refresh(budget)
        return await _render_admin_budget(request, session, budget, _problems(error, locale_of(request)), 400)
    flash(request, N_("The budget has been saved."), "success")
    return see_other(f"/admin/participation/budgets/{budget.id}")


@router.post("/admin/participation/budgets/{budget_id:int}/projects")
async def admin_add_project(
    request: Request, session: DbSession, admin: AdminPerson, budget_id: PathId, form: Form
) -> Response:
    budget = await _budget_or_404(session, budget_id)
    neighbourhood_id = _optional_int(field(form, "neighbourhood_id"))
    data = budgets.ProjectInput(
        title=field(form, "title"),
        title_en=field(form, "title_en"),
        description=field(form, "description"),
        description_en=field(form, "description_en"),
        cost_cents=_cents(field(form, "cost")),
        place=field(form, "place"),
        neighbourhood_id=neighbourhood_id if neighbourhood_id and neighbourhood_id > 0 else None,
    )
    try:
        await budgets.save_project(session, budget, data)
    except budgets.BudgetError as error:
        return await _render_admin_budget(request, session, budget, _problems(error, locale_of(request)), 400)
    flash(request, N_("The project has been added."), "success")
    return see_other(f"/admin/participation/budgets/{budget.id}#projects")


@router.post("/admin/participation/budgets/{budget_id:int}/from-proposal")
async def admin_project_from_proposal(
    request: Request, session: DbSession, admin: AdminPerson, budget_id: PathId, form: Form
) -> Response:
    budget = await _budget_or_404(session, budget_id)
    try:
        proposal_id = _optional_int(field(form, "proposal_id")) or 0
        await budgets.project_from_proposal(session, budget, proposal_id, _cents(field(form, "cost")))
    except budgets.BudgetError as error:
        return await _render_admin_budget(request, session, budget, _problems(error, locale_of(request)), 400)
    flash(request, N_("The project has been added."), "success")
    return see_other(f"/admin/participation/budgets/{budget.id}#projects")


@router.post("/admin/participation/budgets/{budget_id:int}/projects/{project_id:int}/delete")
async def admin_delete_project(
    request: Request, session: DbSession, admin: AdminPerson, budget_id: PathId, project_id: PathId, form: Form
) -> Response:
    budget = await _budget_or_404(session, budget_id)
    try:
        await budgets.delete_project(session, budget, project_id)
    except budgets.BudgetError as error:
        return await _render_admin_budget(request, session, budget, _problems(error, locale_of(request)), 409)
    return see_other(f"/admin/participation/budgets/{budget.id}#projects")


@router.post("/admin/participation/budgets/{budget_id:int}/method")
async def admin_official_method(
    request: Request, session: DbSession, admin: AdminPerson, budget_id: PathId, form: Form
) -> Response:
    budget = await _budget_or_404(session, budget_id)
    method = ResultMethod.GREEDY if field(form, "official_method") == "greedy" else ResultMethod.EQUAL_SHARES
    await budgets.set_official_method(session, budget, method)
    flash(request, N_("The official counting method has been saved."), "success")
    return see_other(f"/participation/budgets/{budget.id}/results")
