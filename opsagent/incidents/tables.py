"""The schema, as SQLAlchemy Core tables (the migrations in migrations/ create exactly this).

Times are epoch seconds (float): portable between SQLite and Postgres, and what the knowledge code uses.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

metadata = MetaData()

incidents = Table(
    "incidents",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(32), nullable=False),
    Column("fingerprint", String(200), nullable=False),
    Column("episode", Integer, nullable=False, server_default="1"),
    Column("status", String(16), nullable=False),  # firing | resolved
    Column("alert_name", String(500), nullable=False),
    Column("severity", String(64)),
    Column("service", String(200)),
    Column("summary", Text, nullable=False),
    Column("alert", JSON, nullable=False),  # the latest normalised Alert (what triage reads)
    Column("starts_at", Float),
    Column("ends_at", Float),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    Column("resolved_at", Float),
    Column("deliveries", Integer, nullable=False, server_default="1"),
    Column("triage_status", String(16), nullable=False),  # queued | running | done | failed | skipped
    Column("diagnosis", JSON),  # the latest Diagnosis
    Column("diagnosed_at", Float),
    # At most one open (firing) incident per alert identity: concurrent deliveries of a new alert on
    # several replicas cannot open two incidents, whatever the isolation level.
    Index(
        "ix_incidents_open_fingerprint",
        "source",
        "fingerprint",
        unique=True,
        sqlite_where=text("status = 'firing'"),
        postgresql_where=text("status = 'firing'"),
    ),
    Index("ix_incidents_fingerprint", "source", "fingerprint", "episode"),
    Index("ix_incidents_status_created", "status", "created_at"),
    Index("ix_incidents_service", "service"),
)

# Every alert received, as received: nothing a sender delivered is lost, even a duplicate.
alert_events = Table(
    "alert_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", Integer, ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    Column("source", String(32), nullable=False),
    Column("delivery_id", String(200)),
    Column("status", String(16), nullable=False),
    Column("outcome", String(16), nullable=False),  # created | repeat | resolved | stale | ...
    Column("received_at", Float, nullable=False),
    Column("alert", JSON, nullable=False),
    Index("ix_alert_events_incident", "incident_id", "id"),
)

# Sender-side delivery ids (PagerDuty X-Webhook-Id, Standard Webhooks webhook-id): a retried delivery
# is acknowledged again but not processed again.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("source", String(32), primary_key=True),
    Column("delivery_id", String(200), primary_key=True),
    Column("received_at", Float, nullable=False),
    Column("alerts", Integer, nullable=False),
)

incident_events = Table(
    "incident_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", Integer, ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    Column("at", Float, nullable=False),
    Column("kind", String(32), nullable=False),
    Column("message", Text, nullable=False),
    Column("data", JSON),
    Index("ix_incident_events_incident", "incident_id", "id"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),  # triage | notify
    Column("incident_id", Integer, ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    # One job per purpose (e.g. "triage:<incident>:1"): the database refuses a second one, so a firing
    # episode is queued for triage exactly once however many replicas received it.
    Column("dedup_key", String(200), nullable=False, unique=True),
    Column("status", String(16), nullable=False),  # queued | running | done | failed
    Column("payload", JSON),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("max_attempts", Integer, nullable=False),
    Column("available_at", Float, nullable=False),
    Column("lease_owner", String(100)),
    Column("lease_expires_at", Float),
    Column("created_at", Float, nullable=False),
    Column("started_at", Float),
    Column("finished_at", Float),
    Column("last_error", Text),
    Index("ix_jobs_claim", "status", "available_at"),
    Index("ix_jobs_incident", "incident_id"),
)

diagnoses = Table(
    "diagnoses",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", Integer, ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False),
    Column("job_id", Integer, ForeignKey("jobs.id", ondelete="SET NULL"), unique=True),
    Column("created_at", Float, nullable=False),
    Column("mode", String(16), nullable=False),
    Column("model", String(200)),
    Column("prompt_version", String(64)),
    Column("diagnosis", JSON, nullable=False),
    Index("ix_diagnoses_incident", "incident_id", "id"),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),  # sha256 hex; the token is never stored
    Column("prefix", String(16), nullable=False),  # shown in listings so a token can be recognised
    Column("scopes", String(200), nullable=False),  # space-separated
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float),
    Column("last_used_at", Float),
    Column("revoked_at", Float),
)

conversations = Table(
    "conversations",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("token_id", Integer, ForeignKey("api_tokens.id", ondelete="SET NULL")),
    Column("title", String(200), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

chat_messages = Table(
    "chat_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("conversation_id", String(36), ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
    Column("role", String(16), nullable=False),  # user | assistant
    Column("content", Text, nullable=False),
    Column("sources", JSON),
    Column("created_at", Float, nullable=False),
    Index("ix_chat_messages_conversation", "conversation_id", "id"),
)
