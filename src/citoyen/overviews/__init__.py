"""Pages about a place that gather what several domains know of it (the home map's neighbourhood panel).

The core (territory) imports no domain, so this composition sits above the domains, calling their services;
no domain imports it (pyproject's import contracts)."""
