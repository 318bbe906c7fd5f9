"""Every domain's tables, imported once so Alembic and the tests see the whole schema."""

from citoyen import throttle
from citoyen.alerts import models as alerts_models
from citoyen.buildings import models as buildings_models
from citoyen.db import Base
from citoyen.feed import models as feed_models
from citoyen.indicators import models as indicators_models
from citoyen.mobility import models as mobility_models
from citoyen.notifications import models as notifications_models
from citoyen.opendata import models as opendata_models
from citoyen.opinions import models as opinions_models
from citoyen.participation import models as participation_models
from citoyen.participation.budgets import models as budgets_models
from citoyen.participation.debate import models as debate_models
from citoyen.participation.follows import models as follows_models
from citoyen.participation.moderation import models as moderation_models
from citoyen.participation.surveys import models as surveys_models
from citoyen.people import models as people_models
from citoyen.projects import models as projects_models
from citoyen.reports import models as reports_models
from citoyen.sensing import models as sensing_models
from citoyen.territory import models as territory_models
from citoyen.verification import models as verification_models

metadata = Base.metadata

__all__ = [
    "alerts_models",
    "budgets_models",
    "buildings_models",
    "debate_models",
    "feed_models",
    "follows_models",
    "indicators_models",
    "metadata",
    "mobility_models",
    "moderation_models",
    "notifications_models",
    "opendata_models",
    "opinions_models",
    "participation_models",
    "people_models",
    "projects_models",
    "reports_models",
    "sensing_models",
    "surveys_models",
    "territory_models",
    "throttle",
    "verification_models",
]
