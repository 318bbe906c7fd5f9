"""The DCAT-AP catalogue on the web, as a harvester reads it: every public dataset and file, nothing private."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass

import httpx
import pyshacl
import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF, XSD
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.addresses import base_url
from citoyen.config import Settings
from citoyen.opendata import dcat_routes
from citoyen.opendata import service as opendata
from citoyen.opendata.dcat import shapes_graph
from citoyen.opendata.publication import publish_platform
from tests.opendata.test_feeds import build_city, token
from tests.opendata.test_publication import a_week_on

__all__ = ["token"]  # the fixture, used by name

SH = Namespace("http://www.w3.org/ns/shacl#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
CSV = b"quartier,signalements\nBelleville,12\nMontmartre,7\n"
FORMATS = {
    "ttl": ("text/turtle", "turtle"),
    "jsonld": ("application/ld+json", "json-ld"),
    "rdf": ("application/rdf+xml", "xml"),
}


@dataclass
class Catalogue:
    base: str
    reports: str  # names of the datasets
    minimal: str
    draft: str
    deleted: str
    csv_uuid: str
    link_uuid: str


@pytest.fixture
async def catalogue(session: AsyncSession, settings: Settings) -> Catalogue:
    roads = await opendata.create_organization(session, "voirie", "Direction de la voirie", "Roads department")

    async def dataset(**fields: object) -> str:
        data = {"owner_org": roads.name, "license_id": "etalab-2.0", **fields}
        return (await opendata.save_dataset(session, await opendata.check_dataset(session, data))).name

    reports = await dataset(
        name="signalements",
        title="Signalements",
        title_en="Reports",
        notes="Les signalements sur l’espace public.",
        notes_en="Reports about public space.",
        tags=[{"name": "voirie"}, {"name": "propreté"}],
        groups=[{"name": "regi"}, {"name": "gove"}],
        frequency="DAILY",
        temporal_start="2025-01-01",
        temporal_end="2026-11-30",
        spatial='{"type":"Polygon","coordinates":[[[2.25,48.82],[2.42,48.82],[2.42,48.9],[2.25,48.9],[2.25,48.82]]]}',
    )
    directory = settings.opendata_path
    csv = await opendata.create_resource(
        session,
        directory,
        10_000_000,
        {"package_id": reports, "name": "Signalements (CSV)", "name_en": "Reports (CSV)", "format": "CSV"},
        opendata.Upload("signalements.csv", io.BytesIO(CSV), "text/csv"),
    )
    link = await opendata.create_resource(
        session,
        directory,
        10_000_000,
        {"package_id": reports, "name": "Carte", "url": "https://carto.example.fr/signalements", "format": "HTML"},
        None,
    )
    minimal = await dataset(name="budget-participatif", title="Budget participatif", license_id="")
    draft = await dataset(name="brouillon", title="Brouillon", notes="Pas encore publié.", private=True)
    deleted = await dataset(name="retire", title="Retiré", notes="Retiré du catalogue.")
    await opendata.delete_dataset(session, deleted)
    await session.commit()
    return Catalogue(
        base=base_url(settings),
        reports=reports,
        minimal=minimal,
        draft=draft,
        deleted=deleted,
        csv_uuid=csv.resource.uuid,
        link_uuid=link.resource.uuid,
    )


def _violations(graph: Graph) -> list[str]:
    _, report, _ = pyshacl.validate(graph, shacl_graph=shapes_graph(), inference="none", allow_warnings=True)
    top = report.value(predicate=RDF.type, object=SH.ValidationReport)
    return [
        f"{report.value(result, SH.focusNode)} {report.value(result, SH.resultPath)}"
        for result in report.objects(top, SH.result)
        if report.value(result, SH.resultSeverity) == SH.Violation
    ]


def _title(graph: Graph, node: URIRef, language: str) -> str:
    return next(str(t) for t in graph.objects(node, DCTERMS.title) if isinstance(t, Literal) and t.language == language)


@pytest.mark.parametrize("extension", list(FORMATS))
async def test_a_harvester_finds_every_public_dataset_and_file(
    client: httpx.AsyncClient, catalogue: Catalogue, extension: str
) -> None:
    media_type, rdf_format = FORMATS[extension]

    response = await client.get(f"/catalog.{extension}")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    graph = Graph().parse(data=response.content, format=rdf_format)
    base = catalogue.base
    datasets = set(graph.objects(URIRef(f"{base}/catalog"), DCAT.dataset))
    assert datasets == {URIRef(f"{base}/data/{catalogue.reports}"), URIRef(f"{base}/data/{catalogue.minimal}")}
    reports = URIRef(f"{base}/data/{catalogue.reports}")
    assert _title(graph, reports, "fr") == "Signalements" and _title(graph, reports, "en") == "Reports"
    csv = URIRef(f"{base}/data/{catalogue.reports}/resources/{catalogue.csv_uuid}")
    link = URIRef(f"{base}/data/{catalogue.reports}/resources/{catalogue.link_uuid}")
    assert set(graph.objects(reports, DCAT.distribution)) == {csv, link}
    assert _title(graph, csv, "fr") == "Signalements (CSV)" and _title(graph, csv, "en") == "Reports (CSV)"
    assert graph.value(csv, DCAT.downloadURL) == URIRef(f"{csv!s}/download/signalements.csv")
    assert graph.value(csv, DCAT.byteSize) == Literal(len(CSV), datatype=XSD.nonNegativeInteger)
    checksum = graph.value(csv, SPDX.checksum)
    assert str(graph.value(checksum, SPDX.checksumValue)) == hashlib.sha256(CSV).hexdigest()
    # The download address the harvester keeps gives the file.
    download = await client.get(str(graph.value(csv, DCAT.downloadURL)).removeprefix(base))
    assert download.status_code == 200 and download.content == CSV
    assert graph.value(link, DCAT.accessURL) == URIRef("https://carto.example.fr/signalements")
    assert graph.value(link, DCAT.downloadURL) is None
    assert _violations(graph) == []


async def test_what_the_catalogue_says_of_a_dataset(client: httpx.AsyncClient, catalogue: Catalogue) -> None:
    graph = Graph().parse(data=(await client.get("/catalog.ttl")).content, format="turtle")
    authority = "http://publications.europa.eu/resource/authority/"
    reports = URIRef(f"{catalogue.base}/data/{catalogue.reports}")

    assert set(graph.objects(reports, DCAT.theme)) == {
        URIRef(authority + "data-theme/REGI"),
        URIRef(authority + "data-theme/GOVE"),
    }
    assert graph.value(reports, DCTERMS.accrualPeriodicity) == URIRef(authority + "frequency/DAILY")
    assert {str(k) for k in graph.objects(reports, DCAT.keyword)} == {"voirie", "propreté"}
    assert graph.value(reports, DCTERMS.publisher) == URIRef(f"{catalogue.base}/organization/voirie")
    location = graph.value(reports, DCTERMS.spatial)
    assert (
        str(graph.value(location, DCAT.bbox)) == "POLYGON((2.25 48.82, 2.42 48.82, 2.42 48.9, 2.25 48.9, 2.25 48.82))"
    )
    csv = URIRef(f"{catalogue.base}/data/{catalogue.reports}/resources/{catalogue.csv_uuid}")
    assert graph.value(csv, DCTERMS.format) == URIRef(authority + "file-type/CSV")
    assert graph.value(csv, DCTERMS.license) == URIRef(
        "https://www.etalab.gouv.fr/wp-content/uploads/2017/04/ETALAB-Licence-Ouverte-v2.0.pdf"
    )
    # A dataset without a description is described by its title, which DCAT-AP requires.
    minimal = URIRef(f"{catalogue.base}/data/{catalogue.minimal}")
    assert str(graph.value(minimal, DCTERMS.description)) == "Budget participatif"
    assert graph.value(URIRef(f"{catalogue.base}/catalog"), DCTERMS.modified) is not None


async def test_the_catalogue_names_its_ckan_api(client: httpx.AsyncClient, catalogue: Catalogue) -> None:
    graph = Graph().parse(data=(await client.get("/catalog.ttl")).content, format="turtle")
    service = graph.value(URIRef(f"{catalogue.base}/catalog"), DCAT.service)
    assert (service, RDF.type, DCAT.DataService) in graph
    endpoint = str(graph.value(service, DCAT.endpointURL)).removeprefix(catalogue.base)
    served = {str(d).rsplit("/", 1)[-1] for d in graph.objects(service, DCAT.servesDataset)}

    answer = (await client.get(f"{endpoint}package_list")).json()

    assert answer["success"] is True
    assert served == set(answer["result"]) == {catalogue.reports, catalogue.minimal}


@pytest.mark.parametrize(("accept", "rdf_format"), [(media, fmt) for media, fmt in FORMATS.values()])
async def test_a_dataset_answers_rdf_at_its_own_address(
    client: httpx.AsyncClient, catalogue: Catalogue, accept: str, rdf_format: str
) -> None:
    response = await client.get(f"/data/{catalogue.reports}", headers={"Accept": accept})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith(accept)
    assert "Accept" in response.headers["vary"]
    graph = Graph().parse(data=response.content, format=rdf_format)
    reports = URIRef(f"{catalogue.base}/data/{catalogue.reports}")
    assert (reports, RDF.type, DCAT.Dataset) in graph
    assert len(set(graph.objects(reports, DCAT.distribution))) == 2
    assert _violations(graph) == []


async def test_a_dataset_file_by_extension(client: httpx.AsyncClient, catalogue: Catalogue) -> None:
    response = await client.get(f"/data/{catalogue.reports}.jsonld")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/ld+json")
    graph = Graph().parse(data=response.content, format="json-ld")
    assert (URIRef(f"{catalogue.base}/data/{catalogue.reports}"), RDF.type, DCAT.Dataset) in graph


async def test_a_browser_is_not_answered_rdf(client: httpx.AsyncClient, catalogue: Catalogue) -> None:
    response = await client.get(f"/data/{catalogue.reports}", headers={"Accept": "text/html,*/*;q=0.8"})
    assert not response.headers.get("content-type", "").startswith(("text/turtle", "application/ld+json"))


@pytest.mark.parametrize("how", ["accept", "extension"])
async def test_private_deleted_and_unknown_datasets_are_not_found(
    client: httpx.AsyncClient, catalogue: Catalogue, how: str
) -> None:
    for name in (catalogue.draft, catalogue.deleted, "nothing-here"):
        if how == "accept":
            response = await client.get(f"/data/{name}", headers={"Accept": "text/turtle"})
        else:
            response = await client.get(f"/data/{name}.ttl")
        assert response.status_code == 404, name
        assert response.json() == {"error": {"status": 404, "message": "dataset not found"}}


async def test_the_catalogue_is_served_in_pages(
    client: httpx.AsyncClient, catalogue: Catalogue, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dcat_routes, "PAGE_SIZE", 1)
    base = catalogue.base
    seen: set[str] = set()
    address: str | None = f"{base}/catalog.ttl?page=1"
    while address:
        response = await client.get(address.removeprefix(base))
        assert response.status_code == 200
        graph = Graph().parse(data=response.content, format="turtle")
        seen |= {str(d) for d in graph.objects(URIRef(f"{base}/catalog"), DCAT.dataset)}
        page = URIRef(address)
        assert (page, RDF.type, HYDRA.PagedCollection) in graph
        assert graph.value(page, HYDRA.totalItems) == Literal(2)
        following = graph.value(page, HYDRA.nextPage)
        address = str(following) if following else None
    assert seen == {f"{base}/data/{catalogue.reports}", f"{base}/data/{catalogue.minimal}"}
    assert (await client.get("/catalog.ttl?page=3")).status_code == 404


@pytest.mark.parametrize("page", ["0", "-1", "deux", "1.5", "99999999999999"])
async def test_a_bad_page_is_a_bad_request(client: httpx.AsyncClient, catalogue: Catalogue, page: str) -> None:
    response = await client.get("/catalog.ttl", params={"page": page})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")


async def test_the_catalogue_address_negotiates(client: httpx.AsyncClient, catalogue: Catalogue) -> None:
    turtle = await client.get("/catalog")
    assert turtle.status_code == 200 and turtle.headers["content-type"].startswith("text/turtle")
    xml = await client.get("/catalog", headers={"Accept": "application/rdf+xml"})
    assert xml.headers["content-type"].startswith("application/rdf+xml")
    assert (await client.get("/catalog.csv")).status_code == 404


async def test_the_platforms_own_datasets_have_no_violation(
    session: AsyncSession, settings: Settings, client: httpx.AsyncClient, token: str
) -> None:
    """What the platform publishes by itself (reports, proposals, budgets, sensors, neighbourhoods…) is what
    harvesters mostly find: the whole of it meets the official shapes."""
    await build_city(session, settings, client, token)
    report = await publish_platform(session, settings, a_week_on())
    assert report.failed == []
    await session.commit()

    graph = Graph().parse(data=(await client.get("/catalog.ttl")).content, format="turtle")

    base = base_url(settings)
    published = {URIRef(f"{base}/data/{o.name}") for o in report.datasets}
    assert published and published <= set(graph.objects(URIRef(f"{base}/catalog"), DCAT.dataset))
    assert _violations(graph) == []
