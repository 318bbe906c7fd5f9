"""Buildings: the domain's public front (its pages, indicators' eco-feedback, the demo, the app and tests import
from here).

- `registry.py`: a building created as a SensorThings Thing with its meters (through sensing's service) and
  its attributes (use, floor area, year of construction, dwellings, energy class); similar buildings;
- `importing.py`: buildings created by staff, one from a page or many from a CSV file (all or nothing);
- `links.py`: a resident's link to their building (asked, confirmed by staff), with its personal-data provider.

Buildings use sensing, people and territory through their services; indicators read buildings (the
eco-feedback page, the per-dwelling indicators), never the other way.
"""

from __future__ import annotations

from citoyen.buildings.importing import (
    BuildingImportError,
    create_by_staff,
    create_checked,
    import_buildings,
    parse_buildings,
)
from citoyen.buildings.links import (
    BUILDINGS_DEPARTMENT,
    PendingLink,
    buildings_of,
    confirm_link,
    decline_link,
    erase_personal_data,
    export_personal_data,
    is_resident,
    link_of,
    may_decide,
    pending_links,
    register_personal_data,
    remove_link,
    request_link,
)
from citoyen.buildings.models import ENERGY_CLASSES, Building, BuildingLink, BuildingUse, LinkStatus
from citoyen.buildings.registry import (
    AGE_BANDS,
    AREA_RATIO,
    METER_PROPERTIES,
    METERS,
    BuildingError,
    BuildingSpec,
    MeterKit,
    age_band,
    building_count,
    check_spec,
    create_building,
    get_building,
    list_buildings,
    meter_stream,
    metered_dwellings,
    similar_buildings,
)

__all__ = [
    "AGE_BANDS",
    "AREA_RATIO",
    "BUILDINGS_DEPARTMENT",
    "ENERGY_CLASSES",
    "METERS",
    "METER_PROPERTIES",
    "Building",
    "BuildingError",
    "BuildingImportError",
    "BuildingLink",
    "BuildingSpec",
    "BuildingUse",
    "LinkStatus",
    "MeterKit",
    "PendingLink",
    "age_band",
    "building_count",
    "buildings_of",
    "check_spec",
    "confirm_link",
    "create_building",
    "create_by_staff",
    "create_checked",
    "decline_link",
    "erase_personal_data",
    "export_personal_data",
    "get_building",
    "import_buildings",
    "is_resident",
    "link_of",
    "list_buildings",
    "may_decide",
    "meter_stream",
    "metered_dwellings",
    "parse_buildings",
    "pending_links",
    "register_personal_data",
    "remove_link",
    "request_link",
    "similar_buildings",
]
