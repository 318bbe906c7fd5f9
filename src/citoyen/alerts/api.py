"""The early warning's JSON API: the 7-day forecast of an indicator (the city) or of a public Datastream's daily
series, with its 80 % and 95 % bands and its backtest against seasonal naive, for the charts that draw it; and
the recent clusters of reports as GeoJSON, for the reports map."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from citoyen.alerts import service, views
from citoyen.db import DbSession, utcnow
from citoyen.indicators import service as indicators
from citoyen.sensing import service as sensing
from citoyen.web.params import PathBigId, QueryText
from citoyen.web.templating import locale_of

router = APIRouter(tags=["forecasts and alerts"])


@router.get("/api/forecasts/indicators/{indicator_id}")
async def indicator_forecast(request: Request, session: DbSession, indicator_id: str) -> dict[str, Any]:
    """The city's indicator over its last days and the next 7 days: `state` is "forecast" (points with `yhat`,
    `lo80`, `hi80`, `lo95`, `hi95`), "does_not_beat" (its backtest error is not below repeating last week's: no
    points), "not_enough_data" or "not_computed"; `sentence` says it in the reader's language. 404: unknown."""
    indicators.get_indicator(indicator_id)
    key = f"indicator:{indicator_id}"
    return views.forecast_json(await service.get_forecast(session, key), key, locale_of(request))


@router.get("/api/forecasts/datastreams/{datastream_id}")
async def datastream_forecast(request: Request, session: DbSession, datastream_id: PathBigId) -> dict[str, Any]:
    """A public Datastream's daily means over their last days and the next 7 days, as for an indicator;
    "not_computed" for one the early warning has not judged yet. 404: a Datastream unknown or not visible to all."""
    await sensing.datastream_thing(session, datastream_id, None)
    key = f"datastream:{datastream_id}"
    return views.forecast_json(await service.get_forecast(session, key), key, locale_of(request))


@router.get("/api/alerts/clusters", response_class=Response)
async def recent_clusters(request: Request, session: DbSession, category: QueryText = "") -> Response:
    """The clusters of reports found by the space-time scan that ended in the last 28 days and were not called
    false alarms (of one category code when `category` is given), as a GeoJSON FeatureCollection of their centres:
    `radius_m`, the period (`start`, `end` exclusive), `observed` and `expected` reports, `p_value`, `status`,
    `url` (the alert's page) and `label`, a sentence in the reader's language."""
    locale = locale_of(request)
    clusters = await service.recent_clusters(session, utcnow().date(), category[:120] or None)
    collection = {"type": "FeatureCollection", "features": [views.cluster_feature(a, locale) for a in clusters]}
    return Response(orjson.dumps(collection), media_type="application/geo+json")
