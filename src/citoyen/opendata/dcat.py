"""The open-data catalogue as DCAT-AP 3.0.1 RDF, the form data.gouv.fr and the European Data Portal harvest.

The caller hands plain descriptions (the frozen dataclasses below, public datasets only) and gets an rdflib
``Graph``; ``serialize`` writes it as Turtle, JSON-LD or RDF/XML. Every mandatory property of DCAT-AP is
written, and every recommended one the description has. Concepts come from the EU controlled vocabularies
(``vocabularies.py``) and are described in the graph with their scheme and labels, so that the official
SHACL shapes (``shapes/``) can check them without fetching the vocabularies.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from typing import Literal as TypingLiteral
from urllib.parse import quote

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, RDF, RDFS, SKOS, XSD
from shapely.geometry import shape

from citoyen.opendata import vocabularies as voc

VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
DCATAP = Namespace("http://data.europa.eu/r5r/")
LOCN = Namespace("http://www.w3.org/ns/locn#")
GSP = Namespace("http://www.opengis.net/ont/geosparql#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
# DCAT 3's version property, which rdflib's DCAT namespace (DCAT 2) lacks.
DCAT_VERSION = URIRef("http://www.w3.org/ns/dcat#version")

# The specification a described resource's metadata conforms to.
DCAT_AP = URIRef("http://data.europa.eu/r5r/")
# The official DCAT-AP 3.0 shapes check the checksum algorithm's address against ``^https://spdx.org/rdf/terms``
# (the address SPDX's documentation is served at), so the algorithm is named there; its SPDX 2 term is
# http://spdx.org/rdf/terms#checksumAlgorithm_sha256, given as ``owl:sameAs``.
SHA256 = URIRef("https://spdx.org/rdf/terms#checksumAlgorithm_sha256")
SHA256_SPDX = SPDX.checksumAlgorithm_sha256

Text = Mapping[str, str]
"""A text in several languages: language tag ("fr", "en") to text. Empty texts are left out."""

RdfFormat = TypingLiteral["turtle", "json-ld", "xml"]

# Media type -> serialisation, in the order a client that accepts anything gets them.
MEDIA_TYPES: dict[str, RdfFormat] = {
    "text/turtle": "turtle",
    "application/ld+json": "json-ld",
    "application/rdf+xml": "xml",
}
FORMAT_MEDIA_TYPES: dict[RdfFormat, str] = {fmt: media_type for media_type, fmt in MEDIA_TYPES.items()}

_PREFIXES = {
    "dcat": DCAT,
    "dct": DCTERMS,
    "foaf": FOAF,
    "skos": SKOS,
    "vcard": VCARD,
    "spdx": SPDX,
    "adms": ADMS,
    "dcatap": DCATAP,
    "locn": LOCN,
    "gsp": GSP,
    "xsd": XSD,
    "rdfs": RDFS,
    "owl": OWL,
    "hydra": HYDRA,
}


@dataclass(frozen=True)
class DcatPublisher:
    """The agent that publishes a catalogue or a dataset (the city, a department)."""

    uri: str
    name: Text
    # ADMS publisher type: LocalAuthority, RegionalAuthority, NationalAuthority, PublicBody.
    kind: str | None = "LocalAuthority"
    homepage: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class DcatContact:
    """Where to send comments about a dataset (a vCard organisation)."""

    name: str
    email: str | None = None
    url: str | None = None
    uri: str | None = None


@dataclass(frozen=True)
class DcatDistribution:
    """One downloadable form of a dataset (a CKAN resource)."""

    uri: str
    access_url: str
    title: Text = field(default_factory=dict)
    description: Text = field(default_factory=dict)
    download_url: str | None = None
    media_type: str | None = None  # "text/csv"
    # EU file-type code ("CSV"); found from the media type when not given.
    file_type: str | None = None
    byte_size: int | None = None
    checksum_sha256: str | None = None  # lower-case hexadecimal
    licence: str | None = None  # a licence id of vocabularies.LICENCES; the dataset's when None
    issued: date | datetime | None = None
    modified: date | datetime | None = None
    conforms_to: tuple[str, ...] = ()  # schemas the file follows (a Table Schema's URL)
    availability: str | None = None  # EU planned-availability code (STABLE, ...)
    languages: tuple[str, ...] = ()  # EU language codes of the file's content


@dataclass(frozen=True)
class DcatDataset:
    """A public dataset of the catalogue. The caller leaves private (draft) and deleted datasets out."""

    uri: str
    identifier: str
    title: Text
    description: Text
    publisher: DcatPublisher | None = None
    contact: DcatContact | None = None
    keywords: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()  # EU data-theme codes (ENVI, TRAN, ...)
    licence: str | None = None  # a licence id of vocabularies.LICENCES, given to distributions without one
    frequency: str | None = None  # EU frequency code (DAILY, ...)
    temporal_start: date | datetime | None = None
    temporal_end: date | datetime | None = None
    # Spatial coverage: a bounding box (west, south, east, north) in WGS84, or a GeoJSON geometry to take it from.
    spatial_bbox: tuple[float, float, float, float] | None = None
    spatial_geometry: Mapping[str, Any] | None = None
    issued: date | datetime | None = None
    modified: date | datetime | None = None
    landing_page: str | None = None
    languages: tuple[str, ...] = ()  # EU language codes of the data
    access_rights: str | None = "PUBLIC"  # EU access-right code
    version: str | None = None
    distributions: tuple[DcatDistribution, ...] = ()


@dataclass(frozen=True)
class DcatDataService:
    """An API of the catalogue (the CKAN Action API) and the datasets it serves."""

    uri: str
    title: Text
    endpoint_url: str
    description: Text = field(default_factory=dict)
    endpoint_description: str | None = None  # a machine-readable description (an OpenAPI document)
    conforms_to: tuple[str, ...] = ()  # the specifications it follows
    publisher: DcatPublisher | None = None
    keywords: tuple[str, ...] = ()
    licence: str | None = None
    serves: tuple[str, ...] = ()  # URIs of the datasets it serves


@dataclass(frozen=True)
class DcatCatalog:
    """The catalogue itself: who publishes it, in which languages, and its public datasets."""

    uri: str
    title: Text
    description: Text
    publisher: DcatPublisher
    homepage: str | None = None
    languages: tuple[str, ...] = ("FRA", "ENG")
    licence: str | None = None  # the licence of the catalogue's metadata
    country: str | None = None  # EU country code of the geographical coverage ("FRA")
    issued: date | datetime | None = None
    modified: date | datetime | None = None
    datasets: tuple[DcatDataset, ...] = ()
    services: tuple[DcatDataService, ...] = ()


@dataclass(frozen=True)
class DcatPage:
    """Where one page of a catalogue served in pages sits among the others, in Hydra's paged-collection terms
    (as ckanext-dcat writes them, which DCAT harvesters follow through ``nextPage``)."""

    uri: str  # this page's address
    first: str
    last: str
    next: str | None
    previous: str | None
    total_items: int
    items_per_page: int


class UnknownCodeError(ValueError):
    """A description names a code that is not in the vocabulary the catalogue speaks."""


def catalog_graph(catalog: DcatCatalog, page: DcatPage | None = None) -> Graph:
    """The catalogue, each of its datasets and distributions, and the concepts they use; with ``page``, the
    datasets are one page of the catalogue's and the graph says where the other pages are."""
    builder = _Builder()
    builder.add_catalog(catalog)
    if page is not None:
        builder.add_page(page)
    return builder.graph


def dataset_graph(dataset: DcatDataset, catalog_uri: str | None = None) -> Graph:
    """One dataset with its distributions (what its URL answers to an RDF client)."""
    builder = _Builder()
    node = builder.add_dataset(dataset)
    if catalog_uri:
        # Which catalogue lists it; the catalogue itself is described at its own address.
        builder.graph.add((URIRef(catalog_uri), DCAT.dataset, node))
    return builder.graph


def serialize(graph: Graph, fmt: RdfFormat) -> bytes:
    """The graph as Turtle, JSON-LD (compacted with the usual prefixes) or RDF/XML, UTF-8."""
    if fmt == "json-ld":
        context = {prefix: str(namespace) for prefix, namespace in _PREFIXES.items()}
        return graph.serialize(format="json-ld", context=context, auto_compact=True, encoding="utf-8")
    return graph.serialize(format=fmt, encoding="utf-8")


SHAPE_FILES = (
    "dcat-ap-SHACL.ttl",
    "ranges.ttl",
    "split-shapes.ttl",
    "split-range.ttl",
    "split-shapes_recommended.ttl",
    "split-mdr-vocabularies.shape.ttl",
)
"""The official DCAT-AP shapes kept in ``shapes/`` (see its README): the 3.0.1 shapes and their class ranges,
the split shapes with their severities (recommended properties are warnings) and the controlled vocabularies."""


def shapes_graph(files: tuple[str, ...] = SHAPE_FILES) -> Graph:
    """The official SHACL shapes as one graph, for a validator such as pyshacl.

    ``ranges.ttl`` lists a few property shapes that no file defines; a validator refuses a reference to a shape
    it cannot read, and such a reference constrains nothing, so it is dropped. No constraint is changed."""
    shacl = Namespace("http://www.w3.org/ns/shacl#")
    folder = Path(__file__).parent / "shapes"
    graph = Graph()
    for name in files:
        graph.parse(folder / name, format="turtle")
    dangling = [
        (node_shape, reference)
        for node_shape, reference in graph.subject_objects(shacl.property)
        if (reference, shacl.path, None) not in graph
    ]
    for node_shape, reference in dangling:
        graph.remove((node_shape, shacl.property, reference))
    return graph


def negotiate(accept: str | None) -> RdfFormat | None:
    """The RDF serialisation an ``Accept`` header asks for, by quality then by its order; None if it asks for none,
    or prefers a web page (``text/html`` of a higher quality than any RDF) as browsers do."""
    if not accept:
        return None
    best: tuple[float, int, RdfFormat] | None = None
    page_quality = 0.0
    for position, part in enumerate(accept.split(",")):
        pieces = [piece.strip() for piece in part.split(";")]
        media_type = pieces[0].lower()
        quality = 1.0
        for parameter in pieces[1:]:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if media_type in ("text/html", "application/xhtml+xml"):
            page_quality = max(page_quality, quality)
        fmt = MEDIA_TYPES.get(media_type)
        if fmt is None or quality <= 0:
            continue
        if best is None or quality > best[0]:
            best = (quality, position, fmt)
    return best[2] if best and best[0] >= page_quality else None


def _code(table: Mapping[str, object], code: str, what: str) -> str:
    if code not in table:
        raise UnknownCodeError(f"unknown {what} {code!r}; expected one of {', '.join(sorted(table))}")
    return code


_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")


def _iri(url: str) -> URIRef:
    """An address as an IRI: characters an IRI may not hold (spaces, quotes, angle brackets) percent-encoded, so
    that every serialisation stays readable whatever a publisher typed."""
    return URIRef(quote(url.strip(), safe=":/?#[]@!$&'()*+,;=%~"))


def _coordinate(value: float) -> str:
    """A WGS84 coordinate to seven decimals (about a centimetre), without trailing zeros."""
    return f"{value:.7f}".rstrip("0").rstrip(".")


class _Builder:
    """Writes descriptions into one graph, describing each concept and agent once."""

    def __init__(self) -> None:
        self.graph = Graph()
        for prefix, namespace in _PREFIXES.items():
            self.graph.bind(prefix, namespace)
        self._described: set[URIRef] = set()

    # Plain values

    def _texts(self, subject: URIRef | BNode, predicate: URIRef, text: Text) -> None:
        for language, value in text.items():
            if value and value.strip():
                self.graph.add((subject, predicate, Literal(value.strip(), lang=language)))

    def _date(self, subject: URIRef | BNode, predicate: URIRef, value: date | datetime | None) -> None:
        if value is None:
            return
        if isinstance(value, datetime):
            self.graph.add((subject, predicate, Literal(value.isoformat(), datatype=XSD.dateTime)))
        else:
            self.graph.add((subject, predicate, Literal(value.isoformat(), datatype=XSD.date)))

    def _document(self, url: str) -> URIRef:
        node = _iri(url)
        self.graph.add((node, RDF.type, FOAF.Document))
        return node

    # Concepts of the controlled vocabularies

    def _scheme(self, scheme: str) -> URIRef:
        node = URIRef(scheme)
        if node not in self._described:
            self._described.add(node)
            title = voc.SCHEME_TITLES[scheme]
            self.graph.add((node, RDF.type, SKOS.ConceptScheme))
            self.graph.add((node, DCTERMS.title, Literal(title.en, lang="en")))
            self.graph.add((node, DCTERMS.title, Literal(title.fr, lang="fr")))
        return node

    def _concept(self, uri: str, scheme: str, label: voc.Label, *classes: URIRef) -> URIRef:
        node = URIRef(uri)
        if node not in self._described:
            self._described.add(node)
            self.graph.add((node, RDF.type, SKOS.Concept))
            for cls in classes:
                self.graph.add((node, RDF.type, cls))
            self.graph.add((node, SKOS.prefLabel, Literal(label.en, lang="en")))
            self.graph.add((node, SKOS.prefLabel, Literal(label.fr, lang="fr")))
            self.graph.add((node, SKOS.inScheme, self._scheme(scheme)))
        return node

    def _theme(self, code: str) -> URIRef:
        _code(voc.DATA_THEMES, code, "data theme")
        return self._concept(f"{voc.DATA_THEME_SCHEME}/{code}", voc.DATA_THEME_SCHEME, voc.DATA_THEMES[code])

    def _frequency(self, code: str) -> URIRef:
        _code(voc.FREQUENCIES, code, "frequency")
        return self._concept(
            f"{voc.FREQUENCY_SCHEME}/{code}", voc.FREQUENCY_SCHEME, voc.FREQUENCIES[code], DCTERMS.Frequency
        )

    def _language(self, code: str) -> URIRef:
        _code(voc.LANGUAGES, code, "language")
        return self._concept(
            f"{voc.LANGUAGE_SCHEME}/{code}", voc.LANGUAGE_SCHEME, voc.LANGUAGES[code], DCTERMS.LinguisticSystem
        )

    def _access_rights(self, code: str) -> URIRef:
        _code(voc.ACCESS_RIGHTS, code, "access right")
        return self._concept(
            f"{voc.ACCESS_RIGHT_SCHEME}/{code}",
            voc.ACCESS_RIGHT_SCHEME,
            voc.ACCESS_RIGHTS[code],
            DCTERMS.RightsStatement,
        )

    def _country(self, code: str) -> URIRef:
        _code(voc.COUNTRIES, code, "country")
        return self._concept(f"{voc.COUNTRY_SCHEME}/{code}", voc.COUNTRY_SCHEME, voc.COUNTRIES[code], DCTERMS.Location)

    def _availability(self, code: str) -> URIRef:
        _code(voc.AVAILABILITIES, code, "availability")
        return self._concept(f"{voc.AVAILABILITY_SCHEME}/{code}", voc.AVAILABILITY_SCHEME, voc.AVAILABILITIES[code])

    def _file_type(self, code: str) -> URIRef:
        _code(voc.FILE_TYPES, code, "file type")
        label = voc.FILE_TYPES[code].label
        return self._concept(
            f"{voc.FILE_TYPE_SCHEME}/{code}", voc.FILE_TYPE_SCHEME, voc.Label(label, label), DCTERMS.MediaTypeOrExtent
        )

    def _media_type(self, media_type: str) -> URIRef | None:
        if not _MEDIA_TYPE.fullmatch(media_type.split(";", 1)[0].strip().lower()):
            return None  # not a media type: better none than a wrong one
        node = URIRef(voc.media_type_uri(media_type))
        self.graph.add((node, RDF.type, DCTERMS.MediaType))
        return node

    def _licence(self, licence_id: str) -> URIRef:
        _code(voc.LICENCES, licence_id, "licence")
        licence = voc.LICENCES[licence_id]
        node = URIRef(licence.uri)
        if node in self._described:
            return node
        self._described.add(node)
        self.graph.add((node, RDF.type, DCTERMS.LicenseDocument))
        self.graph.add((node, RDFS.label, Literal(licence.title.en, lang="en")))
        self.graph.add((node, RDFS.label, Literal(licence.title.fr, lang="fr")))
        if licence.eu_authority:
            self.graph.add((node, SKOS.inScheme, self._scheme(voc.LICENCE_SCHEME)))
        for kind in licence.types:
            concept = self._concept(voc.LICENCE_TYPE_BASE + kind, voc.LICENCE_TYPE_SCHEME, voc.LICENCE_TYPES[kind])
            self.graph.add((node, DCTERMS.type, concept))
        if licence.url != licence.uri:
            self.graph.add((node, RDFS.seeAlso, URIRef(licence.url)))
        return node

    def _publisher(self, publisher: DcatPublisher) -> URIRef:
        node = URIRef(publisher.uri)
        if node in self._described:
            return node
        self._described.add(node)
        self.graph.add((node, RDF.type, FOAF.Agent))
        self.graph.add((node, RDF.type, FOAF.Organization))
        self._texts(node, FOAF.name, publisher.name)
        if publisher.kind:
            _code(voc.PUBLISHER_TYPES, publisher.kind, "publisher type")
            concept = self._concept(
                voc.PUBLISHER_TYPE_BASE + publisher.kind, voc.PUBLISHER_TYPE_SCHEME, voc.PUBLISHER_TYPES[publisher.kind]
            )
            self.graph.add((node, DCTERMS.type, concept))
        if publisher.homepage:
            self.graph.add((node, FOAF.homepage, self._document(publisher.homepage)))
        if publisher.email:
            self.graph.add((node, FOAF.mbox, _iri(f"mailto:{publisher.email}")))
        return node

    def _contact(self, contact: DcatContact) -> URIRef | BNode:
        node: URIRef | BNode = URIRef(contact.uri) if contact.uri else BNode()
        self.graph.add((node, RDF.type, VCARD.Kind))
        self.graph.add((node, RDF.type, VCARD.Organization))
        self.graph.add((node, VCARD.fn, Literal(contact.name)))
        if contact.email:
            self.graph.add((node, VCARD.hasEmail, _iri(f"mailto:{contact.email}")))
        if contact.url:
            self.graph.add((node, VCARD.hasURL, _iri(contact.url)))
        return node

    def _spatial(self, dataset: DcatDataset) -> BNode | None:
        bbox = dataset.spatial_bbox
        if bbox is None and dataset.spatial_geometry:
            bounds = shape(dataset.spatial_geometry).bounds
            bbox = (bounds[0], bounds[1], bounds[2], bounds[3])
        if bbox is None:
            return None
        node = BNode()
        west, south, east, north = (_coordinate(value) for value in bbox)
        polygon = f"POLYGON(({west} {south}, {east} {south}, {east} {north}, {west} {north}, {west} {south}))"
        self.graph.add((node, RDF.type, DCTERMS.Location))
        self.graph.add((node, DCAT.bbox, Literal(polygon, datatype=GSP.wktLiteral)))
        centroid = f"POINT({_coordinate((bbox[0] + bbox[2]) / 2)} {_coordinate((bbox[1] + bbox[3]) / 2)})"
        self.graph.add((node, DCAT.centroid, Literal(centroid, datatype=GSP.wktLiteral)))
        return node

    # Resources

    def add_catalog(self, catalog: DcatCatalog) -> URIRef:
        node = URIRef(catalog.uri)
        graph = self.graph
        graph.add((node, RDF.type, DCAT.Catalog))
        self._texts(node, DCTERMS.title, catalog.title)
        self._texts(node, DCTERMS.description, catalog.description)
        graph.add((node, DCTERMS.publisher, self._publisher(catalog.publisher)))
        if catalog.homepage:
            graph.add((node, FOAF.homepage, self._document(catalog.homepage)))
        for code in catalog.languages:
            graph.add((node, DCTERMS.language, self._language(code)))
        if catalog.licence:
            graph.add((node, DCTERMS.license, self._licence(catalog.licence)))
        if catalog.country:
            graph.add((node, DCTERMS.spatial, self._country(catalog.country)))
        self._date(node, DCTERMS.issued, catalog.issued)
        self._date(node, DCTERMS.modified, catalog.modified)
        graph.add((node, DCTERMS.conformsTo, DCAT_AP))
        graph.add((DCAT_AP, RDF.type, DCTERMS.Standard))
        graph.add((node, DCAT.themeTaxonomy, self._scheme(voc.DATA_THEME_SCHEME)))
        for dataset in catalog.datasets:
            graph.add((node, DCAT.dataset, self.add_dataset(dataset)))
        for service in catalog.services:
            graph.add((node, DCAT.service, self._service(service)))
        return node

    def _service(self, service: DcatDataService) -> URIRef:
        node = URIRef(service.uri)
        graph = self.graph
        graph.add((node, RDF.type, DCAT.DataService))
        self._texts(node, DCTERMS.title, service.title)
        self._texts(node, DCTERMS.description, service.description)
        graph.add((node, DCAT.endpointURL, _iri(service.endpoint_url)))
        graph.add((_iri(service.endpoint_url), RDF.type, RDFS.Resource))
        if service.endpoint_description:
            graph.add((node, DCAT.endpointDescription, _iri(service.endpoint_description)))
            graph.add((_iri(service.endpoint_description), RDF.type, RDFS.Resource))
        for specification in service.conforms_to:
            graph.add((node, DCTERMS.conformsTo, _iri(specification)))
            graph.add((_iri(specification), RDF.type, DCTERMS.Standard))
        if service.publisher:
            graph.add((node, DCTERMS.publisher, self._publisher(service.publisher)))
        for keyword in service.keywords:
            graph.add((node, DCAT.keyword, Literal(keyword)))
        if service.licence:
            graph.add((node, DCTERMS.license, self._licence(service.licence)))
        for dataset in service.serves:
            graph.add((node, DCAT.servesDataset, URIRef(dataset)))
        return node

    def add_page(self, page: DcatPage) -> URIRef:
        node = URIRef(page.uri)
        graph = self.graph
        graph.add((node, RDF.type, HYDRA.PagedCollection))
        graph.add((node, HYDRA.totalItems, Literal(page.total_items, datatype=XSD.integer)))
        graph.add((node, HYDRA.itemsPerPage, Literal(page.items_per_page, datatype=XSD.integer)))
        graph.add((node, HYDRA.firstPage, Literal(page.first)))
        graph.add((node, HYDRA.lastPage, Literal(page.last)))
        if page.next:
            graph.add((node, HYDRA.nextPage, Literal(page.next)))
        if page.previous:
            graph.add((node, HYDRA.previousPage, Literal(page.previous)))
        return node

    def add_dataset(self, dataset: DcatDataset) -> URIRef:
        node = URIRef(dataset.uri)
        graph = self.graph
        if dataset.licence:
            _code(voc.LICENCES, dataset.licence, "licence")
        graph.add((node, RDF.type, DCAT.Dataset))
        graph.add((node, DCTERMS.identifier, Literal(dataset.identifier)))
        self._texts(node, DCTERMS.title, dataset.title)
        self._texts(node, DCTERMS.description, dataset.description)
        if dataset.publisher:
            graph.add((node, DCTERMS.publisher, self._publisher(dataset.publisher)))
        if dataset.contact:
            graph.add((node, DCAT.contactPoint, self._contact(dataset.contact)))
        for keyword in dataset.keywords:
            if keyword.strip():
                graph.add((node, DCAT.keyword, Literal(keyword.strip())))
        for code in dataset.themes:
            graph.add((node, DCAT.theme, self._theme(code)))
        if dataset.frequency:
            graph.add((node, DCTERMS.accrualPeriodicity, self._frequency(dataset.frequency)))
        if dataset.temporal_start or dataset.temporal_end:
            period = BNode()
            graph.add((period, RDF.type, DCTERMS.PeriodOfTime))
            self._date(period, DCAT.startDate, dataset.temporal_start)
            self._date(period, DCAT.endDate, dataset.temporal_end)
            graph.add((node, DCTERMS.temporal, period))
        location = self._spatial(dataset)
        if location is not None:
            graph.add((node, DCTERMS.spatial, location))
        self._date(node, DCTERMS.issued, dataset.issued)
        self._date(node, DCTERMS.modified, dataset.modified)
        if dataset.landing_page:
            graph.add((node, DCAT.landingPage, self._document(dataset.landing_page)))
        for code in dataset.languages:
            graph.add((node, DCTERMS.language, self._language(code)))
        if dataset.access_rights:
            graph.add((node, DCTERMS.accessRights, self._access_rights(dataset.access_rights)))
        if dataset.version:
            graph.add((node, DCAT_VERSION, Literal(dataset.version)))
        for distribution in dataset.distributions:
            graph.add((node, DCAT.distribution, self._distribution(distribution, dataset.licence)))
        return node

    def _distribution(self, distribution: DcatDistribution, dataset_licence: str | None) -> URIRef:
        node = URIRef(distribution.uri)
        graph = self.graph
        graph.add((node, RDF.type, DCAT.Distribution))
        graph.add((node, DCAT.accessURL, _iri(distribution.access_url)))
        if distribution.download_url:
            graph.add((node, DCAT.downloadURL, _iri(distribution.download_url)))
        self._texts(node, DCTERMS.title, distribution.title)
        self._texts(node, DCTERMS.description, distribution.description)
        file_type = distribution.file_type or voc.file_type_for(distribution.media_type)
        if file_type:
            graph.add((node, DCTERMS.format, self._file_type(file_type)))
        media_type = distribution.media_type or (voc.FILE_TYPES[file_type].media_type if file_type else None)
        media_type_node = self._media_type(media_type) if media_type else None
        if media_type_node is not None:
            graph.add((node, DCAT.mediaType, media_type_node))
        licence = distribution.licence or dataset_licence
        if licence:
            graph.add((node, DCTERMS.license, self._licence(licence)))
        if distribution.byte_size is not None:
            graph.add((node, DCAT.byteSize, Literal(distribution.byte_size, datatype=XSD.nonNegativeInteger)))
        if distribution.checksum_sha256:
            checksum = BNode()
            graph.add((checksum, RDF.type, SPDX.Checksum))
            graph.add((checksum, SPDX.algorithm, SHA256))
            graph.add(
                (checksum, SPDX.checksumValue, Literal(distribution.checksum_sha256.lower(), datatype=XSD.hexBinary))
            )
            graph.add((node, SPDX.checksum, checksum))
            if SHA256 not in self._described:
                self._described.add(SHA256)
                graph.add((SHA256, RDF.type, SPDX.ChecksumAlgorithm))
                graph.add((SHA256, OWL.sameAs, SHA256_SPDX))
        self._date(node, DCTERMS.issued, distribution.issued)
        self._date(node, DCTERMS.modified, distribution.modified)
        for schema in distribution.conforms_to:
            graph.add((node, DCTERMS.conformsTo, _iri(schema)))
            graph.add((_iri(schema), RDF.type, DCTERMS.Standard))
        if distribution.availability:
            graph.add((node, DCATAP.availability, self._availability(distribution.availability)))
        for code in distribution.languages:
            graph.add((node, DCTERMS.language, self._language(code)))
        return node
