"""Slack incoming webhooks: a triage notice as a Block Kit message, and posting it.

Alert labels and diagnosis text are untrusted: every piece is redacted, bounded to Slack's limits and
mrkdwn-escaped, so a label such as `<!channel>` or `<https://evil|click>` shows as text instead of
pinging a channel or hiding a link. The webhook URL is the credential; it never appears in an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from opsagent.agent.redaction import bound_text, redact_diagnosis, redact_text
from opsagent.incidents.notify import TriageNotice, notice_text, render_parameters, status_error

__all__ = ["escape_mrkdwn", "post_to_slack", "slack_message"]

# Block Kit limits (https://api.slack.com/reference/block-kit/blocks).
HEADER_LIMIT = 150
SECTION_LIMIT = 3000
FIELD_LIMIT = 2000
TEXT_LIMIT = 3000
MAX_EVIDENCE = 3
MAX_ACTIONS = 5
MAX_STEPS = 3

_UNSAFE_URL_RE = re.compile(r"[\s<>|\x00-\x1f\x7f]")
_REASON_RE = re.compile(r"[^\w .:,-]")


def escape_mrkdwn(text: str) -> str:
    """Escape Slack's control characters (`&`, `<`, `>`) so text cannot form links or mentions."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def _fit(text: str, limit: int, *, one_line: bool = False) -> str:
    """Redact, bound and escape `text` so that the escaped result fits in `limit` characters."""
    clean = redact_text(" ".join(text.split()) if one_line else text.strip())
    shorten: Callable[[str, int], str] = _cut if one_line or limit < 200 else bound_text
    budget = limit
    # Escaping lengthens the text (`&` -> `&amp;`), so shrink the raw budget until the escaped text fits;
    # cutting before escaping never splits an entity.
    while budget > 0:
        escaped = escape_mrkdwn(shorten(clean, budget))
        if len(escaped) <= limit:
            return escaped
        budget -= len(escaped) - limit
    return ""


def _mrkdwn(text: str) -> dict[str, Any]:
    # verbatim: Slack must not auto-link URLs or channel names found in untrusted text.
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(_cut(text, SECTION_LIMIT))}


def _link(url: str | None, label: str) -> str | None:
    """`<url|label>` for a plain http(s) URL; None for anything that could break out of the link."""
    if not url or len(url) > 2000 or _UNSAFE_URL_RE.search(url):
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or "@" in parts.netloc:
        return None
    return f"<{url.replace('&', '&amp;')}|{escape_mrkdwn(label)}>"


def slack_message(notice: TriageNotice) -> dict[str, Any]:
    """The incoming-webhook payload: fallback `text` plus Block Kit `blocks`, every field escaped."""
    diagnosis = redact_diagnosis(notice.diagnosis)  # before `_fit` joins lines (see notice_text)
    icon = ":white_check_mark:" if notice.status.strip().lower() == "resolved" else ":rotating_light:"
    title = _fit(f"{notice.alert_name} [{notice.status}]", HEADER_LIMIT - len(icon) - 1, one_line=True)
    fields = [
        ("Severity", notice.severity or "unknown"),
        ("Service", notice.service or "unknown"),
        ("Source", notice.source),
        ("Diagnosis", diagnosis.mode.value + (f" · {diagnosis.model}" if diagnosis.model else "")),
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"{icon} {title}", "emoji": True}},
        {
            "type": "section",
            "fields": [_mrkdwn(f"*{name}*\n{_fit(value, 200, one_line=True)}") for name, value in fields],
        },
        _section(f"*Summary*\n{_fit(diagnosis.summary, SECTION_LIMIT - 20)}"),
        _section(f"*Probable root cause*\n{_fit(diagnosis.probable_root_cause, SECTION_LIMIT - 40)}"),
        _section(
            f"*Confidence:* {diagnosis.confidence.value:.0%} — "
            f"{_fit(diagnosis.confidence.reason, SECTION_LIMIT - 40)}"
        ),
        _section(
            f"*Runbook:* `{_fit(diagnosis.runbook.render(), 500, one_line=True)}`"
            if diagnosis.runbook
            else "*Runbook:* none found"
        ),
    ]
    if diagnosis.evidence:
        # Per-item budgets keep the whole section under SECTION_LIMIT without cutting through markup.
        lines = ["*Evidence*"]
        for item in diagnosis.evidence[:MAX_EVIDENCE]:
            citation = _fit(item.citation.render(), 200, one_line=True)
            lines.append(f"• `{item.kind}` `{citation}`\n{_fit(item.excerpt, 600, one_line=True)}")
        if len(diagnosis.evidence) > MAX_EVIDENCE:
            lines.append(f"_+{len(diagnosis.evidence) - MAX_EVIDENCE} more in the incident_")
        blocks.append(_section("\n".join(lines)))
    if diagnosis.next_steps:
        steps = [f"• {_fit(step, 400, one_line=True)}" for step in diagnosis.next_steps[:MAX_STEPS]]
        blocks.append(_section("*Next steps*\n" + "\n".join(steps)))
    if diagnosis.proposed_actions:
        blocks.append({"type": "divider"})
        blocks.append(_section("*Proposed actions* — nothing runs until someone approves it in opsagent"))
        for action in diagnosis.proposed_actions[:MAX_ACTIONS]:
            params = render_parameters(action.parameters)
            missing = (
                f"\n_missing parameters: {_fit(', '.join(action.missing_parameters), 300, one_line=True)}_"
                if action.missing_parameters
                else ""
            )
            blocks.append(
                _section(
                    f"• `{_fit(action.action_id, 100, one_line=True)}`"
                    + (f" `{_fit(params, 400, one_line=True)}`" if params else "")
                    + f" — *needs approval*\n{_fit(action.why, 1000)}{missing}"
                )
            )
        if len(diagnosis.proposed_actions) > MAX_ACTIONS:
            more = len(diagnosis.proposed_actions) - MAX_ACTIONS
            blocks.append(_section(f"_+{more} more proposed actions in the incident_"))
    link = _link(notice.url, f"Open incident #{notice.incident_id} in opsagent")
    context = link or f"opsagent incident #{notice.incident_id}"
    blocks.append({"type": "context", "elements": [_mrkdwn(context)]})
    return {
        "text": _fit(notice_text(notice), TEXT_LIMIT),
        "blocks": blocks,
        "unfurl_links": False,
        "unfurl_media": False,
    }


def _reason(response: httpx.Response) -> str:
    """Slack's error code from the body (`invalid_payload`, `no_service`, ...), one short line."""
    first = response.text.strip().splitlines()[0] if response.text.strip() else ""
    return _REASON_RE.sub("", first)[:100].strip()


def post_to_slack(
    client: httpx.Client, url: str, payload: dict[str, Any], *, timeout: float | None = None
) -> None:
    """POST the payload to an incoming webhook; raise NotificationError (retryable on 429/5xx) otherwise."""
    response = client.post(
        url, json=payload, timeout=httpx.USE_CLIENT_DEFAULT if timeout is None else timeout
    )
    if response.is_success:
        return
    raise status_error("Slack", response, _reason(response))
