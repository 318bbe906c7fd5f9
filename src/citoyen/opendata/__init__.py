"""Open data: the catalogue of datasets the city publishes, and the privacy layer on counts about people."""
