"""What every SensorThings service call takes besides the session (who asks, the request's limits and
event bus) and the refusal it raises, in the standard's error format. Its own module so that every
subject module of the service can import it without importing another.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from citoyen.sensing.events import SensingEvent, SensingEventBus
from citoyen.sensing.validation import Limits
from citoyen.territory.service import TerritoryIndexCache


class StaError(Exception):
    """An answer other than success, in the SensorThings error format: {"code", "type": "error", "message"}."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Access:
    """Who is asking: a signed-in person (owner of personal Things) or staff, who see everything."""

    person_id: int | None = None
    is_staff: bool = False


@dataclass
class Context:
    """What a request's service call needs besides the session."""

    access: Access
    base_url: str  # "http://host:port", no trailing slash
    default_top: int = 100
    max_top: int = 10_000
    bus: SensingEventBus | None = None
    territory: TerritoryIndexCache | None = None
    events: list[SensingEvent] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)  # sizes of what a client may write
    max_observations: int = 50_000  # Observations one CreateObservations request may carry
