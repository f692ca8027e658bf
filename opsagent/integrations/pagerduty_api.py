"""PagerDuty REST API v2: add a note to an incident (POST /incidents/{id}/notes)."""

from __future__ import annotations

import re

import httpx

from opsagent.agent.redaction import bound_text, redact_text
from opsagent.incidents.notify import NotificationError, status_error

__all__ = ["NOTE_MAX_CHARS", "add_pagerduty_note", "valid_incident_id"]

NOTE_MAX_CHARS = 25_000
# PagerDuty ids are short alphanumerics (PXP12GZ, Q0RIJJZL24RC6W); anything else could rewrite the path.
_INCIDENT_ID_RE = re.compile(r"[A-Za-z0-9]{1,64}")
_ACCEPT = "application/vnd.pagerduty+json;version=2"


def valid_incident_id(incident_id: str) -> bool:
    """Whether `incident_id` looks like a PagerDuty id and is safe to put in a URL path."""
    return _INCIDENT_ID_RE.fullmatch(incident_id) is not None


def _reason(response: httpx.Response) -> str:
    """PagerDuty's `error.message` and `error.errors`, one short line."""
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        return ""
    if not isinstance(error, dict):
        return ""
    parts = [str(error.get("message") or "")]
    details = error.get("errors")
    if isinstance(details, list):
        parts += [str(d) for d in details[:3]]
    return " ".join("; ".join(p for p in parts if p).split())[:300]


def add_pagerduty_note(
    client: httpx.Client,
    *,
    api_url: str,
    token: str,
    from_email: str,
    incident_id: str,
    content: str,
    timeout: float | None = None,
) -> None:
    """Add `content` (bounded to 25,000 chars) as a note; raise NotificationError if PagerDuty refuses."""
    if not valid_incident_id(incident_id):
        raise NotificationError(f"Refusing PagerDuty incident id {incident_id[:80]!r}: not alphanumeric.")
    response = client.post(
        f"{api_url.rstrip('/')}/incidents/{incident_id}/notes",
        # Redacted here too, whoever built the note: it leaves for a third party.
        json={"note": {"content": bound_text(redact_text(content), NOTE_MAX_CHARS)}},
        headers={
            "Authorization": f"Token token={token}",
            "From": from_email,
            "Accept": _ACCEPT,
            "Content-Type": "application/json",
        },
        timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout,
    )
    if response.is_success:
        return
    raise status_error("PagerDuty", response, _reason(response))
