"""The platform's datasets of counts about people, each released through the privacy layer.

- reports per neighbourhood and category for the last complete ISO week: differential privacy (discrete
  Laplace, ε = 1 per release); a person counts once per cell and in at most three cells;
- participants (who proposed or supported) per neighbourhood for the last complete month: differential
  privacy (ε = 1 per release); a person counts in one neighbourhood only;
- answers per option of every closed survey with public results: minimum cell size k = 10 (the exact counts of
  larger cells are what the survey's results page already shows).

Each release's ledger entry is appended to the `PublishContext` as the resource is written. Each feed says the
period it covers (`Feed.period`: "2026-W49", "2026-11"): a period is released once, when it is complete, so its
ε is spent once; the refresh skips a feed whose period the ledger already holds (`privacy.already_released`), and
any further release of the same period is added to that period's total in the ledger.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.opendata.feed_kit import Batches, Feed, FeedResource, PublishContext, Rows, col
from citoyen.opendata.privacy import CellCounts, LaplaceDP, MinCellSize, Policy, Release, period_label, release
from citoyen.opendata.tabular import Column
from citoyen.participation import service as participation
from citoyen.reports import service as reports

REPORT_CELLS_PER_PERSON = 3
PARTICIPATION_CELLS_PER_PERSON = 1
REPORTS_POLICY: Policy = LaplaceDP(epsilon=1.0)
PARTICIPATION_POLICY: Policy = LaplaceDP(epsilon=1.0)
SURVEY_POLICY: Policy = MinCellSize(k=10)

COUNT = col(
    "count",
    "integer",
    "Nombre de personnes",
    "Number of people",
    "vide si la cellule est masquée ; bruité si la publication est différentiellement privée (voir le registre)",
    "empty when the cell is suppressed; noisy when the release is differentially private (see the ledger)",
)
SUPPRESSED = col(
    "suppressed",
    "boolean",
    "Masqué",
    "Suppressed",
    "vrai si la cellule compte trop peu de personnes pour être publiée",
    "true when the cell counts too few people to be published",
    required=True,
)


def _released(
    dataset: str,
    resource: str,
    policy: Policy,
    period: str,
    subject: tuple[str, str],
    count: Callable[[PublishContext], Awaitable[CellCounts]],
    shape: Callable[[PublishContext, Release], Awaitable[None]] | None = None,
) -> Rows:
    """Rows produced by a privacy release, whose ledger entry joins the context's ledger."""

    async def rows(ctx: PublishContext) -> Batches:
        counts = await count(ctx)
        done = release(
            counts,
            policy,
            dataset=dataset,
            resource=resource,
            period=period,
            released_at=ctx.now,
            subject=subject[0],
            subject_en=subject[1],
        )
        ctx.ledger.append(done.ledger)
        if shape is not None:
            await shape(ctx, done)
        yield done.rows

    return rows


def _monday(now: datetime) -> datetime:
    day = now.astimezone(UTC).date() - timedelta(days=now.astimezone(UTC).weekday())
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def last_complete_week(now: datetime) -> tuple[datetime, datetime, str]:
    """[start, end) of the last complete ISO week (UTC) before `now`, and its ISO name (2026-W49)."""
    end = _monday(now)
    start = end - timedelta(weeks=1)
    year, week, _ = start.isocalendar()
    return start, end, f"{year}-W{week:02d}"


def last_complete_month(now: datetime) -> tuple[datetime, datetime, str]:
    """[start, end) of the last complete calendar month (UTC) before `now`, and its name (2026-11)."""
    today = now.astimezone(UTC)
    end = datetime(today.year, today.month, 1, tzinfo=UTC)
    start = datetime(end.year - (end.month == 1), (end.month - 2) % 12 + 1, 1, tzinfo=UTC)
    return start, end, f"{start.year}-{start.month:02d}"


async def _add_names(ctx: PublishContext, done: Release) -> None:
    names = await ctx.neighbourhood_names()
    for row in done.rows:
        row["neighbourhood"] = names.get(row["neighbourhood_id"])


# --- reports per neighbourhood, category and week ---------------------------------------------------------


def reports_weekly_feed(now: datetime) -> Feed:
    start, end, period = last_complete_week(now)

    async def count(ctx: PublishContext) -> CellCounts:
        codes = await reports.category_codes(ctx.session)
        neighbourhoods = sorted(await ctx.neighbourhood_names())
        exact = await reports.reporter_counts(ctx.session, start, end, REPORT_CELLS_PER_PERSON)
        return CellCounts(
            dimensions=("neighbourhood_id", "category", "week"),
            counts={(n, codes[c], week): value for (n, c, week), value in exact.items()},
            domain=[(n, code, start.date()) for n in neighbourhoods for code in sorted(codes.values())],
            max_contributions=REPORT_CELLS_PER_PERSON,
            contribution_rule=(
                "une personne compte une fois par cellule, quel que soit son nombre de signalements, et dans "
                f"{REPORT_CELLS_PER_PERSON} cellules au plus (celles de ses premiers signalements)\u00a0; une "
                "personne est son compte, ou l’adresse e-mail laissée\u00a0; les signalements qui ne nomment "
                "personne (anonymes, ou dont l’auteur a effacé son compte) ne sont pas comptés"
            ),
            contribution_rule_en=(
                "a person counts once per cell however many reports they filed, and in at most "
                f"{REPORT_CELLS_PER_PERSON} cells (those of their first reports); a person is their account, or "
                "the e-mail address they left; reports that name nobody (anonymous, or whose author erased their "
                "account) are not counted"
            ),
        )

    columns: tuple[Column, ...] = (
        col("neighbourhood_id", "integer", "Identifiant du quartier", "Neighbourhood identifier", required=True),
        col("neighbourhood", "string", "Quartier", "Neighbourhood"),
        col("category", "string", "Catégorie", "Category", required=True),
        col("week", "date", "Semaine", "Week", "lundi de la semaine ISO (UTC)", "Monday of the ISO week (UTC)"),
        COUNT,
        SUPPRESSED,
    )
    slug = "signalements-par-quartier-et-semaine"
    return Feed(
        slug=slug,
        title="Signalants par quartier, catégorie et semaine (confidentialité différentielle)",
        title_en="Reporters per neighbourhood, category and week (differential privacy)",
        description=(
            f"Le nombre de personnes ayant signalé un problème, par quartier et catégorie, pour la semaine {period} "
            "(chaque semaine complète est publiée une fois). Les comptes sont protégés par la confidentialité "
            "différentielle (OpenDP) : ils sont approximatifs, et le budget ε dépensé est publié dans le "
            "registre de confidentialité. Les signalements qui ne nomment personne (anonymes) ne sont pas comptés."
        ),
        description_en=(
            f"How many people reported a problem, per neighbourhood and category, in week {period} (each complete "
            "week is released once). Counts are protected by differential privacy (OpenDP): they are "
            "approximate, and the ε spent is published in the privacy ledger. Reports that name nobody "
            "(anonymous ones) are not counted."
        ),
        themes=("REGI", "SOCI"),
        frequency="WEEKLY",
        period=period,
        keywords=("signalements", "statistiques", "confidentialité différentielle"),
        resources=(
            FeedResource(
                "comptes",
                "Signalants par quartier, catégorie et semaine",
                "Reporters per neighbourhood, category and week",
                "Une cellule par ligne ; toutes les cellules, même vides, sont publiées.",
                "One cell per line; every cell, even empty, is published.",
                "csv",
                columns,
                _released(
                    slug,
                    "comptes",
                    REPORTS_POLICY,
                    period,
                    ("Signalants par quartier, catégorie et semaine", "Reporters per neighbourhood, category and week"),
                    count,
                    _add_names,
                ),
                ("neighbourhood_id", "category", "week"),
                aggregate=True,
            ),
        ),
    )


# --- participants per neighbourhood ----------------------------------------------------------------------------


def participation_feed(now: datetime) -> Feed:
    start, end, period = last_complete_month(now)

    async def count(ctx: PublishContext) -> CellCounts:
        neighbourhoods = sorted(await ctx.neighbourhood_names())
        exact = await participation.participant_counts(ctx.session, start, end, PARTICIPATION_CELLS_PER_PERSON)
        return CellCounts(
            dimensions=("neighbourhood_id",),
            counts=exact,
            domain=[(n,) for n in neighbourhoods],
            max_contributions=PARTICIPATION_CELLS_PER_PERSON,
            contribution_rule=(
                "une personne compte une seule fois, dans le quartier de sa première proposition ou de son premier "
                "soutien de la période"
            ),
            contribution_rule_en=(
                "a person counts once, in the neighbourhood of their first proposal or support of the period"
            ),
        )

    columns = (
        col("neighbourhood_id", "integer", "Identifiant du quartier", "Neighbourhood identifier", required=True),
        col("neighbourhood", "string", "Quartier", "Neighbourhood"),
        COUNT,
        SUPPRESSED,
    )
    slug = "participation-par-quartier"
    subject = ("Participants par quartier", "Participants per neighbourhood")
    return Feed(
        slug=slug,
        title="Participants par quartier (confidentialité différentielle)",
        title_en="Participants per neighbourhood (differential privacy)",
        description=(
            "Le nombre de personnes ayant déposé ou soutenu une proposition, par quartier de la proposition, "
            f"pour le mois {period} (chaque mois complet est publié une fois), protégé par la confidentialité "
            "différentielle (OpenDP)."
        ),
        description_en=(
            "How many people submitted or supported a proposal, per neighbourhood of the proposal, in month "
            f"{period} (each complete month is released once), protected by differential privacy (OpenDP)."
        ),
        themes=("GOVE", "SOCI"),
        frequency="MONTHLY",
        period=period,
        keywords=("participation", "statistiques", "confidentialité différentielle"),
        publisher="participation",
        resources=(
            FeedResource(
                "comptes",
                "Participants par quartier",
                "Participants per neighbourhood",
                "Un quartier par ligne.",
                "One neighbourhood per line.",
                "csv",
                columns,
                _released(slug, "comptes", PARTICIPATION_POLICY, period, subject, count, _add_names),
                ("neighbourhood_id",),
                aggregate=True,
            ),
        ),
    )


# --- survey answers per option ----------------------------------------------------------------------------------

SURVEY_COLUMNS = (
    col("question", "integer", "Question", "Question", "numéro de la question", "number of the question"),
    col("question_text", "string", "Intitulé de la question", "Question text"),
    col("option", "string", "Option", "Option", "clé de l’option, ou note de 1 à 5", "option key, or score 1 to 5"),
    col("option_label", "string", "Libellé de l’option", "Option label"),
    col("option_label_en", "string", "Libellé de l’option (anglais)", "Option label (English)"),
    COUNT,
    SUPPRESSED,
)


async def surveys_feed(session: AsyncSession, now: datetime) -> Feed | None:
    """One table per closed survey with public results (None when there is none)."""
    slug = "resultats-des-questionnaires"
    resources = []
    for survey in await participation.survey_counts(session, closed_by=now):
        period = period_label(survey.opens_at.date(), survey.closes_at.date())
        name = f"questionnaire-{survey.survey_id}"

        async def count(_ctx: PublishContext, survey: participation.SurveyCounts = survey) -> CellCounts:
            return CellCounts(
                dimensions=("question", "option"),
                counts=survey.counts,
                domain=list(survey.labels),
                max_contributions=survey.max_contributions,
                contribution_rule="une réponse par personne et par questionnaire",
                contribution_rule_en="one response per person and survey",
                groups=1,  # a question's respondents are known: its hidden cells must not be worked out
            )

        async def label(_ctx: PublishContext, done: Release, survey: participation.SurveyCounts = survey) -> None:
            for row in done.rows:
                question, option, option_en = survey.labels[(row["question"], row["option"])]
                row |= {"question_text": question, "option_label": option, "option_label_en": option_en}

        subject = (f"Réponses au questionnaire « {survey.title} »", f"Answers to the survey “{survey.title_en}”")
        resources.append(
            FeedResource(
                name,
                f"Questionnaire : {survey.title}",
                f"Survey: {survey.title_en}",
                f"Réponses par option (démarche « {survey.process} »).",
                f"Answers per option (process “{survey.process}”).",
                "csv",
                SURVEY_COLUMNS,
                _released(slug, name, SURVEY_POLICY, period, subject, count, label),
                ("question", "option"),
                aggregate=True,
            )
        )
    if not resources:
        return None
    return Feed(
        slug=slug,
        title="Résultats des questionnaires",
        title_en="Survey results",
        description=(
            "Pour chaque questionnaire clos dont les résultats sont publics : le nombre de personnes par option "
            "de réponse (pour un classement, celles qui ont mis l’option en premier). Les cellules de moins de "
            "10 personnes sont masquées ; les réponses en texte libre ne sont jamais publiées."
        ),
        description_en=(
            "For each closed survey with public results: how many people chose each option (for a ranking, who "
            "put the option first). Cells of fewer than 10 people are suppressed; free-text answers are never "
            "published."
        ),
        themes=("GOVE", "SOCI"),
        frequency="IRREG",
        keywords=("questionnaires", "consultation", "participation"),
        publisher="participation",
        resources=tuple(resources),
    )


async def aggregate_feeds(session: AsyncSession, now: datetime) -> list[Feed]:
    feeds = [reports_weekly_feed(now), participation_feed(now)]
    surveys = await surveys_feed(session, now)
    if surveys is not None:
        feeds.append(surveys)
    return feeds
