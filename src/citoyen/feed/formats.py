"""The feed's two standard formats: Atom 1.0 (RFC 4287) for a quartier's feed, read without an account, and
iCalendar (RFC 5545) for events, one or a quartier's calendar."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from citoyen.feed.models import FeedItem, Post
from citoyen.i18n import N_, get_translations, localized
from citoyen.web import atom


def atom_feed(
    base: str, neighbourhood_id: int, title: str, items: Sequence[FeedItem], locale: str, updated: datetime
) -> bytes:
    """A quartier's newest items as an Atom 1.0 document (ids are the items' permanent addresses)."""
    page = f"{base}/quartiers/{neighbourhood_id}"
    # The demo's items say they are simulated in a feed reader as on the page.
    simulated = " (" + get_translations(locale).gettext(N_("simulated")) + ")"
    entries = [
        atom.Entry(
            id=f"{page}#item-{item.id}",
            title=localized(locale, item.title, item.title_en) + (simulated if item.simulated else ""),
            moment=item.occurred_at,
            link=f"{base}{item.link or f'/quartiers/{neighbourhood_id}'}",
            summary=localized(locale, item.summary, item.summary_en),
            category=item.kind,
        )
        for item in items
    ]
    return atom.document(page, title, entries, locale, updated)


def _ics_text(value: str) -> str:
    return (
        value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\r\n", "\\n").replace("\n", "\\n")
    )


def _fold(line: str) -> list[str]:
    """Lines of at most 75 octets, continued with a space (RFC 5545, 3.1), never splitting a character."""
    folded: list[str] = []
    current = ""
    for character in line:
        limit = 75 if not folded else 74
        if len((current + character).encode()) > limit:
            folded.append(current)
            current = character
        else:
            current += character
    folded.append(current)
    return [folded[0]] + [" " + part for part in folded[1:]]


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%SZ")


def calendar(base: str, host: str, name: str, events: Sequence[Post], locale: str, now: datetime) -> str:
    """Events as an iCalendar document (times in UTC; an event without an end lasts an hour)."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Citoyen//Neighbourhood feed//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_ics_text(name)}",
    ]
    for post in events:
        if post.starts_at is None:
            continue
        ends_at = post.ends_at or post.starts_at + timedelta(hours=1)
        lines += [
            "BEGIN:VEVENT",
            f"UID:feed-post-{post.id}@{host}",
            f"DTSTAMP:{_stamp(now)}",
            f"DTSTART:{_stamp(post.starts_at)}",
            f"DTEND:{_stamp(ends_at)}",
            f"SUMMARY:{_ics_text(localized(locale, post.title, post.title_en))}",
            f"LOCATION:{_ics_text(post.place)}",
            f"DESCRIPTION:{_ics_text(localized(locale, post.body, post.body_en))}",
            f"URL:{base}/quartiers/posts/{post.id}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(part + "\r\n" for line in lines for part in _fold(line))
