"""Incidents: the normalised alert model (store and queue come with the API milestone)."""
