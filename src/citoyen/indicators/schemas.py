"""The indicators API's documents (pydantic, for the OpenAPI document)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from citoyen.indicators.definitions import Indicator


class IndicatorOut(BaseModel):
    id: str
    theme: str
    name: str
    name_en: str
    definition: str
    definition_en: str
    unit: str
    unit_en: str = Field(description="The unit in English; empty when it reads the same as `unit`.")
    source: str
    source_en: str
    aggregation: str = Field(description="mean, sum or atmo (the worst ATMO sub-index of the day)")
    frequency: str
    frequency_en: str
    steps: list[str]
    latest_day: datetime | None = Field(description="The last UTC day with data; null when there is none")

    @classmethod
    def of(cls, indicator: Indicator, latest: datetime | None) -> IndicatorOut:
        return cls(
            id=indicator.id,
            theme=indicator.theme,
            name=indicator.name,
            name_en=indicator.name_en,
            definition=indicator.definition,
            definition_en=indicator.definition_en,
            unit=indicator.unit,
            unit_en=indicator.unit_en,
            source=indicator.source,
            source_en=indicator.source_en,
            aggregation=indicator.aggregation,
            frequency=indicator.frequency,
            frequency_en=indicator.frequency_en,
            steps=list(indicator.steps),
            latest_day=latest,
        )


class IndicatorList(BaseModel):
    indicators: list[IndicatorOut]


class SeriesPoint(BaseModel):
    start: datetime
    value: float | None


class Series(BaseModel):
    indicator: str
    neighbourhood: int | None
    step: str
    from_: datetime = Field(alias="from", serialization_alias="from")
    to: datetime
    unit: str
    unit_en: str = Field(description="The unit in English; empty when it reads the same as `unit`.")
    points: list[SeriesPoint]

    model_config = {"populate_by_name": True}
