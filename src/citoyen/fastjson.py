"""JSON responses encoded by orjson: big answers (maps, SensorThings collections, Open311 lists) in a
fraction of the standard library's time. What orjson refuses (integers beyond 64 bits, which a stored
SensorThings result may hold) is encoded by the standard library instead."""

from __future__ import annotations

import json
from typing import Any

import orjson
from fastapi.responses import Response


def dumps(document: Any) -> bytes:
    """The document as compact UTF-8 JSON."""
    try:
        return orjson.dumps(document)
    except TypeError:
        return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


class FastJSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)
