"""A quartier's history written at once, for sources stored in bulk without their events (the demo city's
reports and proposals): the latest reports of every quartier and the public answers to them, and the latest
proposals and their official answers, as the feed's subscribers would have written them when they happened.
Read through the sources' public publications (`reports.public_reports`, `participation.public_proposals` and
`public_answers`: what their open data shows, never who reported or proposed), written in one statement.
What the feed holds already (an item of the same kind and source) is left as it is."""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.feed.items import SUMMARY_LENGTH, TITLE_LENGTH, clip, texts
from citoyen.feed.models import FeedItem, ItemKind
from citoyen.i18n import N_, get_translations
from citoyen.participation import service as participation
from citoyen.reports import service as reports

REPORT_KINDS = (ItemKind.REPORT_FILED.value, ItemKind.REPORT_UPDATED.value)
PROPOSAL_KINDS = (ItemKind.PROPOSAL_PUBLISHED.value, ItemKind.PROPOSAL_ANSWERED.value)


@dataclass(frozen=True)
class _Line:
    moment: datetime
    kind: ItemKind
    source_id: int
    title: tuple[str, str]
    summary: tuple[str, str]
    link: str


def _both(label: str) -> tuple[str, str]:
    return get_translations("fr").gettext(label), get_translations("en").gettext(label)


def _report_lines(row: dict[str, Any]) -> list[_Line]:
    link = f"/reports/{row['id']}"
    filed = _Line(
        row["requested_at"],
        ItemKind.REPORT_FILED,
        row["id"],
        (
            texts(N_("New report: %(category)s"), category=row["category_name"])[0],
            texts(N_("New report: %(category)s"), category=row["category_name_en"])[1],
        ),
        (row["address"] or "", row["address"] or ""),
        link,
    )
    answer = (row["public_answer"] or "").strip()
    if row["status"] == "open" and not answer:
        return [filed]
    status_fr, status_en = _both(reports.STATUS_LABELS[row["status"]])
    followed = _Line(
        row["closed_at"] or row["updated_at"] or row["requested_at"],
        ItemKind.REPORT_UPDATED,
        row["id"],
        (
            texts(N_("Report %(id)s: %(status)s"), id=str(row["id"]), status=status_fr)[0],
            texts(N_("Report %(id)s: %(status)s"), id=str(row["id"]), status=status_en)[1],
        ),
        (answer, answer),
        link,
    )
    return [filed, followed]


def _latest(lines: dict[int, list[tuple[datetime, int, list[_Line]]]], quartier: int, entry: Any, keep: int) -> None:
    """Keeps the `keep` latest sources of a quartier (a heap on their first moment)."""
    heap = lines[quartier]
    if len(heap) < keep:
        heapq.heappush(heap, entry)
    elif entry > heap[0]:
        heapq.heapreplace(heap, entry)


async def write_history(session: AsyncSession, per_quartier: int, simulated: bool) -> int:
    """The latest `per_quartier` reports and proposals of every quartier into its feed, with their answers;
    how many items were written."""
    kept: dict[int, list[tuple[datetime, int, list[_Line]]]] = defaultdict(list)
    async for batch in reports.public_reports(session):
        for row in batch:
            if row["neighbourhood_id"] is not None and row["duplicate_of"] is None:
                _latest(
                    kept, row["neighbourhood_id"], (row["requested_at"], row["id"], _report_lines(row)), per_quartier
                )
    proposals: dict[int, tuple[int, str]] = {}
    chosen: dict[int, list[tuple[datetime, int, list[_Line]]]] = defaultdict(list)
    async for batch in participation.public_proposals(session):
        for row in batch:
            if row["neighbourhood_id"] is None:
                continue
            proposals[row["id"]] = (row["neighbourhood_id"], row["title"])
            line = _Line(
                row["created_at"],
                ItemKind.PROPOSAL_PUBLISHED,
                row["id"],
                texts(N_("New proposal: %(title)s"), title=row["title"]),
                ("", ""),
                f"/participation/proposals/{row['id']}",
            )
            _latest(chosen, row["neighbourhood_id"], (row["created_at"], row["id"], [line]), per_quartier)
    kept_proposals = {entry[1]: entry[2] for heap in chosen.values() for entry in heap}
    async for batch in participation.public_answers(session):
        for row in batch:
            if row["proposal_id"] not in kept_proposals:
                continue
            _, title = proposals[row["proposal_id"]]
            status_fr, status_en = _both(participation.STATUS_LABELS[row["status"]])
            kept_proposals[row["proposal_id"]].append(
                _Line(
                    row["answered_at"],
                    ItemKind.PROPOSAL_ANSWERED,
                    row["proposal_id"],
                    (
                        texts(N_("Proposal “%(title)s”: %(status)s"), title=title, status=status_fr)[0],
                        texts(N_("Proposal “%(title)s”: %(status)s"), title=title, status=status_en)[1],
                    ),
                    (row["answer"] or "", row["answer"] or ""),
                    f"/participation/proposals/{row['proposal_id']}",
                )
            )
    query = select(FeedItem.kind, FeedItem.source_id).where(FeedItem.kind.in_(REPORT_KINDS + PROPOSAL_KINDS))
    present = {(kind, source_id) for kind, source_id in (await session.execute(query)).all()}
    chosen_lines = [(quartier, lines) for quartier, heap in kept.items() for _, _, lines in heap] + [
        (proposals[proposal_id][0], lines) for proposal_id, lines in kept_proposals.items()
    ]
    rows = [
        {
            "neighbourhood_id": quartier,
            "occurred_at": line.moment,
            "kind": line.kind.value,
            "source_id": line.source_id,
            "title": clip(line.title[0], TITLE_LENGTH),
            "title_en": clip(line.title[1], TITLE_LENGTH) if line.title[1] != line.title[0] else "",
            "summary": clip(line.summary[0], SUMMARY_LENGTH),
            "summary_en": "",
            "link": line.link,
            "simulated": simulated,
        }
        for quartier, lines in chosen_lines
        for line in lines
        if (line.kind.value, line.source_id) not in present
    ]
    if rows:
        await session.execute(insert(FeedItem), rows)
    return len(rows)
