"""The HTTP API (FastAPI): webhooks, incidents, search, knowledge upload, chat, health, metrics."""
