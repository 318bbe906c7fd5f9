"""Foresight: outbreak detectors, forecasts and the space-time scan, as pure computation on series and events
(issue 15). The `citoyen foresight` commands run them on CSV files; nothing here touches the database."""
