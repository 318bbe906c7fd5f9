"""The demo city: Paris and its 80 quartiers, the city's departments, four demo accounts to log in
with, and a few thousand pseudonymous residents so that later features have volume.

Deterministic: the same seed gives the same city (only dates are relative to the day it is built)."""

from __future__ import annotations

import json
import logging
import random
from datetime import timedelta
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.config import Settings
from citoyen.db import utcnow
from citoyen.demo.alerts import build_demo_alerts
from citoyen.demo.budgets import build_demo_budgets
from citoyen.demo.buildings import build_demo_buildings
from citoyen.demo.common import ADMIN_ACCOUNT, DEMO_ACCOUNTS, DEMO_DOMAIN, ProgressCallback
from citoyen.demo.debate import build_demo_debate
from citoyen.demo.feed import build_demo_feed
from citoyen.demo.mobility import build_demo_mobility
from citoyen.demo.networks import build_demo_networks, build_demo_population
from citoyen.demo.opinions import build_demo_opinions
from citoyen.demo.participation import build_demo_participation
from citoyen.demo.projects import build_demo_projects
from citoyen.demo.reports import build_demo_reports
from citoyen.demo.sensing import build_demo_sensors
from citoyen.indicators import service as indicators
from citoyen.opendata.publication import publish_platform
from citoyen.people import service as people
from citoyen.people.models import ConsentRecord, Department, Person, Role
from citoyen.territory import service as territory

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).parent / "data"
QUARTIERS_FILE = DATA_DIR / "paris-quartiers.geojson"
# Real Paris street names with points placed by us (not the BAN's): see data/README.md.
ADDRESSES_FILE = DATA_DIR / "addresses-paris-demo.csv"

# (code, name, English name): the departments of a French city's technical services.
DEPARTMENTS = [
    ("voirie", "Voirie et déplacements", "Roads and travel"),
    ("proprete", "Propreté et eau", "Cleanliness and water"),
    ("espaces-verts", "Espaces verts et environnement", "Green spaces and environment"),
    ("eclairage", "Éclairage public", "Street lighting"),
    ("mobilite", "Mobilités et stationnement", "Mobility and parking"),
    ("energie", "Énergie et bâtiments", "Energy and buildings"),
    ("participation", "Démocratie participative", "Participatory democracy"),
    ("numerique", "Numérique et données ouvertes", "Digital services and open data"),
]


# First names common in France across generations and origins, for realistic pseudonyms.
FIRST_NAMES = [
    "Camille",
    "Léa",
    "Manon",
    "Chloé",
    "Inès",
    "Jade",
    "Louise",
    "Emma",
    "Alice",
    "Lina",
    "Zoé",
    "Sarah",
    "Yasmine",
    "Amina",
    "Fatou",
    "Nour",
    "Clara",
    "Anaïs",
    "Hugo",
    "Lucas",
    "Louis",
    "Gabriel",
    "Jules",
    "Adam",
    "Nathan",
    "Arthur",
    "Noah",
    "Mohamed",
    "Rayan",
    "Karim",
    "Malik",
    "Thomas",
    "Paul",
    "Sacha",
    "Théo",
    "Maxime",
    "Yanis",
    "Ibrahim",
    "Mamadou",
    "Omar",
    "Élise",
    "Margaux",
    "Juliette",
    "Océane",
    "Marie",
    "Jeanne",
    "Sophie",
    "Nadia",
    "Leïla",
    "Bernard",
    "Michel",
    "Françoise",
    "Monique",
    "Jacques",
    "Christiane",
    "Alain",
    "Martine",
    "Philippe",
    "Sylvie",
    "Pascal",
    "Nathalie",
]
PSEUDONYM_STYLES = (
    "{first}{initial}",
    "{first}_{quartier}",
    "{first}.{initial}{number}",
    "{first}-du-{arrondissement}e",
    "{first}{number}",
)


# What `build_demo(..., only=...)` may choose. "participation" is its four pieces: the processes and proposals, and on
# them the debate, the participatory budget (residents' list, ballots, survey) and the opinion map; a test of one piece
# names it alone (the budget's few hundred ballots were most of a participation build).
PARTICIPATION_PARTS = frozenset({"proposals", "debate", "budget", "opinions"})
DEMO_PARTS = frozenset(
    {"reports", "sensors", "participation", "indicators", "projects", "buildings", "feed", "mobility", "alerts"}
    | PARTICIPATION_PARTS
)
# Parts built on another's rows: asking for one builds those too.
PART_NEEDS: dict[str, frozenset[str]] = {part: frozenset({"proposals"}) for part in PARTICIPATION_PARTS - {"proposals"}}


def demo_parts(only: frozenset[str] | None) -> frozenset[str]:
    """The parts `build_demo(..., only=only)` builds: `only`'s, "participation" spelt out, with what they need."""
    if only is None:
        return DEMO_PARTS
    unknown = only - DEMO_PARTS
    if unknown:
        raise ValueError(f"unknown demo parts: {sorted(unknown)}")
    parts = set(only)
    if "participation" in parts:
        parts |= PARTICIPATION_PARTS
    for part in list(parts):
        parts |= PART_NEEDS.get(part, frozenset())
    return frozenset(parts)


def _no_progress(step: str, done: int, total: int) -> None:
    return None


async def demo_is_built(session: AsyncSession) -> bool:
    admin_email = ADMIN_ACCOUNT.email
    return (await session.execute(select(Person.id).where(Person.email == admin_email))).first() is not None


async def build_demo(
    session: AsyncSession,
    settings: Settings,
    progress: ProgressCallback = _no_progress,
    *,
    with_open_data: bool = True,
    only: frozenset[str] | None = None,
) -> None:
    """Fill an empty database with the demo city (the caller commits). `with_open_data=False` leaves the catalogue
    empty: the tests of the other parts build the city dozens of times and publishing is a quarter of a build.
    `only` (a subset of DEMO_PARTS) builds the territory, departments, accounts and residents and those parts
    alone (with the parts they are built on, `demo_parts`), for the tests of one part."""
    parts = demo_parts(only)

    def wanted(part: str) -> bool:
        return part in parts

    rng = random.Random(settings.demo_seed)
    now = utcnow()

    progress("territory", 0, 1)
    features = territory.parse_neighbourhoods(
        json.loads(QUARTIERS_FILE.read_text(encoding="utf-8")), name_field="l_qu", code_field="c_quinsee"
    )
    await territory.replace_neighbourhoods(session, "Paris", features, source="Ville de Paris open data (ODbL)")
    await build_demo_population(session)
    with ADDRESSES_FILE.open("rb") as addresses:
        await territory.import_addresses(session, addresses, ADDRESSES_FILE.name + " (points placed for the demo)")
    progress("territory", 1, 1)

    departments: dict[str, Department] = {}
    for code, name, name_en in DEPARTMENTS:
        departments[code] = await people.create_department(
            session, code, name, f"{code}@{DEMO_DOMAIN}", name_en=name_en
        )

    for account in DEMO_ACCOUNTS:
        person = await people.create_person(
            session, account.email, account.password, account.display_name, role=account.role
        )
        if account.department:
            person.department_id = departments[account.department].id
        person.created_at = now - timedelta(days=400)
    await session.flush()

    quartier_names = [feature.name for feature in features]
    total = settings.demo_citizens
    used_names: set[str] = set()
    batch: list[dict[str, object]] = []
    consent_rows: list[dict[str, object]] = []
    for index in range(1, total + 1):
        first = rng.choice(FIRST_NAMES)
        quartier = rng.choice(quartier_names).split("-")[0].split(" ")[-1]
        name = rng.choice(PSEUDONYM_STYLES).format(
            first=first,
            initial=chr(ord("A") + rng.randrange(26)),
            number=rng.randrange(1, 99),
            quartier=quartier,
            arrondissement=rng.randrange(1, 21),
        )
        while name in used_names:
            name = f"{name}{rng.randrange(10)}"
        used_names.add(name)
        created_at = now - timedelta(days=rng.randrange(1, 730), minutes=rng.randrange(1440))
        batch.append(
            {
                "email": f"resident{index:05d}@{DEMO_DOMAIN}",
                "display_name": name,
                "password_hash": None,  # generated residents cannot log in; the demo accounts can
                "role": Role.CITIZEN,
                "locale": "fr" if rng.random() < 0.85 else "en",
                "is_active": True,
                "created_at": created_at,
            }
        )
        if len(batch) == 500 or index == total:
            ids = (await session.execute(insert(Person).returning(Person.id), batch)).scalars().all()
            for person_id, row in zip(ids, batch, strict=True):
                consent_rows += _demo_consents(rng, int(person_id), row["created_at"])
            batch = []
            progress("residents", index, total)
    if consent_rows:
        await session.execute(insert(ConsentRecord), consent_rows)
    await session.flush()

    if wanted("reports"):
        await build_demo_reports(session, settings, now, progress)

    if wanted("sensors"):
        await build_demo_sensors(session, settings, now, progress)

    if wanted("proposals"):
        progress("participation", 0, 1)
        await build_demo_participation(session, settings, now)
        progress("participation", 1, 1)

    if wanted("debate"):
        progress("debate", 0, 1)
        await build_demo_debate(session, settings, now)
        progress("debate", 1, 1)

    if wanted("budget"):
        progress("participatory budget", 0, 1)
        await build_demo_budgets(session, settings, now)
        progress("participatory budget", 1, 1)

    if wanted("opinions"):
        progress("opinion map", 0, 1)
        await build_demo_opinions(session, now)
        progress("opinion map", 1, 1)

    if wanted("buildings"):
        progress("buildings", 0, 1)
        await build_demo_buildings(session, settings, now, progress)
        # The quartiers' water and energy network meters (simulated), for the per-resident indicators.
        await build_demo_networks(session, settings, now, progress)

    if wanted("indicators") or wanted("buildings"):
        # The history was stored in bulk, without events: the indicators' rollups are made from it at once.
        progress("indicators", 0, 1)
        await indicators.rebuild(session)
        progress("indicators", 1, 1)

    if wanted("alerts"):
        # A planted cluster of reports (labelled so), then the detectors and the scan; forecasts come later.
        progress("alerts", 0, 1)
        await build_demo_alerts(session, now, settings.demo_seed, with_reports=wanted("reports"))
        progress("alerts", 1, 1)

    if wanted("projects"):
        progress("urban projects", 0, 1)
        await build_demo_projects(session, settings, now)
        progress("urban projects", 1, 1)

    if wanted("feed"):
        progress("neighbourhood feeds", 0, 1)
        await build_demo_feed(session, now, rng)
        if wanted("indicators"):
            # Last week's figures judged on the demo's simulated data, as the housekeeping round does every week:
            # the quartiers where one left its usual range get an item in their feed (labelled simulated).
            await indicators.detect_changes(session, now, simulated=True)
        progress("neighbourhood feeds", 1, 1)

    if wanted("mobility"):
        progress("carpool board", 0, 1)
        await build_demo_mobility(session, now, rng, total)
        progress("carpool board", 1, 1)

    if not with_open_data or only is not None:
        return
    # The catalogue is filled from the start: the platform publishes its own data (the app refreshes it later).
    progress("open data", 0, 1)
    published = await publish_platform(session, settings, now)
    for outcome in published.failed:
        log.warning("demo: the dataset %s was not published: %s", outcome.name, outcome.error)
    progress("open data", 1, 1)


def _demo_consents(rng: random.Random, person_id: int, since: object) -> list[dict[str, object]]:
    """Roughly what opt-in rates look like: a third want e-mail news, fewer allow research use."""
    rows: list[dict[str, object]] = []
    for purpose, rate in (("email_notifications", 0.35), ("research", 0.15)):
        if rng.random() < rate:
            rows.append(
                {
                    "person_id": person_id,
                    "purpose": purpose,
                    "granted": True,
                    "text_version": people.CONSENT_PURPOSES[purpose].version,
                    "recorded_at": since,
                }
            )
    return rows
