"""Semi-joins for `$filter`: a condition whose every property goes through the same mandatory to-one
navigation property (`Datastream/Thing/name`) is compiled once on the target's table (`key IN (SELECT id FROM
target WHERE ...)`) instead of a correlated subquery per row; one through a to-many navigation property
(`Datastreams/name`) is an any-match, the only way such a path can be read; `query_sql`'s compiler decides
when. Here: what a resolver offers for that, and the rewriting of the expression (its common head, `not` pushed
down to the terms, the head stripped)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

from sqlalchemy import select
from sqlalchemy.sql.elements import ColumnElement

from citoyen.sensing.query_ast import (
    Arithmetic,
    Comparison,
    Expression,
    FunctionCall,
    Logical,
    Not,
    PropertyPath,
    PropertyResolver,
)


@dataclass(frozen=True)
class Navigated:
    """A navigation property seen as a semi-join, `key IN (SELECT target_id FROM source WHERE condition AND
    visible)`. A mandatory to-one: `key` is the foreign key column of the filtered table (NOT NULL), `target_id`
    the id column of the target's table. A to-many (any-match: `Things?$filter=Datastreams/name eq 'x'` keeps
    the Things that have such a Datastream): `key` is the filtered table's id and `target_id` the column that
    points back at it, on the target's table or on a link table joined to it (`source`). `resolver` reads the
    target's properties; `visible` keeps to the related rows the viewer may read."""

    key: ColumnElement[Any]
    target_id: ColumnElement[Any]
    resolver: PropertyResolver
    source: Any = None
    visible: ColumnElement[bool] | None = None

    def semi_join(self, condition: ColumnElement[bool]) -> ColumnElement[bool]:
        inner = select(self.target_id)
        if self.source is not None:
            inner = inner.select_from(self.source)
        inner = inner.where(condition)
        if self.visible is not None:
            inner = inner.where(self.visible)
        return self.key.in_(inner)


class NavigatingResolver(PropertyResolver, Protocol):
    """A resolver that can also hand out a navigation property as a semi-join (`None` when `head` is none it
    offers). Optional: with a plain resolver every path stays a correlated subquery."""

    def navigate(self, head: str) -> Navigated | None: ...


def navigation_head(expression: Expression) -> str | None:
    """The first segment shared by every property path of the expression, if they all go further than it (so it
    can only be a navigation property); None when there is no path or they differ. Iterative: an `or` chain
    may be a thousand terms deep."""
    head: str | None = None
    pending: list[Expression] = [expression]
    while pending:
        node = pending.pop()
        match node:
            case PropertyPath(segments=segments):
                if len(segments) < 2 or not isinstance(segments[0], str) or head not in (None, segments[0]):
                    return None
                head = segments[0]
            case FunctionCall(arguments=arguments):
                pending.extend(arguments)
            case Comparison(left=left, right=right) | Arithmetic(left=left, right=right):
                pending += [left, right]
            case Logical(left=left, right=right):
                pending += [left, right]
            case Not(operand=inner):
                pending.append(inner)
    return head


def push_not_down(expression: Expression) -> Expression:
    """`not (a or b)` as `not a and not b`, `not (a and b)` as `not a or not b`, `not not a` as `a`: one level,
    the callers go down the tree."""
    if not isinstance(expression, Not):
        return expression
    inner = expression.operand
    if isinstance(inner, Not):
        return push_not_down(inner.operand)
    if isinstance(inner, Logical):
        flipped: Literal["and", "or"] = "and" if inner.operator == "or" else "or"
        left, right = Not(inner.left, expression.position), Not(inner.right, expression.position)
        return Logical(flipped, left, right, inner.position)
    return expression


def strip_head(expression: Expression) -> Expression:
    """The expression with the first segment of every property path removed (seen from the navigated entity)."""
    match expression:
        case PropertyPath(segments=segments, position=position):
            return PropertyPath(segments[1:], position)
        case FunctionCall(name=name, arguments=arguments, position=position):
            return FunctionCall(name, tuple(strip_head(argument) for argument in arguments), position)
        case Comparison(operator=operator, left=left, right=right, position=position):
            return Comparison(operator, strip_head(left), strip_head(right), position)
        case Arithmetic(operator=arithmetic, left=left, right=right, position=position):
            return Arithmetic(arithmetic, strip_head(left), strip_head(right), position)
        case Logical(operator=logical, left=left, right=right, position=position):
            return Logical(logical, strip_head(left), strip_head(right), position)
        case Not(operand=inner, position=position):
            return Not(strip_head(inner), position)
    return expression
