"""Small helpers for the SensorThings API tests: a write token and a weather station made by deep insert."""

from __future__ import annotations

from typing import Any

import httpx

STA = "/sta/v1.1"
COMPLEX = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_ComplexObservation"
MEASUREMENT = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"


def station(
    name: str = "Station Bastille", lon: float = 2.3692, lat: float = 48.8532, access: str = "public"
) -> dict[str, Any]:
    """A Thing with its Location and two Datastreams (new Sensor and ObservedProperty each), as a client sends it."""
    return {
        "name": name,
        "description": "Air quality station",
        "properties": {"operator": "Airparif", "citoyen": {"access": access, "kind": "air"}},
        "Locations": [
            {
                "name": f"{name} site",
                "description": "Pavement, 3 m high",
                "encodingType": "application/geo+json",
                "location": {"type": "Point", "coordinates": [lon, lat]},
            }
        ],
        "Datastreams": [
            {
                "name": f"{name} NO2",
                "description": "Nitrogen dioxide, hourly",
                "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
                "unitOfMeasurement": {
                    "name": "microgram per cubic metre",
                    "symbol": "µg/m³",
                    "definition": "http://www.qudt.org/qudt/owl/1.0.0/unit/Instances.html#MicrogramPerCubicMeter",
                },
                "Sensor": {
                    "name": "NO2 analyser",
                    "description": "Chemiluminescence analyser",
                    "encodingType": "application/pdf",
                    "metadata": "https://example.org/no2.pdf",
                },
                "ObservedProperty": {
                    "name": "NO2",
                    "definition": "https://en.wikipedia.org/wiki/Nitrogen_dioxide",
                    "description": "Nitrogen dioxide concentration",
                },
            },
            {
                "name": f"{name} temperature",
                "description": "Air temperature",
                "observationType": "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement",
                "unitOfMeasurement": {"name": "degree Celsius", "symbol": "°C", "definition": "ucum:Cel"},
                "Sensor": {
                    "name": "Thermometer",
                    "description": "PT100",
                    "encodingType": "text/html",
                    "metadata": "https://example.org/pt100",
                },
                "ObservedProperty": {
                    "name": "Temperature",
                    "definition": "https://en.wikipedia.org/wiki/Temperature",
                    "description": "Air temperature",
                },
            },
        ],
    }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def create_station(client: httpx.AsyncClient, token: str, **kwargs: Any) -> dict[str, Any]:
    """Create a station and return the Thing with its Datastreams and Locations expanded."""
    response = await client.post(f"{STA}/Things", json=station(**kwargs), headers=bearer(token))
    assert response.status_code == 201, response.text
    thing = await client.get(response.headers["Location"], params={"$expand": "Datastreams,Locations"})
    assert thing.status_code == 200, thing.text
    document: dict[str, Any] = thing.json()
    return document


def entity_id(link: str) -> int:
    return int(link.rsplit("(", 1)[1].rstrip(")"))


def wind(name: str = "Wind", units: int = 2, types: int = 2, **extra: Any) -> dict[str, Any]:
    """A MultiDatastream of wind speed and direction, as 18-088's example has it (sizes adjustable to break it)."""
    return {
        "name": name,
        "description": "Wind speed and direction",
        "observationType": COMPLEX,
        "unitOfMeasurements": [
            {"name": "metre per second", "symbol": "m/s", "definition": "ucum:m/s"},
            {"name": "degree", "symbol": "deg", "definition": "ucum:deg"},
        ][:units],
        "multiObservationDataTypes": [MEASUREMENT, MEASUREMENT][:types],
        "Sensor": {"name": "Anemometer", "description": "Cups and vane", "encodingType": "text/html", "metadata": "x"},
        "ObservedProperties": [
            {"name": "Wind speed", "definition": "https://example.org/speed", "description": "Speed"},
            {"name": "Wind direction", "definition": "https://example.org/direction", "description": "From north"},
        ],
        **extra,
    }
