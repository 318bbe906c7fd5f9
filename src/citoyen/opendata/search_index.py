"""The process's index of the catalogue, for package_search: every dataset's publisher, licence, state, times,
themes, tags and formats as numpy arrays, and the names of publishers, themes and tags, as the catalogue stood at
one version (`CatalogueVersion`, changed by every write to the catalogue in the writing transaction).

A search asks the database only which datasets hold its words (and how well): their visibility, filters, count,
facets and a page in order of relevance or time are worked out here over arrays, so that a common word's
thousands of matches are neither joined to the datasets' rows nor sent back to the database. The index is read
again (three statements over the whole catalogue) when the version moves: about 1 MB for 10,000 datasets.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import String, cast, literal, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.opendata.models import (
    CatalogueVersion,
    Dataset,
    DatasetGroup,
    DatasetState,
    DatasetTag,
    Group,
    Organization,
    Resource,
    Tag,
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
Mask = npt.NDArray[np.bool_]


def _microseconds(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


@dataclass(frozen=True)
class CatalogueIndex:
    """Row `i` of every array is the dataset `ids[i]` (ids ascending). Themes, tags and formats are (row, code)
    pairs: `pairs[code]` is the (facet, value) a code stands for, so that counting a facet over any set of rows
    is one `bincount`."""

    ids: npt.NDArray[np.int64]
    active: Mask
    private: Mask
    organization: npt.NDArray[np.int64]  # -1: none
    licence: npt.NDArray[np.int64]  # index in `licences`, -1: none
    licences: tuple[str, ...]
    modified: npt.NDArray[np.int64]  # microseconds since 1970 (UTC)
    created: npt.NDArray[np.int64]
    pair_row: npt.NDArray[np.int64]
    pair_code: npt.NDArray[np.int64]
    pairs: tuple[tuple[str, Any], ...]
    codes: dict[tuple[str, Any], int]
    names: dict[str, dict[Any, tuple[str, str]]]  # facet -> id -> (name, display name)
    organization_uuids: dict[str, int]

    def rows(self, ids: Any) -> tuple[npt.NDArray[np.int64], Mask]:
        """The rows of the datasets `ids` that the index holds, and which of `ids` those are (a dataset written
        since the index was read is left out)."""
        wanted = np.asarray(ids, dtype=np.int64)
        if not len(self.ids) or not len(wanted):
            return np.zeros(0, dtype=np.int64), np.zeros(len(wanted), dtype=np.bool_)
        rows: npt.NDArray[np.int64] = np.searchsorted(self.ids, wanted).clip(0, len(self.ids) - 1)
        held: Mask = self.ids[rows] == wanted
        return rows[held], held

    def mask(self, rows: npt.NDArray[np.int64]) -> Mask:
        mask = np.zeros(len(self.ids), dtype=np.bool_)
        mask[rows] = True
        return mask

    def visible(self, include_private: bool) -> Mask:
        return self.active if include_private else self.active & ~self.private

    def having(self, facet: str, value: Any) -> Mask:
        """The datasets with a theme, tag or format: `value` is a group or tag id, or a format."""
        code = self.codes.get((facet, value))
        mask = np.zeros(len(self.ids), dtype=np.bool_)
        if code is not None:
            mask[self.pair_row[self.pair_code == code]] = True
        return mask

    def named(self, facet: str, name: str) -> Any:
        """The id of the publisher, theme or tag so named, or None."""
        return next((key for key, (label, _) in self.names[facet].items() if label == name), None)

    def counts(self, facet: str, mask: Mask) -> dict[Any, int]:
        """How many of the datasets in `mask` have each value of `facet`."""
        if facet in ("organization", "license_id"):
            values = (self.organization if facet == "organization" else self.licence)[mask]
            found, numbers = np.unique(values[values >= 0], return_counts=True)
            if facet == "organization":
                return {int(key): int(number) for key, number in zip(found, numbers, strict=True)}
            return {self.licences[key]: int(number) for key, number in zip(found, numbers, strict=True)}
        numbers = np.bincount(self.pair_code[mask[self.pair_row]], minlength=len(self.pairs))
        return {
            self.pairs[code][1]: int(numbers[code]) for code in np.flatnonzero(numbers) if self.pairs[code][0] == facet
        }


async def version(session: AsyncSession) -> int:
    """The catalogue's version as this transaction sees it."""
    return int((await session.execute(select(CatalogueVersion.version).where(CatalogueVersion.id == 1))).scalar_one())


async def read_index(session: AsyncSession) -> CatalogueIndex:
    """The whole catalogue's index, in three statements."""
    datasets = (
        await session.execute(
            select(
                Dataset.id,
                Dataset.organization_id,
                Dataset.license_id,
                Dataset.state,
                Dataset.private,
                Dataset.modified_at,
                Dataset.created_at,
            ).order_by(Dataset.id)
        )
    ).all()
    licences: dict[str, int] = {}
    ids = np.fromiter((row[0] for row in datasets), dtype=np.int64, count=len(datasets))
    position = {int(identifier): row for row, identifier in enumerate(ids)}
    pair_rows: list[int] = []
    pair_codes: list[int] = []
    codes: dict[tuple[str, Any], int] = {}
    facet_values = union_all(
        select(literal("groups"), DatasetGroup.dataset_id, cast(DatasetGroup.group_id, String)),
        select(literal("tags"), DatasetTag.dataset_id, cast(DatasetTag.tag_id, String)),
        select(literal("res_format"), Resource.dataset_id, Resource.format)
        .where(Resource.format != "")
        .group_by(Resource.dataset_id, Resource.format),
    )
    for facet, dataset_id, value in (await session.execute(facet_values)).all():
        row = position.get(dataset_id)
        if row is None:  # a dataset written between the two statements: the next version reads it
            continue
        pair = (facet, value if facet == "res_format" else int(value))
        pair_rows.append(row)
        pair_codes.append(codes.setdefault(pair, len(codes)))
    names: dict[str, dict[Any, tuple[str, str]]] = defaultdict(dict)
    organization_uuids: dict[str, int] = {}
    named: Any = union_all(
        select(literal("organization"), Organization.id, Organization.name, Organization.title, Organization.uuid),
        select(literal("groups"), Group.id, Group.name, Group.title, null()),
        select(literal("tags"), Tag.id, Tag.name, Tag.name, null()),
    )
    for facet, identifier, label, display, uuid in (await session.execute(named)).all():
        names[facet][identifier] = (label, display)
        if uuid is not None:
            organization_uuids[uuid] = identifier
    return CatalogueIndex(
        ids=ids,
        active=np.fromiter((row[3] == DatasetState.ACTIVE for row in datasets), dtype=np.bool_, count=len(ids)),
        private=np.fromiter((bool(row[4]) for row in datasets), dtype=np.bool_, count=len(ids)),
        organization=np.fromiter((-1 if row[1] is None else row[1] for row in datasets), np.int64, len(ids)),
        licence=np.fromiter(
            (licences.setdefault(row[2], len(licences)) if row[2] else -1 for row in datasets), np.int64, len(ids)
        ),
        licences=tuple(licences),
        modified=np.fromiter((_microseconds(row[5]) for row in datasets), np.int64, len(ids)),
        created=np.fromiter((_microseconds(row[6]) for row in datasets), np.int64, len(ids)),
        pair_row=np.array(pair_rows, dtype=np.int64),
        pair_code=np.array(pair_codes, dtype=np.int64),
        pairs=tuple(codes),
        codes=codes,
        names={facet: names[facet] for facet in ("organization", "groups", "tags")},
        organization_uuids=organization_uuids,
    )
