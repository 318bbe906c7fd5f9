"""ckanapi, the CKAN client users have (its Python module and its command line), unchanged, against a running
Citoyen server: search with q, fq, facets, sort, rows and start; package_show; package_create, update, patch
and delete; resource_create with an upload; `ckanapi action` and `ckanapi dump datasets --all`.

The server runs in a thread (uvicorn) on a free port with its own database (tests/live_server.py)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import ckanapi  # type: ignore[import-untyped]
import httpx
import pytest

from citoyen.app import build_event_hub
from citoyen.db import make_engine, make_sessionmaker
from citoyen.opendata import service as opendata
from citoyen.people import service as people
from tests.live_server import live_server


@dataclass(frozen=True)
class LiveCatalogue:
    url: str
    token: str
    sensing_token: str


async def _prepare(server_url: str) -> tuple[str, str]:
    engine = make_engine(server_url)
    try:
        async with make_sessionmaker(engine, build_event_hub())() as session:
            _token, secret = await people.create_api_token(session, "publisher", ["opendata:write"])
            _other, sensing = await people.create_api_token(session, "gateway", ["sensing:write"])
            await opendata.create_organization(session, "mobilite", "Direction de la mobilité", "Mobility")
            await opendata.create_organization(session, "environnement", "Direction de l’environnement")
            await session.commit()
    finally:
        await engine.dispose()
    return secret, sensing


@pytest.fixture(scope="module")
def live(migrated_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveCatalogue]:
    with live_server(migrated_template, tmp_path_factory.mktemp("ckan-live"), "ckan", _prepare) as served:
        token, sensing = served.prepared
        yield LiveCatalogue(served.url, token, sensing)


def _ckanapi(*arguments: str) -> str:
    """The ckanapi command line, as a user runs it."""
    scripts = Path(sys.executable).parent
    # `ckanapi dump` starts its workers as `ckanapi` from the PATH.
    environment = {**os.environ, "PATH": f"{scripts}{os.pathsep}{os.environ.get('PATH', '')}"}
    command = [str(scripts / "ckanapi"), *arguments]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, env=environment)  # noqa: S603 - the venv's own ckanapi script
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_publish_search_change_and_delete_with_the_client(live: LiveCatalogue) -> None:
    ckan = ckanapi.RemoteCKAN(live.url, apikey=live.token)
    ckan.action.package_create(
        name="comptages-velos",
        title="Comptages des vélos",
        title_en="Bicycle counts",
        notes="Passages de vélos par jour et par compteur.",
        owner_org="mobilite",
        license_id="etalab-2.0",
        tags=[{"name": "vélo"}, {"name": "mobilité"}],
        groups=[{"name": "tran"}],
        extras=[{"key": "frequency", "value": "DAILY"}, {"key": "temporal_start", "value": "2026-01-01"}],
    )
    ckan.action.package_create(
        name="qualite-air",
        title="Qualité de l’air",
        title_en="Air quality",
        notes="Mesures de dioxyde d’azote.",
        owner_org="environnement",
        license_id="odc-odbl",
        tags=[{"name": "air"}],
        groups=[{"name": "envi"}],
    )
    ckan.action.package_create(
        name="arceaux-velos", title="Arceaux à vélos", owner_org="mobilite", license_id="etalab-2.0"
    )

    csv = b"compteur,jour,passages\nRivoli,2026-12-01,1520\nSebastopol,2026-12-01,2210\n"
    resource = ckan.action.resource_create(
        package_id="comptages-velos", name="Comptages 2026", upload=("comptages.csv", io.BytesIO(csv))
    )
    assert resource["format"] == "CSV"
    assert resource["url"].startswith(live.url + "/data/comptages-velos/resources/")
    assert httpx.get(resource["url"]).content == csv

    found = ckan.action.package_search(
        q="vélos",
        fq="organization:mobilite",
        sort="name asc",
        rows=1,
        start=1,
        **{"facet.field": json.dumps(["tags", "res_format", "license_id"])},
    )
    assert found["count"] == 2
    assert [item["name"] for item in found["results"]] == ["comptages-velos"]
    assert {"name": "CSV", "display_name": "CSV", "count": 1} in found["search_facets"]["res_format"]["items"]
    english = ckan.action.package_search(q="bicycle")
    assert [item["name"] for item in english["results"]] == ["comptages-velos"]

    shown = ckan.action.package_show(id="comptages-velos")
    assert shown["organization"]["name"] == "mobilite"
    assert shown["frequency"] == "DAILY"
    assert shown["resources"][0]["id"] == resource["id"]

    shown["title"] = "Comptages vélos (jour)"
    updated = ckan.action.package_update(**shown)  # the usual show, change, update round trip
    assert updated["title"] == "Comptages vélos (jour)"
    assert updated["num_resources"] == 1
    patched = ckan.action.package_patch(id="qualite-air", notes="Dioxyde d’azote (NO2), moyennes horaires.")
    assert patched["license_id"] == "odc-odbl"

    ckan.action.package_delete(id="arceaux-velos")
    with pytest.raises(ckanapi.NotFound):
        ckan.action.package_show(id="arceaux-velos")
    with pytest.raises(ckanapi.ValidationError) as refused:
        ckan.action.package_search(fq="colour:blue")
    assert "fq" in refused.value.error_dict
    with pytest.raises(ckanapi.NotAuthorized):
        ckanapi.RemoteCKAN(live.url, apikey=live.sensing_token).action.package_create(
            name="nope", title="Nope", owner_org="mobilite"
        )
    with pytest.raises(ckanapi.NotAuthorized):
        ckanapi.RemoteCKAN(live.url).action.package_delete(id="qualite-air")


def test_command_line_search_and_dump(live: LiveCatalogue) -> None:
    ckan = ckanapi.RemoteCKAN(live.url, apikey=live.token)
    ckan.action.package_create(
        name="stationnement-cli", title="Stationnement", title_en="Parking", owner_org="mobilite"
    )
    answer = json.loads(_ckanapi("action", "package_search", "-r", live.url, "q=parking"))
    assert [item["name"] for item in answer["results"]] == ["stationnement-cli"]
    dumped = [json.loads(line) for line in _ckanapi("dump", "datasets", "--all", "-q", "-r", live.url).splitlines()]
    names = {dataset["name"] for dataset in dumped}
    assert "stationnement-cli" in names
    assert names == set(ckan.action.package_list())
