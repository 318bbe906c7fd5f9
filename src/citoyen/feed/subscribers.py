"""What the feed hears from the other domains, in the transaction of the change (citoyen.app.build_event_hub):
each public happening in a quartier becomes a feed item, written with the change or not at all."""

from __future__ import annotations

from collections.abc import Callable

from babel.dates import format_date
from babel.numbers import format_decimal
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.alerts import service as alerts
from citoyen.events import (
    AlertRaised,
    EventHub,
    IndicatorChanged,
    MilestoneRecorded,
    ProjectUpdatePosted,
    ProposalAnswered,
    ProposalHidden,
    ProposalPublished,
    ReportFiled,
    ReportUpdated,
)
from citoyen.feed.items import SUMMARY_LENGTH, TITLE_LENGTH, add_item, clip, latest_item, remove_items, texts
from citoyen.feed.models import ItemKind
from citoyen.i18n import N_, get_translations, localized
from citoyen.indicators import service as indicators
from citoyen.participation import service as participation
from citoyen.participation.follows import service as follows
from citoyen.projects import service as projects
from citoyen.reports import service as reports

REPORT_KINDS = (ItemKind.REPORT_FILED, ItemKind.REPORT_UPDATED)


def _both(label: str) -> tuple[str, str]:
    return get_translations("fr").gettext(label), get_translations("en").gettext(label)


async def on_report_filed(session: AsyncSession, event: ReportFiled) -> None:
    """A new report: its category and its address (public on its page), never its reporter or description."""
    report = await reports.get_report(session, event.report_id)
    if report.neighbourhood_id is None:
        return
    category = (await reports.categories_by_id(session)).get(report.category_id)
    name_fr = category.name if category else ""
    name_en = (category.name_en or category.name) if category else ""
    title_fr, _ = texts(N_("New report: %(category)s"), category=name_fr)
    _, title_en = texts(N_("New report: %(category)s"), category=name_en)
    await add_item(
        session,
        report.neighbourhood_id,
        ItemKind.REPORT_FILED,
        report.id,
        (title_fr, title_en),
        (report.address, report.address),
        f"/reports/{report.id}",
        occurred_at=report.requested_at,
    )


async def on_report_updated(session: AsyncSession, event: ReportUpdated) -> None:
    """A report's public status or answer changed (an internal note alone changes nothing in the feed)."""
    report = await reports.get_report(session, event.report_id)
    if report.neighbourhood_id is None:
        return
    status_fr, status_en = _both(reports.STATUS_LABELS[report.status])
    title = (
        texts(N_("Report %(id)s: %(status)s"), id=str(report.id), status=status_fr)[0],
        texts(N_("Report %(id)s: %(status)s"), id=str(report.id), status=status_en)[1],
    )
    summary = (report.status_notes, report.status_notes)
    last = await latest_item(session, REPORT_KINDS, report.id)
    if last is None or last.kind != ItemKind.REPORT_UPDATED.value:
        unchanged = report.status.value == "open" and not report.status_notes.strip()
    else:
        unchanged = (last.title, last.summary) == (clip(title[0], TITLE_LENGTH), clip(summary[0], SUMMARY_LENGTH))
    if unchanged:
        return  # nothing public changed since the feed last told (an internal note, a new department)
    await add_item(
        session, report.neighbourhood_id, ItemKind.REPORT_UPDATED, report.id, title, summary, f"/reports/{report.id}"
    )


async def on_proposal_published(session: AsyncSession, event: ProposalPublished) -> None:
    proposal = await participation.get_proposal(session, event.proposal_id)
    if proposal.neighbourhood_id is None:
        return
    await add_item(
        session,
        proposal.neighbourhood_id,
        ItemKind.PROPOSAL_PUBLISHED,
        proposal.id,
        texts(N_("New proposal: %(title)s"), title=proposal.title),
        link=f"/participation/proposals/{proposal.id}",
        occurred_at=proposal.created_at,
    )


async def on_proposal_answered(session: AsyncSession, event: ProposalAnswered) -> None:
    proposal = await participation.get_proposal(session, event.proposal_id)
    if proposal.neighbourhood_id is None:
        return
    status_fr, status_en = _both(participation.STATUS_LABELS[proposal.status])
    title = (
        texts(N_("Proposal “%(title)s”: %(status)s"), title=proposal.title, status=status_fr)[0],
        texts(N_("Proposal “%(title)s”: %(status)s"), title=proposal.title, status=status_en)[1],
    )
    await add_item(
        session,
        proposal.neighbourhood_id,
        ItemKind.PROPOSAL_ANSWERED,
        proposal.id,
        title,
        (event.answer, event.answer),
        f"/participation/proposals/{proposal.id}",
    )


async def on_milestone_recorded(session: AsyncSession, event: MilestoneRecorded) -> None:
    proposal = await participation.get_proposal(session, event.proposal_id)
    if proposal.neighbourhood_id is None:
        return
    milestone = next(
        (m for m in await participation.milestones_of(session, proposal.id) if m.id == event.milestone_id), None
    )
    if milestone is None:
        return
    await add_item(
        session,
        proposal.neighbourhood_id,
        ItemKind.MILESTONE,
        proposal.id,
        texts(N_("Progress on “%(title)s”: %(milestone)s"), title=proposal.title, milestone=milestone.title),
        (milestone.description, milestone.description),
        f"/participation/proposals/{proposal.id}",
    )


async def on_proposal_hidden(session: AsyncSession, event: ProposalHidden) -> None:
    """A proposal hidden by moderation leaves every feed (its page shows the public reason)."""
    kinds = (ItemKind.PROPOSAL_PUBLISHED, ItemKind.PROPOSAL_ANSWERED, ItemKind.MILESTONE)
    await remove_items(session, kinds, event.proposal_id)


async def on_project_update_posted(session: AsyncSession, event: ProjectUpdatePosted) -> None:
    """A project's update enters the feed of each of its quartiers; their followers are told (in the app, and in
    the daily digest of those who asked for it), except those who follow the project, whom projects tell."""
    project = await projects.get_project(session, event.project_id)
    update = next((u for u in await projects.updates_of(session, project.id) if u.id == event.update_id), None)
    if update is None:
        return
    title_fr, title_en = project.title, project.title_en or project.title
    title = (
        texts(N_("News of the project “%(title)s”"), title=title_fr)[0],
        texts(N_("News of the project “%(title)s”"), title=title_en)[1],
    )
    link = f"/projects/{project.id}#updates"
    told: set[int] = set()
    for neighbourhood_id in sorted(set(event.neighbourhood_ids)):
        await add_item(
            session,
            neighbourhood_id,
            ItemKind.PROJECT_UPDATE,
            update.id,
            title,
            (update.body, update.body_en or update.body),
            link,
            occurred_at=update.created_at,
        )
        told |= await follows.neighbourhood_followers(session, neighbourhood_id)
    told -= await projects.followers(session, project.id)  # they hear it from projects
    told.discard(update.author_id or 0)
    wording = N_("News of the project “%(title)s” in a quartier you follow")
    await follows.tell(session, told, _told_as(wording, "title", title_fr, title_en), link)


def _told_as(wording: str, key: str, french: str, english: str) -> Callable[[Callable[[str], str]], str]:
    """A followers' notice for `follows.tell`, which gives each reader's gettext: `wording` in the reader's language,
    its `key` filled with the name in that language (cut to 80 characters). A French reader's gettext translates the
    wording, an English reader's leaves it as it is."""
    names = {"fr": clip(french, 80), "en": clip(english, 80)}

    def told_as(translate: Callable[[str], str]) -> str:
        translated = translate(wording)
        return translated % {key: names["en"] if translated == wording else names["fr"]}

    return told_as


async def on_alert_raised(session: AsyncSession, event: AlertRaised) -> None:
    """An early-warning alert about one quartier enters its feed (what is unusual, never about a person); the
    quartier's followers are told (in the app, and in the daily digest of those who asked for it)."""
    if event.neighbourhood_id is None:
        return
    alert = await alerts.get_alert(session, event.alert_id)
    wording = N_("Something unusual in a quartier you follow: %(name)s")
    told_as = _told_as(wording, "name", alert.subject_name, alert.subject_name_en or alert.subject_name)
    await follows.tell(
        session, await follows.neighbourhood_followers(session, event.neighbourhood_id), told_as, f"/alerts/{alert.id}"
    )
    await add_item(
        session,
        event.neighbourhood_id,
        ItemKind.ALERT,
        alert.id,
        (
            texts(N_("Something unusual: %(name)s"), name=alert.subject_name)[0],
            texts(N_("Something unusual: %(name)s"), name=alert.subject_name_en or alert.subject_name)[1],
        ),
        link=f"/alerts/{alert.id}",
        occurred_at=alert.raised_at,
    )


def _figure(value: float, locale: str) -> str:
    """A figure as the indicators' pages write it (decimal comma in French, small figures' significant digits)."""
    pattern = "#,##0.###" if abs(value) < 1 else "#,##0.##" if abs(value) < 10 else "#,##0.#"
    return format_decimal(value, format=pattern, locale=locale)


def change_texts(change: indicators.Change, locale: str) -> tuple[str, str, str]:
    """An indicator change's title, summary and indicator name in `locale` ("Reports filed: +35% in the week of
    30 November 2026"; French typography: a no-break space before the colon and the percent sign)."""
    translate = get_translations(locale).gettext
    indicator, judged = change.indicator, change.judged
    name = localized(locale, indicator.name, indicator.name_en)
    percent = round(judged.ratio * 100)
    move = f"{percent:+d}".replace("-", "\u2212") + ("\u00a0%" if locale == "fr" else "%")  # a true minus sign
    week = format_date(change.week, "d MMMM y", locale=locale)
    title = translate(N_("%(indicator)s: %(change)s in the week of %(week)s")) % {
        "indicator": name,
        "change": move,
        "week": week,
    }
    summary = translate(
        N_(
            "%(value)s %(unit)s that week, against %(mean)s on average (from %(low)s to %(high)s) over the "
            "%(weeks)s weeks before."
        )
    ) % {
        "value": _figure(judged.value, locale),
        "unit": indicator.unit_in(locale),
        "mean": _figure(judged.mean, locale),
        "low": _figure(judged.low, locale),
        "high": _figure(judged.high, locale),
        "weeks": str(judged.weeks),
    }
    return title, summary, name


async def on_indicator_changed(session: AsyncSession, event: IndicatorChanged) -> None:
    """A quartier's weekly figure left its usual range (indicators judge it once a week): an item in its feed,
    linking the quartier's indicators, and its followers are told as of an alert."""
    change = await indicators.get_change(session, event.change_id)
    title_fr, summary_fr, name_fr = change_texts(change, "fr")
    title_en, summary_en, name_en = change_texts(change, "en")
    link = f"/indicators/quartiers/{change.neighbourhood_id}#indicator-{change.indicator.id}"
    await add_item(
        session,
        change.neighbourhood_id,
        ItemKind.INDICATOR_CHANGE,
        change.id,
        (title_fr, title_en),
        (summary_fr, summary_en),
        link,
        occurred_at=change.judged_at,
        simulated=change.simulated,
    )
    wording = N_("An indicator moved in a quartier you follow: %(name)s")
    told_as = _told_as(wording, "name", name_fr, name_en)
    await follows.tell(session, await follows.neighbourhood_followers(session, change.neighbourhood_id), told_as, link)


def register_subscribers(hub: EventHub) -> None:
    """The feed's items grow with the changes they tell of, in the same transaction."""
    hub.subscribe_in_transaction(ReportFiled, on_report_filed)
    hub.subscribe_in_transaction(ReportUpdated, on_report_updated)
    hub.subscribe_in_transaction(ProposalPublished, on_proposal_published)
    hub.subscribe_in_transaction(ProposalAnswered, on_proposal_answered)
    hub.subscribe_in_transaction(MilestoneRecorded, on_milestone_recorded)
    hub.subscribe_in_transaction(ProposalHidden, on_proposal_hidden)
    hub.subscribe_in_transaction(ProjectUpdatePosted, on_project_update_posted)
    hub.subscribe_in_transaction(AlertRaised, on_alert_raised)
    hub.subscribe_in_transaction(IndicatorChanged, on_indicator_changed)
