"""Errors for alert payloads that cannot be used (422 at the API, one line in the CLI)."""

from __future__ import annotations

from pydantic import ValidationError

from opsagent.errors import OpsagentError


class AlertParseError(OpsagentError):
    """The payload is not an alert we understand; the message says which field is wrong."""


def describe_validation_error(exc: ValidationError) -> str:
    """The first few problems of a pydantic error, as `field: message` in one line."""
    parts = [f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}" for err in exc.errors()[:3]]
    more = len(exc.errors()) - 3
    # Field names come from the sender's JSON: keep the message on one line whatever they contain.
    text = "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")
    return " ".join(text.split())
