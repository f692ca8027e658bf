"""Alembic environment: migrations run on the connection `opsagent.incidents.db.upgrade` hands over."""

from __future__ import annotations

from alembic import context

from opsagent.incidents.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only `opsagent db upgrade` runs migrations
    raise RuntimeError("Run migrations with `opsagent db upgrade` (or opsagent.incidents.db.upgrade).")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    compare_type=True,
)
context.run_migrations()
