"""Inbound webhook signatures: Grafana HMAC, PagerDuty V3 and Standard Webhooks.

Every check runs over the raw request body, before any JSON parsing, because re-serialising parsed JSON
rarely reproduces the signed bytes. Comparisons are constant time. A failed check raises SignatureError
(HTTP 401); its message names what is wrong but never a secret or an expected signature. A secret that
cannot be used at all raises WebhookConfigError: that is the server's configuration, not the sender's fault.

Headers are read from a case-insensitive mapping (Starlette's `request.headers`, `httpx.Headers`); a plain
dict works too, looked up case-insensitively here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence

from opsagent.errors import ConfigError, OpsagentError

# Grafana's default signature header (grafana/alerting http/hmac.go, and the webhook notifier docs).
GRAFANA_SIGNATURE_HEADER = "X-Grafana-Alerting-Signature"
GRAFANA_LEGACY_SIGNATURE_HEADER = "X-Grafana-Alert-Signature"
# Grafana has no default timestamp header: it sends one only when the contact point names it. This is
# our default name, which the contact point's "Timestamp header" must be set to (or pass another name).
GRAFANA_TIMESTAMP_HEADER = "X-Grafana-Alerting-Signature-Timestamp"
PAGERDUTY_SIGNATURE_HEADER = "X-PagerDuty-Signature"
STANDARD_WEBHOOK_ID_HEADER = "webhook-id"
STANDARD_WEBHOOK_TIMESTAMP_HEADER = "webhook-timestamp"
STANDARD_WEBHOOK_SIGNATURE_HEADER = "webhook-signature"
STANDARD_WEBHOOK_SECRET_PREFIX = "whsec_"
# Delivery ids are stored for dedup (webhook_deliveries.delivery_id is 200 characters).
MAX_WEBHOOK_ID_LENGTH = 200

_UNIX_SECONDS = re.compile(r"[0-9]{1,12}")


class SignatureError(OpsagentError):
    """The request's signature is missing, malformed, stale or wrong: the request is not trusted (401)."""


class WebhookConfigError(ConfigError):
    """A configured webhook secret cannot be used (empty, or a `whsec_` secret that is not base64)."""


def verify_grafana_signature(
    body: bytes,
    headers: Mapping[str, str],
    secret: str,
    *,
    now: float,
    tolerance_seconds: int,
    signature_header: str = GRAFANA_SIGNATURE_HEADER,
    timestamp_header: str = GRAFANA_TIMESTAMP_HEADER,
    require_timestamp: bool = False,
) -> str | None:
    """Check a Grafana contact point's HMAC-SHA256 signature of the raw body; return a replay key.

    Grafana (the webhook contact point's "HMAC Signature" settings) sends the lowercase hex
    HMAC-SHA256 of the body in the signature header, `X-Grafana-Alerting-Signature` unless the contact
    point names another. Only if the contact point sets a "Timestamp header" (Grafana has no default name
    for it; ours is `X-Grafana-Alerting-Signature-Timestamp`) does Grafana also send the Unix time in
    seconds there and sign `f"{timestamp}:".encode() + body` instead. A timestamp, when present, must be
    within `tolerance_seconds` of `now`; without one there is no replay protection, so `require_timestamp`
    refuses such requests.

    The returned key identifies this signed delivery when it carried a timestamp (the signature covers
    it, so two genuine deliveries never share a key): storing it as the delivery id makes a replay inside
    the window a no-op. Without a timestamp it is None, because Grafana legitimately re-sends identical
    bodies (repeat notifications), which must not be dropped.
    """
    key = _secret_bytes(secret, "Grafana webhook")
    # Some Grafana releases fall back to X-Grafana-Alert-Signature when the header field is left empty.
    signature = _header(headers, signature_header) or (
        _header(headers, GRAFANA_LEGACY_SIGNATURE_HEADER)
        if signature_header == GRAFANA_SIGNATURE_HEADER
        else None
    )
    if not signature:
        raise SignatureError(
            f"Missing {signature_header} header: set an HMAC secret on the Grafana webhook contact point "
            "(and the signature header name, if not the default)."
        )
    timestamp = _header(headers, timestamp_header)
    if timestamp is None and require_timestamp:
        raise SignatureError(
            f"Missing {timestamp_header} header: without a signed timestamp a captured delivery could be "
            "replayed at any time. Set the contact point's HMAC 'Timestamp header' to this name (or set "
            "OPSAGENT_GRAFANA_TIMESTAMP_HEADER to the one it sends); only if your Grafana cannot send one, "
            "set OPSAGENT_GRAFANA_REQUIRE_TIMESTAMP=false."
        )
    message = body
    if timestamp is not None:
        _check_timestamp(timestamp, timestamp_header, now=now, tolerance_seconds=tolerance_seconds)
        message = f"{timestamp}:".encode() + body
    expected = hmac.new(key, message, hashlib.sha256).hexdigest()
    if not _same(expected, signature.strip().lower()):
        raise SignatureError(
            f"The {signature_header} signature does not match the body: check that the contact point's "
            "HMAC secret is the one configured here."
        )
    return f"hmac:{expected}" if timestamp is not None else None


def verify_pagerduty_signature(body: bytes, header_value: str | None, secrets: Sequence[str]) -> None:
    """Check a PagerDuty V3 `X-PagerDuty-Signature` header against every configured secret.

    The header is `v1=<hex>[,v1=<hex>...]`: the hex HMAC-SHA256 of the raw body, once per active signing
    secret during a rotation. The request passes if any v1 signature matches any configured secret;
    other versions are ignored.
    """
    keys = [_secret_bytes(secret, "PagerDuty webhook") for secret in secrets]
    if not keys:
        raise WebhookConfigError("No PagerDuty webhook secret is configured: set the subscription's secret.")
    if not header_value or not header_value.strip():
        raise SignatureError(
            f"Missing {PAGERDUTY_SIGNATURE_HEADER} header: this request was not sent by a PagerDuty V3 "
            "webhook subscription."
        )
    entries = [part.strip() for part in header_value.split(",")]
    provided = [entry[len("v1=") :].lower() for entry in entries if entry.startswith("v1=")]
    if not provided:
        raise SignatureError(
            f"{PAGERDUTY_SIGNATURE_HEADER} has no v1 signature: only v1 (HMAC-SHA256) is supported."
        )
    expected = [hmac.new(key, body, hashlib.sha256).hexdigest() for key in keys]
    # Every pair is compared (no early exit), so timing does not reveal which secret matched.
    matched = False
    for candidate in expected:
        for signature in provided:
            matched |= _same(candidate, signature)
    if not matched:
        raise SignatureError(
            f"No {PAGERDUTY_SIGNATURE_HEADER} signature matches the body: check that the webhook "
            "subscription's secret is among the configured PagerDuty secrets."
        )


def verify_standard_webhook(
    body: bytes,
    headers: Mapping[str, str],
    secrets: Sequence[str],
    *,
    now: float,
    tolerance_seconds: int,
) -> str:
    """Check a Standard Webhooks (standardwebhooks.com) signature and return the `webhook-id`.

    The sender signs `f"{webhook-id}.{webhook-timestamp}.".encode() + body` with HMAC-SHA256 and sends
    `webhook-signature` as space-separated `v1,<base64>` entries (one per active secret; other versions,
    such as asymmetric `v1a`, are ignored). A secret is `whsec_<base64>` (the key is the decoded bytes);
    a secret without that prefix is used as its UTF-8 bytes (note: the reference libraries instead
    base64-decode an unprefixed secret too, so keep the `whsec_` prefix when copying one from them).
    The returned id is the sender's delivery id, for dropping retried deliveries.
    """
    keys = [_standard_webhook_key(secret) for secret in secrets]
    if not keys:
        raise WebhookConfigError("No Standard Webhooks secret is configured: set a whsec_... secret.")
    msg_id = _header(headers, STANDARD_WEBHOOK_ID_HEADER)
    timestamp = _header(headers, STANDARD_WEBHOOK_TIMESTAMP_HEADER)
    signatures = _header(headers, STANDARD_WEBHOOK_SIGNATURE_HEADER)
    missing = [
        name
        for name, value in (
            (STANDARD_WEBHOOK_ID_HEADER, msg_id),
            (STANDARD_WEBHOOK_TIMESTAMP_HEADER, timestamp),
            (STANDARD_WEBHOOK_SIGNATURE_HEADER, signatures),
        )
        if not value
    ]
    if not (msg_id and timestamp and signatures):
        raise SignatureError(
            f"Missing {', '.join(missing)} header(s): the sender must sign requests as Standard Webhooks."
        )
    if len(msg_id) > MAX_WEBHOOK_ID_LENGTH:
        raise SignatureError(f"The webhook-id header is longer than {MAX_WEBHOOK_ID_LENGTH} characters.")
    _check_timestamp(
        timestamp, STANDARD_WEBHOOK_TIMESTAMP_HEADER, now=now, tolerance_seconds=tolerance_seconds
    )
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = [hmac.new(key, signed, hashlib.sha256).digest() for key in keys]
    matched = False
    undecodable = 0
    for entry in signatures.split():
        version, _, encoded = entry.partition(",")
        if version != "v1":
            continue
        try:
            provided = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            undecodable += 1
            continue
        for candidate in expected:
            matched |= hmac.compare_digest(candidate, provided)
    if not matched:
        detail = f" ({undecodable} v1 entries were not valid base64)" if undecodable else ""
        raise SignatureError(
            f"No webhook-signature v1 signature matches the body{detail}: check that the sender's signing "
            "secret is among the configured Standard Webhooks secrets."
        )
    return msg_id


def sign_grafana(
    body: bytes,
    secret: str,
    timestamp: int | None = None,
    *,
    signature_header: str = GRAFANA_SIGNATURE_HEADER,
    timestamp_header: str = GRAFANA_TIMESTAMP_HEADER,
) -> dict[str, str]:
    """The headers Grafana would send for `body` (with a timestamp header only if `timestamp` is given)."""
    key = _secret_bytes(secret, "Grafana webhook")
    if timestamp is None:
        return {signature_header: hmac.new(key, body, hashlib.sha256).hexdigest()}
    message = f"{timestamp}:".encode() + body
    return {
        signature_header: hmac.new(key, message, hashlib.sha256).hexdigest(),
        timestamp_header: str(timestamp),
    }


def sign_pagerduty(body: bytes, *secrets: str) -> str:
    """The `X-PagerDuty-Signature` value PagerDuty would send for `body`: one v1 entry per secret."""
    keys = [_secret_bytes(secret, "PagerDuty webhook") for secret in secrets]
    if not keys:
        raise WebhookConfigError("sign_pagerduty needs at least one secret.")
    return ",".join(f"v1={hmac.new(key, body, hashlib.sha256).hexdigest()}" for key in keys)


def sign_standard_webhook(body: bytes, secret: str, msg_id: str, timestamp: int) -> dict[str, str]:
    """The Standard Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`) for `body`."""
    key = _standard_webhook_key(secret)
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return {
        STANDARD_WEBHOOK_ID_HEADER: msg_id,
        STANDARD_WEBHOOK_TIMESTAMP_HEADER: str(timestamp),
        STANDARD_WEBHOOK_SIGNATURE_HEADER: f"v1,{base64.b64encode(digest).decode('ascii')}",
    }


def _standard_webhook_key(secret: str) -> bytes:
    if not secret.startswith(STANDARD_WEBHOOK_SECRET_PREFIX):
        return _secret_bytes(secret, "Standard Webhooks")
    encoded = secret[len(STANDARD_WEBHOOK_SECRET_PREFIX) :].strip()
    try:
        # Some senders print the secret without base64 padding.
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookConfigError(
            "A Standard Webhooks secret starts with whsec_ but the rest is not valid base64: copy the "
            "whole secret from the sender's endpoint settings."
        ) from None
    if not key:
        raise WebhookConfigError("A Standard Webhooks secret is empty after whsec_: copy the whole secret.")
    return key


def _secret_bytes(secret: str, what: str) -> bytes:
    if not secret:
        raise WebhookConfigError(f"The {what} secret is empty: set it, or remove it from the settings.")
    return secret.encode()


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def _check_timestamp(value: str, header: str, *, now: float, tolerance_seconds: int) -> None:
    if not _UNIX_SECONDS.fullmatch(value.strip()):
        raise SignatureError(f"The {header} header is not a Unix timestamp in seconds.")
    if abs(now - int(value.strip())) > tolerance_seconds:
        raise SignatureError(
            f"The {header} header is a stale or future timestamp (more than {tolerance_seconds}s from this "
            "server's clock): a replayed request, or a clock out of sync (check NTP on both ends)."
        )


def _same(expected: str, provided: str) -> bool:
    # compare_digest refuses non-ASCII str, and a header is attacker-controlled: compare bytes instead.
    return hmac.compare_digest(expected.encode(), provided.encode("utf-8", "replace"))
