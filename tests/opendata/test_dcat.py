"""The DCAT-AP 3.0.1 catalogue: valid against the official shapes, harvestable in every serialisation."""

from datetime import UTC, date, datetime

import pyshacl
import pytest
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF, SKOS, XSD
from rdflib.term import Node

from citoyen.opendata import vocabularies as voc
from citoyen.opendata.dcat import (
    DcatCatalog,
    DcatContact,
    DcatDataService,
    DcatDataset,
    DcatDistribution,
    DcatPublisher,
    UnknownCodeError,
    catalog_graph,
    dataset_graph,
    negotiate,
    serialize,
    shapes_graph,
)

SH = Namespace("http://www.w3.org/ns/shacl#")
BASE = "https://ville.example.fr"

CITY = DcatPublisher(
    uri=f"{BASE}/data/organization/ville",
    name={"fr": "Ville de Paris", "en": "City of Paris"},
    homepage=f"{BASE}/",
    email="opendata@ville.example.fr",
)
ROADS = DcatPublisher(uri=f"{BASE}/data/organization/voirie", name={"fr": "Direction de la voirie"})


def _reports() -> DcatDataset:
    """A full, bilingual dataset with several distributions."""
    uri = f"{BASE}/data/signalements"
    return DcatDataset(
        uri=uri,
        identifier="signalements",
        title={"fr": "Signalements sur l’espace public", "en": "Reports about public space"},
        description={"fr": "Les signalements déposés par les habitants.", "en": "Reports filed by residents."},
        publisher=ROADS,
        contact=DcatContact(name="Direction de la voirie", email="voirie@ville.example.fr", url=f"{BASE}/"),
        keywords=("voirie", "propreté"),
        themes=("REGI", "GOVE"),
        licence="etalab-2.0",
        frequency="DAILY",
        temporal_start=date(2025, 1, 1),
        temporal_end=date(2026, 11, 30),
        spatial_bbox=(2.224122, 48.815573, 2.469760, 48.902156),
        issued=datetime(2025, 1, 2, 8, 0, tzinfo=UTC),
        modified=datetime(2026, 12, 1, 3, 0, tzinfo=UTC),
        landing_page=uri,
        languages=("FRA",),
        version="2026-12-01",
        distributions=(
            DcatDistribution(
                uri=f"{uri}/resource/1",
                access_url=f"{uri}/resource/1",
                download_url=f"{uri}/resource/1/download/signalements.csv",
                title={"fr": "Signalements (CSV)", "en": "Reports (CSV)"},
                description={"fr": "Un signalement par ligne.", "en": "One report per row."},
                media_type="text/csv",
                byte_size=1_234_567,
                checksum_sha256="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                issued=datetime(2025, 1, 2, 8, 0, tzinfo=UTC),
                modified=datetime(2026, 12, 1, 3, 0, tzinfo=UTC),
                conforms_to=(f"{uri}/resource/1/schema.json",),
                availability="STABLE",
                languages=("FRA",),
            ),
            DcatDistribution(
                uri=f"{uri}/resource/2",
                access_url=f"{uri}/resource/2",
                download_url=f"{uri}/resource/2/download/signalements.geojson",
                title={"fr": "Signalements (GeoJSON)", "en": "Reports (GeoJSON)"},
                description={"fr": "Les mêmes, sur une carte."},
                file_type="GEOJSON",
                licence="odc-odbl",
            ),
            DcatDistribution(
                uri=f"{uri}/resource/3",
                access_url=f"{BASE}/api/3/action/datastore_search?resource_id=3",
                title={"fr": "API DataStore"},
                description={"fr": "Recherche dans les lignes, au format de CKAN."},
                media_type="application/json",
            ),
        ),
    )


def _neighbourhoods() -> DcatDataset:
    """A dataset whose extent is a GeoJSON polygon, under CC0, with an XLSX file."""
    uri = f"{BASE}/data/quartiers"
    return DcatDataset(
        uri=uri,
        identifier="quartiers",
        title={"fr": "Quartiers", "en": "Neighbourhoods"},
        description={"fr": "Les 80 quartiers administratifs.", "en": "The 80 administrative neighbourhoods."},
        publisher=CITY,
        themes=("REGI",),
        licence="cc0-1.0",
        frequency="IRREG",
        spatial_geometry={
            "type": "Polygon",
            "coordinates": [[[2.25, 48.82], [2.42, 48.82], [2.42, 48.90], [2.25, 48.90], [2.25, 48.82]]],
        },
        distributions=(
            DcatDistribution(
                uri=f"{uri}/resource/4",
                access_url=f"{uri}/resource/4",
                download_url=f"{uri}/resource/4/download/quartiers.xlsx",
                title={"fr": "Quartiers (tableur)"},
                media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                licence="cc-by-4.0",
            ),
        ),
    )


def _minimal() -> DcatDataset:
    """Only what DCAT-AP requires: no publisher, theme, licence, dates or files, in French only."""
    return DcatDataset(
        uri=f"{BASE}/data/budget-participatif",
        identifier="budget-participatif",
        title={"fr": "Budget participatif", "en": ""},
        description={"fr": "Résultats du budget participatif."},
        access_rights=None,
    )


def _catalog(*datasets: DcatDataset) -> DcatCatalog:
    return DcatCatalog(
        uri=f"{BASE}/catalog",
        title={"fr": "Données ouvertes de la ville", "en": "The city's open data"},
        description={
            "fr": "Tout ce que la plateforme collecte, redistribué.",
            "en": "Everything the platform collects.",
        },
        publisher=CITY,
        homepage=f"{BASE}/data",
        licence="etalab-2.0",
        country="FRA",
        issued=datetime(2025, 1, 2, 8, 0, tzinfo=UTC),
        modified=datetime(2026, 12, 1, 3, 0, tzinfo=UTC),
        datasets=datasets,
        services=(
            DcatDataService(
                uri=f"{BASE}/api/3/action/",
                title={"fr": "API CKAN", "en": "CKAN API"},
                description={"fr": "L’API Action v3 de CKAN.", "en": "CKAN's Action API v3."},
                endpoint_url=f"{BASE}/api/3/action/",
                endpoint_description=f"{BASE}/openapi.json",
                conforms_to=("https://docs.ckan.org/en/2.11/api/",),
                publisher=CITY,
                keywords=("CKAN",),
                licence="etalab-2.0",
                serves=tuple(dataset.uri for dataset in datasets),
            ),
        ),
    )


@pytest.fixture(scope="module")
def shapes() -> Graph:
    return shapes_graph()


def _results(graph: Graph, shapes: Graph) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """(violations, warnings) of a graph against the shapes, each as (focus node, path, message)."""
    _, report, _ = pyshacl.validate(graph, shacl_graph=shapes, inference="none", allow_warnings=True)
    violations: list[tuple[str, str, str]] = []
    warnings: list[tuple[str, str, str]] = []
    # Top-level results only: the details nested under a warning are not violations of their own.
    for result in report.objects(report.value(predicate=RDF.type, object=SH.ValidationReport), SH.result):
        row = (
            str(report.value(result, SH.focusNode)),
            str(report.value(result, SH.resultPath)),
            str(report.value(result, SH.resultMessage)),
        )
        severity = report.value(result, SH.resultSeverity)
        (violations if severity == SH.Violation else warnings).append(row)
    return violations, warnings


def _texts(graph: Graph, subject: Node, predicate: URIRef) -> set[tuple[str | None, str]]:
    """The (language, text) pairs of a property's literal values."""
    return {(value.language, str(value)) for value in graph.objects(subject, predicate) if isinstance(value, Literal)}


def test_the_catalogue_has_no_violation_of_the_official_shapes(shapes: Graph) -> None:
    graph = catalog_graph(_catalog(_reports(), _neighbourhoods(), _minimal()))

    violations, warnings = _results(graph, shapes)

    assert violations == []
    # Warnings are the recommendations left: those a city cannot meet (it is not in the EU table of corporate
    # bodies, a bounding box is not a place of an EU table, the country has no box of its own), and what the
    # thinner datasets do not have. The full dataset and its full distribution miss nothing they could give.
    by_focus: dict[str, set[str]] = {}
    for focus, path, _ in warnings:
        by_focus.setdefault(focus.removeprefix(BASE), set()).add(path.rsplit("/", 1)[-1].split("#")[-1])
    assert by_focus.pop("/data/signalements") == {"publisher", "spatial"}
    assert by_focus.pop("/catalog") == {"publisher"}
    assert "/data/signalements/resource/1" not in by_focus
    assert by_focus.pop("http://publications.europa.eu/resource/authority/country/FRA") == {"bbox", "centroid"}
    assert by_focus.pop("/data/budget-participatif") == {
        "publisher",
        "spatial",
        "temporal",
        "contactPoint",
        "distribution",
        "keyword",
        "theme",
    }
    assert by_focus.pop("/data/quartiers") == {"publisher", "spatial", "temporal", "contactPoint", "keyword"}
    # The CKAN API: its publisher is the city, and it has no contact point or theme of its own.
    assert by_focus.pop("/api/3/action/") == {"publisher", "contactPoint", "theme"}
    assert by_focus == {
        "/data/quartiers/resource/4": {"availability", "description"},
        "/data/signalements/resource/2": {"availability"},
        "/data/signalements/resource/3": {"availability"},
    }


def test_each_dataset_alone_has_no_violation(shapes: Graph) -> None:
    for dataset in (_reports(), _neighbourhoods(), _minimal()):
        violations, _ = _results(dataset_graph(dataset, catalog_uri=f"{BASE}/catalog"), shapes)
        assert violations == [], dataset.identifier


def test_concepts_come_from_the_eu_vocabularies() -> None:
    graph = catalog_graph(_catalog(_reports(), _neighbourhoods()))
    reports = URIRef(f"{BASE}/data/signalements")
    csv = URIRef(f"{BASE}/data/signalements/resource/1")
    geojson = URIRef(f"{BASE}/data/signalements/resource/2")
    xlsx = URIRef(f"{BASE}/data/quartiers/resource/4")
    authority = "http://publications.europa.eu/resource/authority/"

    assert set(graph.objects(reports, DCAT.theme)) == {
        URIRef(authority + "data-theme/REGI"),
        URIRef(authority + "data-theme/GOVE"),
    }
    assert graph.value(reports, DCTERMS.accrualPeriodicity) == URIRef(authority + "frequency/DAILY")
    assert graph.value(csv, DCTERMS.format) == URIRef(authority + "file-type/CSV")
    assert graph.value(csv, DCAT.mediaType) == URIRef("https://www.iana.org/assignments/media-types/text/csv")
    assert graph.value(geojson, DCTERMS.format) == URIRef(authority + "file-type/GEOJSON")
    assert graph.value(xlsx, DCTERMS.format) == URIRef(authority + "file-type/XLSX")
    # Licences: the EU table's where it has one, Licence Ouverte's own document otherwise.
    assert graph.value(geojson, DCTERMS.license) == URIRef(authority + "licence/ODC_BL")
    assert graph.value(xlsx, DCTERMS.license) == URIRef(authority + "licence/CC_BY_4_0")
    etalab = graph.value(csv, DCTERMS.license)
    assert etalab == URIRef(voc.LICENCES["etalab-2.0"].uri)
    assert (etalab, RDF.type, DCTERMS.LicenseDocument) in graph
    assert graph.value(etalab, DCTERMS.type) == URIRef("http://purl.org/adms/licencetype/Attribution")
    assert voc.LICENCES["cc0-1.0"].uri == authority + "licence/CC0"
    # Every concept used says which table it belongs to, with labels in both languages.
    for concept in set(graph.subjects(RDF.type, SKOS.Concept)):
        assert graph.value(concept, SKOS.inScheme) is not None, concept
        assert {lang for lang, _ in _texts(graph, concept, SKOS.prefLabel)} == {"en", "fr"}, concept


def test_the_full_dataset_carries_its_recommended_properties() -> None:
    graph = catalog_graph(_catalog(_reports()))
    reports = URIRef(f"{BASE}/data/signalements")
    csv = URIRef(f"{BASE}/data/signalements/resource/1")

    assert {lang for lang, _ in _texts(graph, reports, DCTERMS.title)} == {"fr", "en"}
    assert {str(k) for k in graph.objects(reports, DCAT.keyword)} == {"voirie", "propreté"}
    period = graph.value(reports, DCTERMS.temporal)
    assert graph.value(period, DCAT.startDate) == Literal(date(2025, 1, 1))
    assert graph.value(period, DCAT.endDate) == Literal(date(2026, 11, 30))
    location = graph.value(reports, DCTERMS.spatial)
    assert str(graph.value(location, DCAT.bbox)).startswith("POLYGON((2.224122 48.815573, 2.46976 48.815573")
    contact = graph.value(reports, DCAT.contactPoint)
    assert graph.value(contact, URIRef("http://www.w3.org/2006/vcard/ns#hasEmail")) == URIRef(
        "mailto:voirie@ville.example.fr"
    )
    assert graph.value(csv, DCAT.byteSize) == Literal(1_234_567, datatype=XSD.nonNegativeInteger)
    checksum = graph.value(csv, URIRef("http://spdx.org/rdf/terms#checksum"))
    assert str(graph.value(checksum, URIRef("http://spdx.org/rdf/terms#checksumValue"))).startswith("9f86d081")
    assert graph.value(csv, DCAT.downloadURL) == URIRef(
        f"{BASE}/data/signalements/resource/1/download/signalements.csv"
    )
    # A dataset's licence is given to its files that have none of their own.
    assert graph.value(csv, DCTERMS.license) == URIRef(voc.LICENCES["etalab-2.0"].uri)


def test_the_extent_of_a_geometry_is_its_bounding_box() -> None:
    graph = dataset_graph(_neighbourhoods())
    location = graph.value(URIRef(f"{BASE}/data/quartiers"), DCTERMS.spatial)
    assert (
        str(graph.value(location, DCAT.bbox)) == "POLYGON((2.25 48.82, 2.42 48.82, 2.42 48.9, 2.25 48.9, 2.25 48.82))"
    )
    assert str(graph.value(location, DCAT.centroid)) == "POINT(2.335 48.86)"


@pytest.mark.parametrize("fmt", ["turtle", "json-ld", "xml"])
def test_a_harvester_finds_every_dataset_and_distribution(fmt: str, shapes: Graph) -> None:
    """What data.gouv.fr and the European Data Portal do: parse the catalogue and walk it."""
    datasets = (_reports(), _neighbourhoods(), _minimal())
    body = serialize(catalog_graph(_catalog(*datasets)), fmt)  # type: ignore[arg-type]

    harvested = Graph().parse(data=body, format=fmt)

    catalog = URIRef(f"{BASE}/catalog")
    assert (catalog, RDF.type, DCAT.Catalog) in harvested
    found = set(harvested.objects(catalog, DCAT.dataset))
    assert found == {URIRef(d.uri) for d in datasets}
    for dataset in datasets:
        node = URIRef(dataset.uri)
        titles = _texts(harvested, node, DCTERMS.title)
        assert titles == {(lang, text) for lang, text in dataset.title.items() if text}
        assert str(harvested.value(node, DCTERMS.identifier)) == dataset.identifier
        distributions = set(harvested.objects(node, DCAT.distribution))
        assert distributions == {URIRef(d.uri) for d in dataset.distributions}
        for distribution in dataset.distributions:
            dist = URIRef(distribution.uri)
            assert harvested.value(dist, DCAT.accessURL) == URIRef(distribution.access_url)
            dist_titles = _texts(harvested, dist, DCTERMS.title)
            assert dist_titles == set(distribution.title.items())
    service = URIRef(f"{BASE}/api/3/action/")
    assert (catalog, DCAT.service, service) in harvested
    assert harvested.value(service, DCAT.endpointURL) == service
    assert set(harvested.objects(service, DCAT.servesDataset)) == found
    assert _results(harvested, shapes)[0] == []


def test_a_dataset_without_a_description_is_a_violation(shapes: Graph) -> None:
    dataset = DcatDataset(uri=f"{BASE}/data/vide", identifier="vide", title={"fr": "Vide"}, description={"fr": "  "})

    violations, _ = _results(catalog_graph(_catalog(dataset)), shapes)

    assert (f"{BASE}/data/vide", str(DCTERMS.description)) in {(focus, path) for focus, path, _ in violations}


def test_a_distribution_without_access_url_or_a_format_outside_the_eu_table_is_a_violation(shapes: Graph) -> None:
    graph = catalog_graph(_catalog(_reports()))
    csv = URIRef(f"{BASE}/data/signalements/resource/1")
    graph.remove((csv, DCAT.accessURL, None))
    home_made = URIRef("https://ville.example.fr/formats/csv")
    graph.set((URIRef(f"{BASE}/data/signalements/resource/2"), DCTERMS.format, home_made))
    graph.add((home_made, RDF.type, DCTERMS.MediaTypeOrExtent))

    violations, _ = _results(graph, shapes)

    paths = {(focus, path) for focus, path, _ in violations}
    assert (str(csv), str(DCAT.accessURL)) in paths
    assert (f"{BASE}/data/signalements/resource/2", str(DCTERMS.format)) in paths


def test_codes_outside_the_vocabularies_are_refused() -> None:
    with pytest.raises(UnknownCodeError, match="frequency"):
        catalog_graph(
            _catalog(DcatDataset(uri=f"{BASE}/data/x", identifier="x", title={}, description={}, frequency="SOMETIMES"))
        )
    with pytest.raises(UnknownCodeError, match="licence"):
        catalog_graph(
            _catalog(DcatDataset(uri=f"{BASE}/data/x", identifier="x", title={}, description={}, licence="mine"))
        )
    with pytest.raises(UnknownCodeError, match="data theme"):
        catalog_graph(
            _catalog(DcatDataset(uri=f"{BASE}/data/x", identifier="x", title={}, description={}, themes=("ROADS",)))
        )


def test_file_types_are_found_from_names_media_types_and_extensions() -> None:
    assert voc.file_type_for("CSV") == "CSV"
    assert voc.file_type_for("text/csv; charset=utf-8") == "CSV"
    assert voc.file_type_for("GeoJSON") == "GEOJSON"
    assert voc.file_type_for("application/geo+json") == "GEOJSON"
    assert voc.file_type_for(".xlsx") == "XLSX"
    assert voc.file_type_for("parquet") == "PARQUET"
    assert voc.file_type_for("a-format-nobody-knows") is None
    assert voc.file_type_for(None) is None


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ("text/turtle", "turtle"),
        ("application/ld+json", "json-ld"),
        ("application/rdf+xml", "xml"),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", None),
        ("application/rdf+xml;q=0.5, text/turtle;q=0.9", "turtle"),
        ("application/ld+json, text/turtle", "json-ld"),
        ("text/turtle;q=0", None),
        ("text/html, text/turtle;q=0.5", None),
        ("text/html;q=0.5, text/turtle", "turtle"),
        ("", None),
        (None, None),
    ],
)
def test_content_negotiation(accept: str | None, expected: str | None) -> None:
    assert negotiate(accept) == expected


@pytest.mark.parametrize("fmt", ["turtle", "json-ld", "xml"])
def test_what_a_publisher_typed_never_breaks_the_catalogue(fmt: str, shapes: Graph) -> None:
    """A link with spaces and quotes, a media type that is none: every serialisation still parses and validates."""
    odd = DcatDataset(
        uri=f"{BASE}/data/bizarre",
        identifier="bizarre",
        title={"fr": 'Titre avec "guillemets" et <balises>'},
        description={"fr": "Une description\nsur deux lignes."},
        distributions=(
            DcatDistribution(
                uri=f"{BASE}/data/bizarre/resources/1",
                access_url='https://exemple.fr/un lien "étrange"/<ici>',
                media_type="pas un type",
                title={"fr": "Lien"},
            ),
        ),
    )
    body = serialize(catalog_graph(_catalog(odd)), fmt)  # type: ignore[arg-type]

    harvested = Graph().parse(data=body, format=fmt)

    distribution = URIRef(f"{BASE}/data/bizarre/resources/1")
    assert str(harvested.value(distribution, DCAT.accessURL)) == (
        "https://exemple.fr/un%20lien%20%22%C3%A9trange%22/%3Cici%3E"
    )
    assert harvested.value(distribution, DCAT.mediaType) is None
    assert _results(harvested, shapes)[0] == []
