"""Full-text search of datasets in French and English, the same on SQLite and PostgreSQL.

A dataset's words are kept in two columns (`search_title`: titles and tags, weighted higher; `search_body`:
descriptions) in the form `citoyen.textsearch.indexed_text` gives them; the words and queries are handled there,
shared with the other domains' searches. What is the catalogue's own is where its index lives.
"""

from __future__ import annotations

# On PostgreSQL, a column generated from search_title and search_body (French and English configurations,
# titles weighted A and descriptions B) with a GIN index, both made by migration 6f3a0c95b2d7.
POSTGRES_VECTOR = "opendata_datasets.search_vector"
