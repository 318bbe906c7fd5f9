"""Early warning in the running app: alerts on sensor series and report counts, clusters of reports, and 7-day
forecasts of the indicators and Datastreams (issue 15). The maths is `citoyen.foresight`'s."""
