"""Triage results go out to Slack and as PagerDuty incident notes, each target with its own retries.

Delivery is best effort: `Notifier.send` never raises for a target that cannot be reached, it returns one
`NotificationResult` per target for the caller to record on the incident timeline. Everything in a notice
comes from an alert or a diagnosis, so it is untrusted: the builders redact secrets (a diagnosis can quote
log lines) and bound every field before it leaves this machine.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from types import TracebackType
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_base, wait_random_exponential

from opsagent.agent.diagnosis import Diagnosis
from opsagent.agent.redaction import bound_text, redact_diagnosis, redact_text
from opsagent.config import Settings
from opsagent.errors import OpsagentError

__all__ = [
    "MAX_RETRY_AFTER_SECONDS",
    "NotificationError",
    "NotificationResult",
    "Notifier",
    "Target",
    "TriageNotice",
    "notice_text",
    "render_parameters",
    "retry_after_seconds",
    "retry_delay",
    "status_error",
]

log = logging.getLogger(__name__)

Target = Literal["slack", "pagerduty"]
MAX_RETRY_AFTER_SECONDS = 30.0
_backoff = wait_random_exponential(multiplier=0.5, max=8)
# Transport failures worth another try; UnsupportedProtocol, proxy and local protocol errors are config bugs.
_RETRYABLE_TRANSPORT: tuple[type[BaseException], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)


class TriageNotice(BaseModel):
    """What a notification says: the incident, its alert and the diagnosis (all of it untrusted text)."""

    incident_id: int
    alert_name: str
    status: str
    severity: str | None = None
    service: str | None = None
    source: str
    pagerduty_incident_id: str | None = None
    url: str | None = None
    diagnosis: Diagnosis


class NotificationResult(BaseModel):
    """How delivery to one target went; `detail` never contains the webhook URL or the API token."""

    target: Target
    ok: bool
    attempts: int
    detail: str


class NotificationError(OpsagentError):
    """A notification was not delivered; `retryable` says whether trying again may help."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.retry_after = retry_after


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a `Retry-After` header (fractions accepted); None when absent or an HTTP date."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None  # an HTTP date: rare enough to fall back to backoff
    return max(seconds, 0.0) if math.isfinite(seconds) else None


def status_error(service: str, response: httpx.Response, reason: str) -> NotificationError:
    """The error for a non-2xx answer: 429 and 5xx are retryable, any other status is permanent."""
    status = response.status_code
    retryable = status == 429 or status >= 500
    retry_after = retry_after_seconds(response.headers.get("retry-after")) if retryable else None
    shown = f": {reason}" if reason else ""
    return NotificationError(
        f"{service} answered HTTP {status}{shown}",
        retryable=retryable,
        status=status,
        retry_after=retry_after,
    )


def retry_delay(exc: BaseException | None) -> float | None:
    """The server's Retry-After for this failure, capped at MAX_RETRY_AFTER_SECONDS; None if it sent none."""
    if isinstance(exc, NotificationError) and exc.retry_after is not None:
        return min(exc.retry_after, MAX_RETRY_AFTER_SECONDS)
    return None


def _plain(text: str, limit: int) -> str:
    # Redact before bounding: a cut through a secret would leave a fragment no pattern recognises.
    return bound_text(redact_text(text), limit)


def _line(text: str, limit: int) -> str:
    return _plain(" ".join(text.split()), limit)


def render_parameters(parameters: dict[str, Any], limit: int = 300) -> str:
    """`name=value, ...` of an action's parameters, redacted and bounded."""
    return _line(", ".join(f"{key}={value}" for key, value in parameters.items()), limit)


def notice_text(notice: TriageNotice) -> str:
    """The plain-text summary: the PagerDuty note, and Slack's fallback text."""
    # Whole-diagnosis redaction first: multi-line secrets (PEM bodies, Secret manifests) in an excerpt are
    # only recognisable before the per-field cleaning below joins the lines.
    diagnosis = redact_diagnosis(notice.diagnosis)
    facts = ", ".join(
        f"{label} {_line(value, 100)}"
        for label, value in (("severity", notice.severity), ("service", notice.service))
        if value
    )
    lines = [
        f"opsagent triage of incident #{notice.incident_id}: {_line(notice.alert_name, 200)} "
        f"({_line(notice.status, 40)}) from {_line(notice.source, 60)}" + (f", {facts}" if facts else ""),
        "",
        f"Summary: {_plain(diagnosis.summary, 2000)}",
        f"Probable root cause: {_plain(diagnosis.probable_root_cause, 2000)}",
        f"Confidence: {diagnosis.confidence.value:.0%} ({_line(diagnosis.confidence.reason, 500)})",
        "Runbook: "
        + (_line(diagnosis.runbook.render(), 300) if diagnosis.runbook else "none found")
        + f" · {diagnosis.mode.value} diagnosis",
    ]
    if diagnosis.evidence:
        lines += ["", "Evidence:"]
        for item in diagnosis.evidence[:10]:
            lines.append(f"- [{item.kind}] {_line(item.citation.render(), 300)}")
            lines.append(f"  {_line(item.excerpt, 500)}")
    if diagnosis.next_steps:
        lines += ["", "Next steps:"]
        lines += [f"- {_line(step, 500)}" for step in diagnosis.next_steps[:10]]
    if diagnosis.proposed_actions:
        lines += ["", "Proposed actions (each needs approval in opsagent):"]
        for action in diagnosis.proposed_actions[:10]:
            missing = (
                f" [missing: {_line(', '.join(action.missing_parameters), 200)}]"
                if action.missing_parameters
                else ""
            )
            lines.append(f"- {_line(action.action_id, 100)}({render_parameters(action.parameters)}){missing}")
            lines.append(f"  why: {_line(action.why, 500)}")
    if notice.url:
        lines += ["", f"Incident: {_line(notice.url, 2000)}"]
    return "\n".join(lines)


def _is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, NotificationError):
        return exc.retryable
    return isinstance(exc, _RETRYABLE_TRANSPORT)


class Notifier:
    """Posts triage notices to every configured target; one client, one retry policy per target."""

    def __init__(
        self, settings: Settings, client: httpx.Client | None = None, *, wait: wait_base | None = None
    ) -> None:
        self._settings = settings
        self._owns_client = client is None
        # No redirects: a webhook that redirects is misconfigured, and following it would resend the body.
        self._client = client or httpx.Client(timeout=settings.notify_timeout_seconds, follow_redirects=False)
        self._backoff: Callable[[RetryCallState], float] = wait or _backoff
        slack_url = settings.slack_webhook_url.get_secret_value() if settings.slack_webhook_url else ""
        token = settings.pagerduty_api_token.get_secret_value() if settings.pagerduty_api_token else ""
        # The path of a Slack webhook URL is its credential, so an error quoting only the path leaks too.
        slack_path = urlsplit(slack_url).path if slack_url else ""
        secrets = [slack_url, token, slack_path if len(slack_path) > 8 else ""]
        self._secrets = sorted((s for s in secrets if s), key=len, reverse=True)

    def targets(self, notice: TriageNotice) -> list[str]:
        """Where `send` would post this notice."""
        return list(self._targets(notice))

    def send(self, notice: TriageNotice) -> list[NotificationResult]:
        """Post to every target; failures come back as results (ok=False), never as exceptions."""
        return [self.send_to(target, notice) for target in self._targets(notice)]

    def send_to(self, target: str, notice: TriageNotice) -> NotificationResult:
        """Post to one target (the worker runs one queued job per target, so a retry re-sends only it)."""
        if target == "slack":
            return self._deliver("slack", lambda: self._post_slack(notice))
        if target == "pagerduty":
            return self._deliver("pagerduty", lambda: self._post_pagerduty(notice))
        raise ValueError(f"unknown notification target {target!r}")

    def close(self) -> None:
        """Close the HTTP client if this notifier created it."""
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> Notifier:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _targets(self, notice: TriageNotice) -> list[Target]:
        settings = self._settings
        targets: list[Target] = []
        if settings.slack_webhook_url is not None and settings.slack_webhook_url.get_secret_value():
            targets.append("slack")
        if settings.pagerduty_api_token and settings.pagerduty_from_email and notice.pagerduty_incident_id:
            targets.append("pagerduty")
        return targets

    def _post_slack(self, notice: TriageNotice) -> str:
        # Imported here because slack.py builds on this module's models (TriageNotice, notice_text).
        from opsagent.integrations.slack import post_to_slack, slack_message

        assert self._settings.slack_webhook_url is not None
        post_to_slack(
            self._client,
            self._settings.slack_webhook_url.get_secret_value(),
            slack_message(notice),
            timeout=self._settings.notify_timeout_seconds,
        )
        return "posted to Slack"

    def _post_pagerduty(self, notice: TriageNotice) -> str:
        from opsagent.integrations.pagerduty_api import add_pagerduty_note

        settings = self._settings
        assert settings.pagerduty_api_token and settings.pagerduty_from_email and notice.pagerduty_incident_id
        add_pagerduty_note(
            self._client,
            api_url=settings.pagerduty_api_url,
            token=settings.pagerduty_api_token.get_secret_value(),
            from_email=settings.pagerduty_from_email,
            incident_id=notice.pagerduty_incident_id,
            content=notice_text(notice),
            timeout=settings.notify_timeout_seconds,
        )
        return f"note added to PagerDuty incident {notice.pagerduty_incident_id}"

    def _wait(self, state: RetryCallState) -> float:
        delay = retry_delay(state.outcome.exception() if state.outcome else None)
        return delay if delay is not None else float(self._backoff(state))

    def _deliver(self, target: Target, post: Callable[[], str]) -> NotificationResult:
        attempts = 0

        def once() -> str:
            nonlocal attempts
            attempts += 1
            return post()

        retrying = Retrying(
            retry=retry_if_exception(_is_retryable),
            stop=stop_after_attempt(self._settings.notify_max_attempts),
            wait=self._wait,
            reraise=True,
            before_sleep=lambda state: log.warning(
                "%s notification failed (%s); retrying",
                target,
                self._describe(state.outcome.exception() if state.outcome else None),
            ),
        )
        try:
            detail = retrying(once)
        except (NotificationError, httpx.HTTPError, httpx.InvalidURL) as exc:
            detail = self._describe(exc)
            if attempts > 1:
                detail = f"gave up after {attempts} attempts: {detail}"
            log.warning("%s notification not delivered: %s", target, detail)
            return NotificationResult(target=target, ok=False, attempts=attempts, detail=detail)
        return NotificationResult(target=target, ok=True, attempts=attempts, detail=detail)

    def _describe(self, exc: BaseException | None) -> str:
        """One line about a failure, with the webhook URL and the token scrubbed out."""
        if exc is None:
            return "unknown error"
        if isinstance(exc, NotificationError):
            text = str(exc)
        elif isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
            # Their messages quote pieces of the URL, and the Slack URL is itself the secret.
            text = f"{type(exc).__name__}: the configured URL is not usable"
        else:
            text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return " ".join(text.split())[:500]
