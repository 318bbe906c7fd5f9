"""Urban sensing: the OGC SensorThings API v1.1 server and its storage."""
