"""The controlled vocabularies the DCAT-AP catalogue speaks, with the few official concepts it uses.

DCAT-AP 3.0.1 asks that licences, file types, frequencies, data themes, languages and access rights come
from the EU Publications Office's authority tables (EU Vocabularies, "Named Authority Lists",
http://publications.europa.eu/resource/authority/...) and that licence and publisher types come from the
ADMS vocabularies (http://purl.org/adms/...). The official SHACL shapes check membership through each
concept's ``skos:inScheme``, so the catalogue states, for every concept it uses, its scheme and English and
French labels: only the concepts below, with the tables' codes and schemes and labels after theirs (the full
tables are large and not needed; a harvester takes the labels from the tables themselves). Origin: EU
Vocabularies (Publications Office of the European Union, reuse under CC BY 4.0) and the ADMS vocabularies
(SEMIC, W3C). Media types are IANA's registry URLs, which the shapes check by address.
"""

from dataclasses import dataclass

AUTHORITY = "http://publications.europa.eu/resource/authority/"
DATA_THEME_SCHEME = AUTHORITY + "data-theme"
FREQUENCY_SCHEME = AUTHORITY + "frequency"
FILE_TYPE_SCHEME = AUTHORITY + "file-type"
LANGUAGE_SCHEME = AUTHORITY + "language"
LICENCE_SCHEME = AUTHORITY + "licence"
ACCESS_RIGHT_SCHEME = AUTHORITY + "access-right"
AVAILABILITY_SCHEME = AUTHORITY + "planned-availability"
COUNTRY_SCHEME = AUTHORITY + "country"
LICENCE_TYPE_SCHEME = "http://purl.org/adms/licencetype/1.0"
LICENCE_TYPE_BASE = "http://purl.org/adms/licencetype/"
PUBLISHER_TYPE_SCHEME = "http://purl.org/adms/publishertype/1.0"
PUBLISHER_TYPE_BASE = "http://purl.org/adms/publishertype/"
IANA_MEDIA_TYPES = "https://www.iana.org/assignments/media-types/"


@dataclass(frozen=True)
class Label:
    """A concept's preferred label in English and French."""

    en: str
    fr: str


# The schemes' titles (a skos:ConceptScheme needs a dct:title in DCAT-AP).
SCHEME_TITLES: dict[str, Label] = {
    DATA_THEME_SCHEME: Label("Data theme", "Thème des données"),
    FREQUENCY_SCHEME: Label("Frequency", "Fréquence"),
    FILE_TYPE_SCHEME: Label("File type", "Type de fichier"),
    LANGUAGE_SCHEME: Label("Language", "Langue"),
    LICENCE_SCHEME: Label("Licence", "Licence"),
    ACCESS_RIGHT_SCHEME: Label("Access right", "Droit d’accès"),
    AVAILABILITY_SCHEME: Label("Planned availability", "Disponibilité prévue"),
    COUNTRY_SCHEME: Label("Country", "Pays"),
    LICENCE_TYPE_SCHEME: Label("Licence type", "Type de licence"),
    PUBLISHER_TYPE_SCHEME: Label("Publisher type", "Type d’éditeur"),
}

# EU data themes (the catalogue's groups are these codes).
DATA_THEMES: dict[str, Label] = {
    "AGRI": Label("Agriculture, fisheries, forestry and food", "Agriculture, pêche, sylviculture et alimentation"),
    "ECON": Label("Economy and finance", "Économie et finances"),
    "EDUC": Label("Education, culture and sport", "Éducation, culture et sport"),
    "ENER": Label("Energy", "Énergie"),
    "ENVI": Label("Environment", "Environnement"),
    "GOVE": Label("Government and public sector", "Gouvernement et secteur public"),
    "HEAL": Label("Health", "Santé"),
    "INTR": Label("International issues", "Questions internationales"),
    "JUST": Label("Justice, legal system and public safety", "Justice, système juridique et sécurité publique"),
    "REGI": Label("Regions and cities", "Régions et villes"),
    "SOCI": Label("Population and society", "Population et société"),
    "TECH": Label("Science and technology", "Science et technologie"),
    "TRAN": Label("Transport", "Transports"),
}

# EU frequencies (the codes the catalogue stores for a dataset's update frequency).
FREQUENCIES: dict[str, Label] = {
    "UPDATE_CONT": Label("continuously updated", "mise à jour continue"),
    "CONT": Label("continuous", "continu"),
    "HOURLY": Label("hourly", "toutes les heures"),
    "DAILY": Label("daily", "quotidien"),
    "WEEKLY": Label("weekly", "hebdomadaire"),
    "BIWEEKLY": Label("every two weeks", "toutes les deux semaines"),
    "MONTHLY": Label("monthly", "mensuel"),
    "QUARTERLY": Label("quarterly", "trimestriel"),
    "ANNUAL_2": Label("semiannual", "semestriel"),
    "ANNUAL": Label("annual", "annuel"),
    "IRREG": Label("irregular", "irrégulier"),
    "NEVER": Label("never", "jamais"),
    "UNKNOWN": Label("unknown", "inconnu"),
    "OTHER": Label("other", "autre"),
}

# EU languages the catalogue's texts are written in.
LANGUAGES: dict[str, Label] = {
    "FRA": Label("French", "français"),
    "ENG": Label("English", "anglais"),
}

# Countries a catalogue may cover (its geographical coverage).
COUNTRIES: dict[str, Label] = {
    "FRA": Label("France", "France"),
    "BEL": Label("Belgium", "Belgique"),
    "CHE": Label("Switzerland", "Suisse"),
    "LUX": Label("Luxembourg", "Luxembourg"),
}

ACCESS_RIGHTS: dict[str, Label] = {
    "PUBLIC": Label("public", "public"),
    "RESTRICTED": Label("restricted", "restreint"),
    "NON_PUBLIC": Label("non-public", "non public"),
}

AVAILABILITIES: dict[str, Label] = {
    "AVAILABLE": Label("available", "disponible"),
    "STABLE": Label("stable", "stable"),
    "EXPERIMENTAL": Label("experimental", "expérimental"),
    "TEMPORARY": Label("temporary", "temporaire"),
}

LICENCE_TYPES: dict[str, Label] = {
    "Attribution": Label("Attribution", "Attribution"),
    "ShareAlike": Label("Share alike", "Partage à l’identique"),
    "PublicDomain": Label("Public domain", "Domaine public"),
}

PUBLISHER_TYPES: dict[str, Label] = {
    "LocalAuthority": Label("Local Authority", "Autorité locale"),
    "RegionalAuthority": Label("Regional Authority", "Autorité régionale"),
    "NationalAuthority": Label("National authority", "Autorité nationale"),
    "PublicBody": Label("Public body", "Organisme public"),
}


@dataclass(frozen=True)
class FileType:
    """An EU file type and the IANA media type a file of that type is served with."""

    label: str
    media_type: str
    extensions: tuple[str, ...]


FILE_TYPES: dict[str, FileType] = {
    "CSV": FileType("CSV", "text/csv", ("csv",)),
    "TSV": FileType("TSV", "text/tab-separated-values", ("tsv",)),
    "JSON": FileType("JSON", "application/json", ("json",)),
    "GEOJSON": FileType("GeoJSON", "application/geo+json", ("geojson",)),
    "XLSX": FileType("XLSX", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ("xlsx",)),
    "XLS": FileType("XLS", "application/vnd.ms-excel", ("xls",)),
    "ODS": FileType("ODS", "application/vnd.oasis.opendocument.spreadsheet", ("ods",)),
    "PARQUET": FileType("Parquet", "application/vnd.apache.parquet", ("parquet",)),
    "ZIP": FileType("ZIP", "application/zip", ("zip",)),
    "PDF": FileType("PDF", "application/pdf", ("pdf",)),
    "HTML": FileType("HTML", "text/html", ("html", "htm")),
    "XML": FileType("XML", "application/xml", ("xml",)),
    "RDF_TURTLE": FileType("RDF Turtle", "text/turtle", ("ttl",)),
    "JSON_LD": FileType("JSON-LD", "application/ld+json", ("jsonld",)),
    "RDF_XML": FileType("RDF/XML", "application/rdf+xml", ("rdf",)),
}


@dataclass(frozen=True)
class Licence:
    """A licence the catalogue offers: its URI in DCAT (the EU authority's where one exists), names, ADMS types,
    and ``url``, where people read its text (CKAN's ``license_url``, a Data Package's licence ``path``)."""

    uri: str
    title: Label
    types: tuple[str, ...]
    eu_authority: bool
    url: str


# Keyed by the catalogue's licence ids (CKAN's, as data.gouv.fr and ckanapi know them).
LICENCES: dict[str, Licence] = {
    # Licence Ouverte has no entry in the EU licence table: its own document, as data.gouv.fr links it.
    "etalab-2.0": Licence(
        uri="https://www.etalab.gouv.fr/wp-content/uploads/2017/04/ETALAB-Licence-Ouverte-v2.0.pdf",
        title=Label(
            "Open Licence / Licence Ouverte version 2.0 (Etalab)", "Licence Ouverte / Open Licence version 2.0"
        ),
        types=("Attribution",),
        eu_authority=False,
        url="https://www.etalab.gouv.fr/wp-content/uploads/2017/04/ETALAB-Licence-Ouverte-v2.0.pdf",
    ),
    "odc-odbl": Licence(
        uri=LICENCE_SCHEME + "/ODC_BL",
        title=Label("Open Data Commons Open Database License 1.0", "Open Data Commons Open Database License 1.0"),
        types=("Attribution", "ShareAlike"),
        eu_authority=True,
        url="https://opendatacommons.org/licenses/odbl/1-0/",
    ),
    "cc-by-4.0": Licence(
        uri=LICENCE_SCHEME + "/CC_BY_4_0",
        title=Label("Creative Commons Attribution 4.0 International", "Creative Commons Attribution 4.0 International"),
        types=("Attribution",),
        eu_authority=True,
        url="https://creativecommons.org/licenses/by/4.0/",
    ),
    "cc-by-sa-4.0": Licence(
        uri=LICENCE_SCHEME + "/CC_BYSA_4_0",
        title=Label(
            "Creative Commons Attribution-ShareAlike 4.0 International",
            "Creative Commons Attribution – Partage dans les mêmes conditions 4.0 International",
        ),
        types=("Attribution", "ShareAlike"),
        eu_authority=True,
        url="https://creativecommons.org/licenses/by-sa/4.0/",
    ),
    "cc0-1.0": Licence(
        uri=LICENCE_SCHEME + "/CC0",
        title=Label("Creative Commons CC0 1.0 Universal", "Creative Commons CC0 1.0 Universel"),
        types=("PublicDomain",),
        eu_authority=True,
        url="https://creativecommons.org/publicdomain/zero/1.0/",
    ),
}

_MEDIA_TYPE_TO_FILE_TYPE = {ft.media_type: code for code, ft in FILE_TYPES.items()}
_ALIASES = {"geo+json": "GEOJSON", "xlsx": "XLSX", "excel": "XLS", "turtle": "RDF_TURTLE", "json-ld": "JSON_LD"}


def file_type_for(format_or_media_type: str | None) -> str | None:
    """The EU file-type code for a format name ("CSV", "geojson"), a media type or an extension; None if unknown."""
    if not format_or_media_type:
        return None
    value = format_or_media_type.strip()
    media_type = value.split(";", 1)[0].strip().lower()
    if media_type in _MEDIA_TYPE_TO_FILE_TYPE:
        return _MEDIA_TYPE_TO_FILE_TYPE[media_type]
    code = value.upper().replace("-", "_").lstrip(".")
    if code in FILE_TYPES:
        return code
    lowered = value.lower().lstrip(".")
    if lowered in _ALIASES:
        return _ALIASES[lowered]
    for code, file_type in FILE_TYPES.items():
        if lowered in file_type.extensions:
            return code
    return None


def media_type_uri(media_type: str) -> str:
    """The IANA registry URL of a media type (``text/csv`` -> ``https://www.iana.org/assignments/media-types/text/csv``)."""
    return IANA_MEDIA_TYPES + media_type.split(";", 1)[0].strip().lower()
