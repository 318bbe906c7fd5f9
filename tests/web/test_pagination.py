"""The pagination macro (`web/templates/_pagination.html`) every list uses: previous and next links around
"Page n of m", in the reader's language, as htmx swaps when asked, the same HTML each time it is drawn."""

from __future__ import annotations

from typing import Any

from citoyen.i18n import get_translations
from citoyen.web.templating import make_templates


def draw(call: str, locale: str = "en", **context: Any) -> str:
    """The macro `call`ed in a template of the app's environment, in `locale`."""
    translations = get_translations(locale)

    def gettext(message: str, **values: Any) -> str:
        translated = translations.gettext(message)
        return translated % values if values else translated

    source = '{% from "_pagination.html" import pagination with context %}' + call
    return make_templates().env.from_string(source).render(_=gettext, locale=locale, **context)


def test_a_middle_page_links_both_ways_and_says_where_the_reader_is() -> None:
    html = draw('{{ pagination(2, 3, "/reports?" ~ query ~ "&page=") }}', query="status=open")
    assert html == (
        '<nav class="pagination" aria-label="Pages">\n'
        '  <a href="/reports?status=open&amp;page=1">Previous page</a>\n'
        "  <span>Page 2 of 3</span>\n"
        '  <a href="/reports?status=open&amp;page=3">Next page</a>\n'
        "</nav>"
    )


def test_the_first_and_last_pages_have_one_link_and_french_readers_read_french() -> None:
    first = draw('{{ pagination(1, 2, "?page=") }}', locale="fr")
    assert 'href="?page=2"' in first and "page=0" not in first and "Page 1 sur 2" in first
    last = draw('{{ pagination(2, 2, "?page=") }}')
    assert 'href="?page=1"' in last and "page=3" not in last


def test_a_debate_pages_with_htmx_and_its_own_words() -> None:
    html = draw(
        '{{ pagination(1, 2, "/d?sort=oldest&page=", label="Pages of comments", next="More comments", '
        'hx_target="#debate") }}'
    )
    link = '<a href="/d?sort=oldest&amp;page=2" hx-get="/d?sort=oldest&amp;page=2" hx-target="#debate"'
    assert link + ' hx-swap="outerHTML">More comments</a>' in html
    assert 'aria-label="Pages of comments"' in html


def test_a_plain_paragraph_without_status_and_a_status_of_its_own() -> None:
    plain = draw('{{ pagination(1, 1, "/admin?page=", status=false, element="p") }}')
    assert plain == '<p class="pagination">\n  \n  \n  \n</p>'
    counted = draw('{{ pagination(3, 3, "?page=", status="Page 3") }}')
    assert "<span>Page 3</span>" in counted


def test_drawn_twice_the_macro_gives_the_same_html() -> None:
    once = draw('{{ pagination(2, 5, "?page=") }}')
    twice = draw('{{ pagination(2, 5, "?page=") }}|{{ pagination(2, 5, "?page=") }}')
    assert twice == once + "|" + once
