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
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Boolean, ColumnElement, Dialect, Float, Text, TypeDecorator, bindparam
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal

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


# --- searching a table ------------------------------------------------------------------------------------
# A searchable table keeps its words in columns filled by `indexed_from` and has, made by its migration, a
# stored tsvector column `search_vector` with a GIN index on PostgreSQL, or an FTS5 table `<table>_fts` whose
# rowid is the row's id, kept in step by triggers, on SQLite. The queries below read whichever the database has,
# so that a domain's filters stay one statement for both (and its map, counts and lists share them).

# Every word (plainto_tsquery reads no syntax: a word "or" is a word), by the French or the English stems.
_TSQUERY = "(plainto_tsquery('french'::regconfig, {words}) || plainto_tsquery('english'::regconfig, {words}))"


def indexed_from(*names: str) -> Callable[[DefaultExecutionContext], str]:
    """A column default: the searchable form of the row's columns `names`, so that every insert (the
    services', and the demo's and benchmarks' bulk inserts alike) fills the index. An update that changes
    those columns sets the search column itself with `indexed_text`."""

    def default(context: DefaultExecutionContext) -> str:
        values = context.get_current_parameters()  # type: ignore[no-untyped-call]
        return indexed_text(str(values.get(name) or "") for name in names)

    return default


def has_words(text: str) -> bool:
    """Whether a query has words to search for (punctuation alone matches nothing and filters nothing)."""
    return bool(words(text))


RowId = ColumnElement[int] | QueryableAttribute[int]


class _Words(TypeDecorator[str]):
    """A query's words, written as the database's full-text search reads them."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str:
        text = value or ""
        return postgres_query(text) if dialect.name == "postgresql" else sqlite_match(text)

    def process_literal_param(self, value: str | None, dialect: Dialect) -> str:
        return self.process_bind_param(value, dialect)


class _Search(ColumnElement[Any]):
    inherit_cache = True
    _traverse_internals = [  # noqa: RUF012 (SQLAlchemy reads it from the class)
        ("table", InternalTraversal.dp_string),
        ("row_id", InternalTraversal.dp_clauseelement),
        ("words", InternalTraversal.dp_clauseelement),
    ]

    def __init__(self, table: str, key: RowId, text: str) -> None:
        self.table = table
        self.row_id = key.__clause_element__() if isinstance(key, QueryableAttribute) else key
        # Sent as a literal (only word characters, quotes and FTS5's AND/OR are left in it): with a parameter,
        # PostgreSQL's generic plan (chosen after a few runs of a prepared statement) cannot tell a rare word
        # from a common one and read every match of the most recent ones' words (370 ms instead of 4).
        self.words = bindparam(None, text, type_=_Words(), literal_execute=True)


class _Match(_Search):
    inherit_cache = True
    type = Boolean()


class _Rank(_Search):
    inherit_cache = True
    type = Float()


def words_match(table: str, key: RowId, text: str) -> ColumnElement[bool]:
    """The rows of `table` (whose id is `key`) holding every word of `text`, as itself or its stem, in any
    order. Read from the full-text index: no row is scanned. `text` must have words (`has_words`)."""
    return _Match(table, key, text)


def words_rank(table: str, key: RowId, text: str) -> ColumnElement[float]:
    """How well a matching row matches `text`, lower first: titles count more than bodies (PostgreSQL's
    ts_rank of weights A and B, SQLite's bm25 with the first column weighted 10)."""
    return _Rank(table, key, text)


@compiles(_Match)
def _sqlite_match(element: _Match, compiler: SQLCompiler, **kw: Any) -> str:
    fts = f"{element.table}_fts"
    # The table's name is the code's, never a client's; the words are a bound parameter.
    row_id, query = compiler.process(element.row_id, **kw), compiler.process(element.words, **kw)
    return f"{row_id} IN (SELECT rowid FROM {fts} WHERE {fts} MATCH {query})"  # noqa: S608


@compiles(_Match, "postgresql")
def _postgres_match(element: _Match, compiler: SQLCompiler, **kw: Any) -> str:
    tsquery = _TSQUERY.format(words=compiler.process(element.words, **kw))
    return f"{element.table}.search_vector @@ {tsquery}"


@compiles(_Rank)
def _sqlite_rank(element: _Rank, compiler: SQLCompiler, **kw: Any) -> str:
    # FTS5 finds a rowid within a match by seeking its lists: one look-up per ranked row.
    fts = f"{element.table}_fts"
    row_id, query = compiler.process(element.row_id, **kw), compiler.process(element.words, **kw)
    return f"(SELECT bm25({fts}, 10.0, 1.0) FROM {fts} WHERE {fts} MATCH {query} AND rowid = {row_id})"  # noqa: S608


@compiles(_Rank, "postgresql")
def _postgres_rank(element: _Rank, compiler: SQLCompiler, **kw: Any) -> str:
    tsquery = _TSQUERY.format(words=compiler.process(element.words, **kw))
    # Normalization 1: divided by the log of the length, so a short text that says it ranks before a long one.
    return f"-ts_rank({element.table}.search_vector, {tsquery}, 1)"
