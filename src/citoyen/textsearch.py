"""Full-text search in French and English, the same on SQLite and PostgreSQL: the part that knows no table.

A searchable record keeps its words lower-cased, without diacritics, followed by their French stems
(`indexed_text`). PostgreSQL indexes them with its French and English configurations (a tsvector with a GIN
index); SQLite with FTS5's porter (English) tokenizer. SQLite has no French stemmer: `french_stem` below, a light
suffix stemmer (plurals and the common derivational endings, after J. Savoy's "light" French stemmer), is applied
to the indexed words and to each query word, so "vélos" finds "vélo" and "circulation" finds "circulations" on
both databases. The catalogue (opendata), proposals, reports and processes all search through these functions.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

_WORD = re.compile(r"\w+")
# Longest first; the stem keeps at least three letters.
_SUFFIXES = (
    "issements", "issement", "atrices", "ements", "ations", "ateurs", "atrice", "ement", "ation", "ateur",
    "ances", "ences", "iques", "ismes", "istes", "ables", "euses", "ance", "ence", "ique", "isme", "iste",
    "able", "euse", "eurs", "ites", "ives", "eur", "ite", "ive", "ees", "ifs", "ee", "es", "er", "ez", "if", "e",
)  # fmt: skip


def normalize(text: str) -> str:
    """Lower case, without diacritics or ligatures: what the index and the queries compare."""
    text = text.replace("œ", "oe").replace("Œ", "oe").replace("æ", "ae").replace("Æ", "ae")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


def french_stem(word: str) -> str:
    """A light French stem of a normalized word."""
    if len(word) > 4 and word[-1] in "sx":
        word = word[:-1]
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def words(text: str) -> list[str]:
    return _WORD.findall(normalize(text))


def indexed_text(parts: Iterable[str]) -> str:
    """The searchable form of some texts: their normalized words, then the French stems that differ."""
    found = [word for part in parts for word in words(part)]
    stems = sorted({stem for word in found if (stem := french_stem(word)) != word})
    return " ".join(found + stems)


def sqlite_match(query: str) -> str:
    """An FTS5 MATCH expression: every word of the query, as itself or its French stem (never FTS syntax)."""
    terms = []
    for word in dict.fromkeys(words(query)):
        stem = french_stem(word)
        terms.append(f'("{word}" OR "{stem}")' if stem != word else f'"{word}"')
    return " AND ".join(terms)


def postgres_query(query: str) -> str:
    """The query's normalized words, for websearch_to_tsquery (which ignores any syntax left)."""
    return " ".join(words(query))
