"""Atom 1.0 (RFC 4287) documents, for what anyone may follow in a feed reader without an account: a quartier's
feed (citoyen.feed) and a project's news and answers (citoyen.projects). Each gives its entries; this module
writes them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from xml.etree import ElementTree

ATOM = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml; charset=utf-8"


@dataclass(frozen=True)
class Entry:
    id: str  # a permanent address (the entry's anchor on its page)
    title: str
    moment: datetime
    link: str
    summary: str = ""
    category: str = ""


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def document(page: str, title: str, entries: Sequence[Entry], locale: str, updated: datetime) -> bytes:
    """The Atom feed of the page at the absolute address `page` (the feed itself is `page` + ".atom"), its
    entries newest first; `updated` when it has none."""
    ElementTree.register_namespace("", ATOM)

    def sub(parent: ElementTree.Element, tag: str, text: str | None = None, **attributes: str) -> ElementTree.Element:
        element = ElementTree.SubElement(parent, f"{{{ATOM}}}{tag}", attributes)
        if text is not None:
            element.text = text
        return element

    feed = ElementTree.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": locale})
    sub(feed, "id", f"{page}.atom")
    sub(feed, "title", title)
    sub(feed, "updated", rfc3339(max((entry.moment for entry in entries), default=updated)))
    sub(feed, "link", rel="self", type="application/atom+xml", href=f"{page}.atom")
    sub(feed, "link", rel="alternate", type="text/html", href=page)
    author = sub(feed, "author")
    sub(author, "name", "Citoyen")
    sub(feed, "generator", "Citoyen")
    for item in entries:
        entry = sub(feed, "entry")
        sub(entry, "id", item.id)
        sub(entry, "title", item.title)
        sub(entry, "updated", rfc3339(item.moment))
        sub(entry, "published", rfc3339(item.moment))
        sub(entry, "link", rel="alternate", type="text/html", href=item.link)
        if item.category:
            sub(entry, "category", term=item.category)
        if item.summary:
            sub(entry, "summary", item.summary, type="text")
    body: bytes = ElementTree.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body
