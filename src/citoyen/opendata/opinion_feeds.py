"""The opinion map's conversations as open data, in Pol.is's own export format (`comments.csv`, `votes.csv`,
`participants-votes.csv`), so that researchers' Pol.is tools read them unchanged: one dataset per conversation of
a published process with at least `opinions.MIN_PARTICIPANTS` (10) participants.

What is published and why no minimum cell applies: these are not counts of people per category (where a small
cell could single someone out) but each participant's votes on public statements, under a pseudonymous number that
means something only inside its conversation. What could still tell someone apart is kept out: statements waiting
for a moderator or moderated out (and the votes on them), every account and anonymous cookie, and the moment of a
vote (times are given to the day). A conversation of fewer than 10 participants is not published at all."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.opendata.feed_kit import Batches, Feed, FeedResource, PublishContext, Rows, col
from citoyen.opendata.tabular import Column
from citoyen.opinions import service as opinions

TIMESTAMP = col(
    "timestamp",
    "integer",
    "Horodatage",
    "Timestamp",
    "secondes depuis le 1er janvier 1970 (UTC), au jour près (minuit UTC)",
    "seconds since 1 January 1970 (UTC), to the day (midnight UTC)",
)
DATETIME = col(
    "datetime", "string", "Date", "Date", "la même date écrite comme Pol.is", "the same date as Pol.is writes it"
)
COMMENT_ID = col("comment-id", "integer", "Affirmation (numéro)", "Statement (number)", required=True)
COMMENT_COLUMNS = (
    TIMESTAMP,
    DATETIME,
    COMMENT_ID,
    col(
        "author-id",
        "integer",
        "Auteur (numéro de participant)",
        "Author (participant number)",
        "vide pour une affirmation de départ",
        "empty for a seed statement",
    ),
    col("agrees", "integer", "D’accord", "Agrees"),
    col("disagrees", "integer", "Pas d’accord", "Disagrees"),
    col("moderated", "integer", "État de modération", "Moderation status", "1\u00a0: publiée", "1: published"),
    col("comment-body", "string", "Affirmation", "Statement", required=True),
)
PARTICIPANT = (
    "numéro pseudonyme, propre à la conversation",
    "pseudonymous number, only meaningful in this conversation",
)
VOTE_COLUMNS = (
    TIMESTAMP,
    DATETIME,
    COMMENT_ID,
    col("voter-id", "integer", "Participant", "Participant", *PARTICIPANT, required=True),
    col(
        "vote",
        "integer",
        "Vote",
        "Vote",
        "1 d’accord, -1 pas d’accord, 0 passe",
        "1 agree, -1 disagree, 0 pass",
        required=True,
    ),
)


def _participant_columns(comment_ids: list[int]) -> tuple[Column, ...]:
    return (
        col("participant", "integer", "Participant", "Participant", *PARTICIPANT, required=True),
        col(
            "group-id",
            "integer",
            "Groupe d’opinion",
            "Opinion group",
            "vide\u00a0: dans aucun groupe (trop peu de votes)",
            "empty: in no group (too few votes)",
        ),
        col("n-comments", "integer", "Affirmations écrites", "Statements written"),
        col("n-votes", "integer", "Votes", "Votes"),
        col("n-agree", "integer", "D’accord", "Agrees"),
        col("n-disagree", "integer", "Pas d’accord", "Disagrees"),
        *(
            col(
                str(tid),
                "integer",
                f"Vote sur l’affirmation {tid}",
                f"Vote on statement {tid}",
                "1, -1, 0, vide si pas de vote",
                "1, -1, 0, empty when not voted",
            )
            for tid in comment_ids
        ),
    )


class _Tables:
    """A conversation's three tables, read once per publication run for its three files (kept with that run's
    context, and only while it is the current one)."""

    def __init__(self, conversation_id: int) -> None:
        self.conversation_id = conversation_id
        self._read: tuple[PublishContext, opinions.PolisTables] | None = None

    async def _of(self, ctx: PublishContext) -> opinions.PolisTables:
        if self._read is None or self._read[0] is not ctx:
            self._read = (ctx, await opinions.public_tables(ctx.session, self.conversation_id))
        return self._read[1]

    def rows(self, table: str, header: list[str] | None = None) -> Rows:
        async def rows(ctx: PublishContext) -> Batches:
            found = await self._of(ctx)
            names = header if header is not None else found.participant_header
            # A statement published since the feed was listed has no column yet: it waits for the next run.
            yield [dict(zip(names, values, strict=False)) for values in getattr(found, table)]

        return rows


def _feed(conversation: opinions.PublicConversation) -> Feed:
    tables = _Tables(conversation.id)
    simulated = " (données simulées)" if conversation.simulated else ""
    simulated_en = " (simulated data)" if conversation.simulated else ""
    state = "en cours" if conversation.open else "close"
    state_en = "still open" if conversation.open else "closed"
    return Feed(
        slug=f"conversation-{conversation.id}-{conversation.process_slug}"[:100],
        title=f"Carte des opinions\u00a0: {conversation.question}{simulated}",
        title_en=f"Opinion map: {conversation.question_en}{simulated_en}",
        description=(
            f"Les votes de la conversation « {conversation.question} » (démarche « {conversation.process_title} », "
            f"{state}), au format d’export de Pol.is\u00a0: les affirmations publiées, chaque vote (d’accord, pas "
            "d’accord, passe) et, par participant, ses votes et son groupe d’opinion. Les participants n’y sont que "
            "des numéros propres à la conversation\u00a0; les dates sont données au jour près\u00a0; les affirmations "
            "non publiées ou retirées par la modération n’y sont pas."
            + (" Ces votes sont simulés (démonstration)." if conversation.simulated else "")
        ),
        description_en=(
            f"The votes of the conversation “{conversation.question_en}” (process “{conversation.process_title_en}”, "
            f"{state_en}), in Pol.is's export format: the published statements, every vote (agree, disagree, pass) "
            "and, per participant, their votes and opinion group. Participants are only numbers that mean something "
            "inside the conversation; dates are given to the day; statements not published or moderated out are "
            "left out." + (" These votes are simulated (demonstration)." if conversation.simulated else "")
        ),
        themes=("GOVE", "SOCI"),
        frequency="CONT" if conversation.open else "NEVER",
        keywords=("participation", "carte des opinions", "Pol.is", conversation.process_slug)
        + (("données simulées",) if conversation.simulated else ()),
        publisher="participation",
        resources=(
            FeedResource(
                "comments",
                "Affirmations",
                "Statements",
                "Une affirmation publiée par ligne, avec ses votes d’accord et pas d’accord.",
                "One published statement per line, with its agree and disagree votes.",
                "csv",
                COMMENT_COLUMNS,
                tables.rows("comments", list(opinions.COMMENT_COLUMNS)),
                ("comment-id",),
            ),
            FeedResource(
                "votes",
                "Votes",
                "Votes",
                "Un vote par ligne (le dernier de chaque participant sur chaque affirmation).",
                "One vote per line (each participant's latest on each statement).",
                "csv",
                VOTE_COLUMNS,
                tables.rows("votes", list(opinions.VOTE_COLUMNS)),
                ("comment-id", "voter-id"),
            ),
            FeedResource(
                "participants-votes",
                "Votes par participant",
                "Votes per participant",
                "Un participant par ligne\u00a0: son groupe d’opinion, ses nombres de votes, puis une colonne par "
                "affirmation.",
                "One participant per line: their opinion group, vote counts, then one column per statement.",
                "csv",
                _participant_columns(conversation.comment_ids),
                tables.rows("participants"),
                ("participant",),
            ),
        ),
    )


async def conversation_feeds(session: AsyncSession) -> list[Feed]:
    """One dataset per conversation whose export is open data (`opinions.public_conversations`)."""
    return [_feed(conversation) for conversation in await opinions.public_conversations(session)]
