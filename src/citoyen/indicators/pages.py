"""The indicators' pages: the city's indicators with their map of the quartiers, and a quartier's indicators
beside the city's with interactive charts (which read the JSON API)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal
from fastapi import APIRouter, Request
from fastapi.responses import Response

from citoyen.db import DbSession
from citoyen.indicators import snapshots
from citoyen.indicators.definitions import ATMO_LABELS
from citoyen.web.params import PathId
from citoyen.web.templating import locale_of, render

router = APIRouter(include_in_schema=False)


def sparkline(values: Sequence[float | None], width: float = 120, height: float = 30) -> str:
    """The points of an SVG polyline drawing `values` (gaps skipped), lowest at the bottom; "" with fewer than 2."""
    known = [(number, value) for number, value in enumerate(values) if value is not None]
    if len(known) < 2:
        return ""
    low, high = min(value for _, value in known), max(value for _, value in known)
    spread = (high - low) or 1.0
    step = width / max(len(values) - 1, 1)
    return " ".join(
        f"{number * step:.1f},{height - 2 - (value - low) / spread * (height - 4):.1f}" for number, value in known
    )


def _helpers(request: Request) -> dict[str, Any]:
    """How the pages write numbers and days in the reader's language (decimal comma in French)."""
    locale = locale_of(request)
    return {
        # Small figures (m³ or kWh per resident) keep their significant digits.
        "number": lambda value: format_decimal(
            value, format="#,##0.###" if abs(value) < 1 else "#,##0.##" if abs(value) < 10 else "#,##0.#", locale=locale
        ),
        "signed": lambda value: format_decimal(value, format="+#,##0.#;-#,##0.#", locale=locale),
        "day": lambda value: format_date(value, "long", locale=locale),
        "sparkline": sparkline,
        "atmo_labels": ATMO_LABELS,
    }


@router.get("/indicators")
async def indicators_page(request: Request, session: DbSession) -> Response:
    page = await snapshots.city_page(session)
    return render(request, "indicators/index.html", {"page": page, **_helpers(request)})


@router.get("/indicators/quartiers/{neighbourhood_id}")
async def quartier_page(request: Request, session: DbSession, neighbourhood_id: PathId) -> Response:
    page = await snapshots.quartier_page(session, neighbourhood_id)
    return render(request, "indicators/quartier.html", {"page": page, **_helpers(request)})
