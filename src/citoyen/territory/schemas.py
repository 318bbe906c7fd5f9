"""Territory API shapes (GeoJSON in, GeoJSON out)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel


class NeighbourhoodProperties(BaseModel):
    id: int
    name: str
    code: str | None


class NeighbourhoodFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: int
    geometry: dict[str, Any]
    properties: NeighbourhoodProperties


class NeighbourhoodCollection(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[NeighbourhoodFeature]


class LocatedNeighbourhood(BaseModel):
    id: int
    name: str
    code: str | None
    h3_cells: dict[int, str]


class AddressProperties(BaseModel):
    label: str
    type: Literal["housenumber", "street", "neighbourhood", "postcode"]
    housenumber: str | None
    street: str | None
    postcode: str | None
    city: str | None
    id: str | None
    source: Literal["offline", "remote"]


class AddressPoint(BaseModel):
    type: Literal["Point"] = "Point"
    coordinates: list[float]


class AddressFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    geometry: AddressPoint
    properties: AddressProperties


class AddressCollection(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[AddressFeature]
