"""The personal-data registry: every domain that stores personal data registers how to export and
erase it, so a person's export is complete and their erasure leaves nothing behind."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.people.models import Person

Exporter = Callable[[AsyncSession, Person], Awaitable[dict[str, list[dict[str, Any]]]]]
Eraser = Callable[[AsyncSession, Person], Awaitable[None]]


@dataclass(frozen=True)
class PersonalDataProvider:
    """`export` returns named tables (lists of flat records); `erase` removes or detaches the data."""

    domain: str
    description: str
    export: Exporter
    erase: Eraser


class PersonalDataRegistry:
    def __init__(self) -> None:
        self._providers: dict[str, PersonalDataProvider] = {}

    def register(self, provider: PersonalDataProvider) -> None:
        if provider.domain in self._providers:
            raise ValueError(f"a personal-data provider is already registered for {provider.domain!r}")
        self._providers[provider.domain] = provider

    @property
    def providers(self) -> list[PersonalDataProvider]:
        return list(self._providers.values())
