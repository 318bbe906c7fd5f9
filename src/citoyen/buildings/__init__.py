"""Buildings: places with meters (SensorThings Things) and their attributes, and the residents linked to them."""
