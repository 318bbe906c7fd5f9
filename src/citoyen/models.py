"""Every domain's tables, imported once so Alembic and the tests see the whole schema."""

from citoyen.db import Base
from citoyen.people import models as people_models
from citoyen.territory import models as territory_models

metadata = Base.metadata

__all__ = ["metadata", "people_models", "territory_models"]
