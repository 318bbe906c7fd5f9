"""The forecasts' JSON API: the 7-day forecast of an indicator (the city) or of a public Datastream's daily series,
with its 80 % and 95 % bands and its backtest against seasonal naive, for the charts that draw it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from citoyen.alerts import service, views
from citoyen.db import DbSession
from citoyen.indicators import service as indicators
from citoyen.sensing import service as sensing
from citoyen.web.params import PathBigId
from citoyen.web.templating import locale_of

router = APIRouter(prefix="/api/forecasts", tags=["forecasts"])


@router.get("/indicators/{indicator_id}")
async def indicator_forecast(request: Request, session: DbSession, indicator_id: str) -> dict[str, Any]:
    """The city's indicator over its last days and the next 7 days: `state` is "forecast" (points with `yhat`,
    `lo80`, `hi80`, `lo95`, `hi95`), "does_not_beat" (its backtest error is not below repeating last week's: no
    points), "not_enough_data" or "not_computed"; `sentence` says it in the reader's language. 404: unknown."""
    indicators.get_indicator(indicator_id)
    key = f"indicator:{indicator_id}"
    return views.forecast_json(await service.get_forecast(session, key), key, locale_of(request))


@router.get("/datastreams/{datastream_id}")
async def datastream_forecast(request: Request, session: DbSession, datastream_id: PathBigId) -> dict[str, Any]:
    """A public Datastream's daily means over their last days and the next 7 days, as for an indicator;
    "not_computed" for one the early warning has not judged yet. 404: a Datastream unknown or not visible to all."""
    await sensing.datastream_thing(session, datastream_id, None)
    key = f"datastream:{datastream_id}"
    return views.forecast_json(await service.get_forecast(session, key), key, locale_of(request))
