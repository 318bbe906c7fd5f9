"""What `$filter` and `$orderby` expressions compile to (see `query_sql`): an operand holds the SQL of a
sub-expression in each kind it can be read as (a number, a string, a datetime…), with the words errors use for
those kinds and the order in which an operator picks a kind two operands share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, Literal

from sqlalchemy.sql.elements import ColumnElement

Kind = Literal["number", "string", "boolean", "datetime", "date", "time", "duration", "geometry", "json"]
Interval = Literal["no", "yes", "maybe"]

# When two multi-form operands share several kinds, the first of these wins.
PREFERENCE: Final[tuple[Kind, ...]] = (
    "number",
    "datetime",
    "date",
    "time",
    "string",
    "boolean",
    "duration",
    "geometry",
    "json",
)
SORTABLE: Final = frozenset({"number", "datetime", "date", "time", "string", "boolean"})
KIND_WORDS: Final[Mapping[str, str]] = {
    "number": "a number",
    "string": "a string",
    "boolean": "a boolean",
    "datetime": "a datetime",
    "date": "a date",
    "time": "a time",
    "duration": "a duration",
    "geometry": "a geometry",
    "json": "a JSON object",
}
MIN_DATETIME: Final = datetime(1, 1, 1, tzinfo=UTC)
MAX_DATETIME: Final = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
NO_VALUE: Final = object()


@dataclass(frozen=True)
class Operand:
    """A compiled sub-expression: its SQL in each kind it can be read as."""

    forms: dict[str, ColumnElement[Any]]
    label: str
    # Extra forms only used when no natural form fits (a numeric-looking string literal as a number,
    # a date literal as midnight UTC).
    coerced: dict[str, ColumnElement[Any]] = field(default_factory=dict)
    value: Any = NO_VALUE  # the Python value of a literal, for constant folding
    interval: Interval = "no"
    interval_end: ColumnElement[Any] | None = None
    is_null: bool = False

    @property
    def kinds(self) -> str:
        return " or ".join(KIND_WORDS[kind] for kind in self.forms) or "null"


def describe(operand: Operand) -> str:
    return operand.label
