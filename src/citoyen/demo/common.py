"""What every part of the demo city shares: the demo accounts (to log in with) and their e-mail domain, and the
progress callback the build reports through. Kept apart from the generator, which calls every part."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from citoyen.people.service import Role

DEMO_DOMAIN = "demo.citoyen.example"

ProgressCallback = Callable[[str, int, int], None]


@dataclass(frozen=True)
class DemoAccount:
    role: Role
    email: str
    password: str
    display_name: str
    department: str | None = None


DEMO_ACCOUNTS = [
    DemoAccount(Role.CITIZEN, f"citoyenne@{DEMO_DOMAIN}", "velo-marche-quartier", "Camille du 11e"),
    DemoAccount(Role.MODERATOR, f"moderation@{DEMO_DOMAIN}", "moderer-debat-calme", "Modération"),
    DemoAccount(Role.STAFF, f"voirie@{DEMO_DOMAIN}", "nid-de-poule-rebouche", "Service voirie", "voirie"),
    DemoAccount(Role.ADMIN, f"admin@{DEMO_DOMAIN}", "mairie-ville-lumiere", "Administration"),
    DemoAccount(Role.PUBLISHER, f"donnees@{DEMO_DOMAIN}", "catalogue-licence-ouverte", "Données ouvertes", "numerique"),
]
ADMIN_ACCOUNT = next(account for account in DEMO_ACCOUNTS if account.role is Role.ADMIN)
