"""Errors a user sees. Each says what went wrong and what to do about it."""

from __future__ import annotations


class OpsagentError(Exception):
    """Base class for errors that are reported to the user as one clear line."""


class ConfigError(OpsagentError):
    """The settings are invalid or point at something unusable."""


class EmbeddingModelError(OpsagentError):
    """The embedding model is unknown, not installed, or does not match a collection."""


class StoreError(OpsagentError):
    """The vector store cannot be reached or is in an unexpected state."""


class IngestError(OpsagentError):
    """A path given to ingest cannot be used at all (as opposed to one bad file, which is skipped)."""
