from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from citoyen.people import service as people


@pytest.fixture
async def token(session: AsyncSession) -> str:
    """An API token with the sensing:write scope, for sending readings as sensors do."""
    _token, secret = await people.create_api_token(session, "Sensor gateway", ["sensing:write"])
    await session.commit()
    return secret
