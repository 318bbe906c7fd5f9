"""Indicators: what the city's sensors, reports and proposals say about each quartier, at a glance."""
