"""Feed items: writing them (the feed's subscribers to the other domains' events, and its own posts) and reading
them a page at a time.

A page is read by keyset on (occurred_at, id), newest first: `WHERE neighbourhood_id = ? AND (occurred_at, id) <
(?, ?) ORDER BY occurred_at DESC, id DESC LIMIT n`, one range of the index `ix_feed_items_page` whatever the page's
depth (an OFFSET would read and drop every item before the page). The cursor travels in the page's address.

Only public information goes in an item: what the source's own public page shows (a report's category and address
and the department's public answer, a proposal's title, a project update, a post's title), never who reported,
proposed or posted. An item whose source is hidden is deleted (`remove_items`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import BigInteger, delete, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.db import UTCDateTime, utcnow
from citoyen.errors import Kind
from citoyen.feed.errors import FeedError
from citoyen.feed.models import FeedItem, ItemKind
from citoyen.i18n import N_, get_translations, squeeze_spaces

KIND_LABELS = {
    ItemKind.REPORT_FILED.value: N_("Report"),
    ItemKind.REPORT_UPDATED.value: N_("Report followed up"),
    ItemKind.PROPOSAL_PUBLISHED.value: N_("Proposal"),
    ItemKind.PROPOSAL_ANSWERED.value: N_("Answer to a proposal"),
    ItemKind.MILESTONE.value: N_("Progress of a proposal"),
    ItemKind.PROJECT_UPDATE.value: N_("Urban project"),
    ItemKind.ALERT.value: N_("Early warning"),
    ItemKind.INDICATOR_CHANGE.value: N_("Indicator"),
    ItemKind.POST.value: N_("Residents' post"),
}
PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
TITLE_LENGTH = 300
SUMMARY_LENGTH = 1000


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the last item's time and id; the next page starts strictly after (older than) it."""

    occurred_at: datetime
    id: int

    @property
    def token(self) -> str:
        stamp = int(self.occurred_at.timestamp() * 1_000_000)
        return f"{stamp}-{self.id}"

    @classmethod
    def parse(cls, token: str) -> Cursor:
        """The cursor a page's address carries; a malformed one is a 400."""
        stamp, _, item_id = token.partition("-")
        if not (stamp.isdigit() and item_id.isdigit()) or len(stamp) > 19 or len(item_id) > 19:
            raise FeedError(N_("This page address is not valid."), Kind.INVALID, "before")
        try:
            moment = datetime.fromtimestamp(int(stamp) / 1_000_000, UTC)
        except (OverflowError, OSError, ValueError):
            raise FeedError(N_("This page address is not valid."), Kind.INVALID, "before") from None
        return cls(moment, int(item_id))


@dataclass(frozen=True)
class FeedPage:
    items: list[FeedItem]
    next: Cursor | None  # None: this is the last page


def texts(message: str, **values: str) -> tuple[str, str]:
    """A message in French and in English (feed items keep both, each reader gets theirs)."""
    french = get_translations("fr").gettext(message)
    english = get_translations("en").gettext(message)
    return (french % values if values else french), (english % values if values else english)


def clip(text: str, limit: int) -> str:
    text = squeeze_spaces(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def add_item(
    session: AsyncSession,
    neighbourhood_id: int,
    kind: ItemKind,
    source_id: int,
    title: tuple[str, str],
    summary: tuple[str, str] = ("", ""),
    link: str = "",
    occurred_at: datetime | None = None,
    simulated: bool = False,
) -> FeedItem:
    """One item in a quartier's feed; `title` and `summary` are (French, English)."""
    item = FeedItem(
        neighbourhood_id=neighbourhood_id,
        occurred_at=occurred_at or utcnow(),
        kind=kind.value,
        source_id=source_id,
        title=clip(title[0], TITLE_LENGTH),
        title_en=clip(title[1], TITLE_LENGTH) if title[1] != title[0] else "",
        summary=clip(summary[0], SUMMARY_LENGTH),
        summary_en=clip(summary[1], SUMMARY_LENGTH) if summary[1] != summary[0] else "",
        link=link[:300],
        simulated=simulated,
    )
    session.add(item)
    await session.flush()
    return item


async def remove_items(session: AsyncSession, kinds: Sequence[ItemKind], source_id: int) -> None:
    """Takes out of every feed what one source put there (a post or a proposal hidden by moderation)."""
    await session.execute(
        delete(FeedItem)
        .where(FeedItem.kind.in_([kind.value for kind in kinds]), FeedItem.source_id == source_id)
        .execution_options(synchronize_session=False)
    )


async def latest_item(session: AsyncSession, kinds: Sequence[ItemKind], source_id: int) -> FeedItem | None:
    query = (
        select(FeedItem)
        .where(FeedItem.kind.in_([kind.value for kind in kinds]), FeedItem.source_id == source_id)
        .order_by(FeedItem.occurred_at.desc(), FeedItem.id.desc())
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def page(
    session: AsyncSession, neighbourhood_ids: Sequence[int], before: Cursor | None = None, limit: int = PAGE_SIZE
) -> FeedPage:
    """The newest items of these quartiers older than `before` (the first page without it)."""
    limit = max(1, min(limit, MAX_PAGE_SIZE))
    if not neighbourhood_ids:
        return FeedPage([], None)
    query = select(FeedItem)
    if len(neighbourhood_ids) == 1:
        query = query.where(FeedItem.neighbourhood_id == neighbourhood_ids[0])
    else:
        query = query.where(FeedItem.neighbourhood_id.in_(sorted(set(neighbourhood_ids))))
    if before is not None:
        query = query.where(
            tuple_(FeedItem.occurred_at, FeedItem.id)
            < tuple_(literal(before.occurred_at, UTCDateTime()), literal(before.id, BigInteger()))
        )
    query = query.order_by(FeedItem.occurred_at.desc(), FeedItem.id.desc()).limit(limit + 1)
    items = list((await session.execute(query)).scalars())
    if len(items) > limit:
        items = items[:limit]
        last = items[-1]
        return FeedPage(items, Cursor(last.occurred_at, last.id))
    return FeedPage(items, None)
