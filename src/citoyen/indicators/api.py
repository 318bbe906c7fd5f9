"""The indicators' JSON API: the indicators with their definitions, and an indicator's series for the city or a
quartier (`/api/indicators/{id}/series?neighbourhood=&from=&to=&step=`), in the OpenAPI document."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from citoyen.db import DbSession
from citoyen.i18n import N_
from citoyen.indicators import service
from citoyen.indicators.schemas import IndicatorList, IndicatorOut, Series
from citoyen.web.params import QueryId

router = APIRouter(prefix="/api/indicators", tags=["indicators"])


def _moment(text: str | None, name: str) -> datetime | None:
    if text is None or text == "":
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise service.IndicatorError(
            N_("%(name)s must be a date and time in ISO 8601 (for example 2026-01-01T00:00:00Z)."),
            field=name,
            name=name,
        ) from None


def _iso(moment: datetime) -> str:
    """A time in UTC as the API's documents write it (pydantic's form: 2026-01-01T00:00:00Z)."""
    text = moment.astimezone(UTC).isoformat()
    return text[:-6] + "Z"


def _number(value: float | None) -> str:
    return "null" if value is None or not math.isfinite(value) else repr(float(value))


@router.get("", response_model=IndicatorList)
async def list_indicators(session: DbSession) -> dict[str, Any]:
    """Every indicator the platform defines, with its definition (French and English), unit, source, aggregation,
    frequency, the steps it can be read at, and its last day with data (null: no data yet, no sensor of its kind)."""
    items = []
    for indicator in service.INDICATORS:
        latest = await service.latest_day(session, indicator)
        items.append(IndicatorOut.of(indicator, latest))
    return {"indicators": items}


@router.get("/{indicator_id}/series", response_model=Series)
async def indicator_series(
    session: DbSession,
    indicator_id: str,
    neighbourhood: Annotated[QueryId, Query(description="A quartier's id; none: the whole city.")] = None,
    start: Annotated[
        str | None, Query(alias="from", description="Start, included (ISO 8601 with its time zone).")
    ] = None,
    end: Annotated[str | None, Query(alias="to", description="End, excluded (ISO 8601 with its time zone).")] = None,
    step: Annotated[str, Query(description="hour, day, week (from Monday) or month; buckets start in UTC.")] = "day",
) -> Response:
    """The indicator's value per step over [from, to), null where there is no data. Without `from` and `to`: the
    step's usual span up to the last day with data. 404: unknown indicator or quartier; 400: a step the indicator
    has not, or a period out of range (start after end, too long for the step)."""
    indicator, first, last, timeline = await service.read_series(
        session, indicator_id, step, _moment(start, "from"), _moment(end, "to"), neighbourhood
    )
    # The document is written here rather than validated point by point against `Series` (which documents it): a
    # year of hours is 8,760 points, and a model per point cost the request most of its time and its garbage
    # collections.
    head = {
        "indicator": indicator.id,
        "neighbourhood": neighbourhood,
        "step": step,
        "from": _iso(first),
        "to": _iso(last),
        "unit": indicator.unit,
        "unit_en": indicator.unit_en,
    }
    points = ",".join(
        f'{{"start":"{moment}","value":{_number(value)}}}'
        for moment, value in zip(timeline.start_texts(), timeline.values, strict=True)
    )
    document = json.dumps(head, ensure_ascii=False)[:-1] + ',"points":[' + points + "]}"
    return Response(document, media_type="application/json")
