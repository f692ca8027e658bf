"""Inbound webhook signatures: Grafana HMAC, PagerDuty V3 and Standard Webhooks."""

from __future__ import annotations

import base64
import hashlib
import hmac

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from opsagent.errors import OpsagentError
from opsagent.integrations.webhook_signatures import (
    GRAFANA_SIGNATURE_HEADER,
    GRAFANA_TIMESTAMP_HEADER,
    SignatureError,
    WebhookConfigError,
    sign_grafana,
    sign_pagerduty,
    sign_standard_webhook,
    verify_grafana_signature,
    verify_pagerduty_signature,
    verify_standard_webhook,
)

NOW = 1_700_000_000
TOLERANCE = 300
BODY = b'{"receiver":"opsagent","status":"firing"}'


def _tamper(body: bytes) -> bytes:
    """The body with one byte changed."""
    return body[:-1] + bytes([body[-1] ^ 0x01])


# --- Grafana ----------------------------------------------------------------------------------------

GRAFANA_SECRET = "grafana-s3cret"
# Known answers computed independently with OpenSSL (BODY as printed above, then "1700000000:" + BODY):
#   printf '%s' "$BODY" | openssl dgst -sha256 -hmac grafana-s3cret
GRAFANA_BODY_ONLY = "b54fe8cf848c61dc3cc76959310d139363b92cedf3c3e1476e6d7d6fbd5e0f7d"
GRAFANA_WITH_TIMESTAMP = "015544016df62448a92ae6a85da4686aa15861c7b965ef0fa9e2eb0730c305a7"


def _verify_grafana(
    body: bytes, headers: dict[str, str], secret: str = GRAFANA_SECRET, now: float = NOW
) -> None:
    verify_grafana_signature(body, httpx.Headers(headers), secret, now=now, tolerance_seconds=TOLERANCE)


def test_grafana_known_answers() -> None:
    assert sign_grafana(BODY, GRAFANA_SECRET) == {"X-Grafana-Alerting-Signature": GRAFANA_BODY_ONLY}
    assert sign_grafana(BODY, GRAFANA_SECRET, NOW) == {
        "X-Grafana-Alerting-Signature": GRAFANA_WITH_TIMESTAMP,
        "X-Grafana-Alerting-Signature-Timestamp": "1700000000",
    }
    _verify_grafana(BODY, {"x-grafana-alerting-signature": GRAFANA_BODY_ONLY})
    _verify_grafana(
        BODY,
        {
            "x-grafana-alerting-signature": GRAFANA_WITH_TIMESTAMP,
            "x-grafana-alerting-signature-timestamp": "1700000000",
        },
    )


@pytest.mark.parametrize("timestamp", [None, NOW])
def test_grafana_rejects_wrong_secret_and_changed_body(timestamp: int | None) -> None:
    headers = sign_grafana(BODY, GRAFANA_SECRET, timestamp)
    _verify_grafana(BODY, headers)
    with pytest.raises(SignatureError, match="does not match"):
        _verify_grafana(BODY, sign_grafana(BODY, "another-secret", timestamp))
    with pytest.raises(SignatureError, match="does not match"):
        _verify_grafana(_tamper(BODY), headers)


@pytest.mark.parametrize(
    ("offset", "ok"), [(-TOLERANCE, True), (TOLERANCE, True), (-TOLERANCE - 1, False), (TOLERANCE + 1, False)]
)
def test_grafana_timestamp_tolerance(offset: int, ok: bool) -> None:
    headers = sign_grafana(BODY, GRAFANA_SECRET, NOW + offset)
    if ok:
        _verify_grafana(BODY, headers)
    else:
        with pytest.raises(SignatureError, match="stale or future timestamp"):
            _verify_grafana(BODY, headers)


def test_grafana_timestamp_is_part_of_the_signature() -> None:
    headers = sign_grafana(BODY, GRAFANA_SECRET, NOW)
    with pytest.raises(SignatureError, match="does not match"):
        _verify_grafana(BODY, {**headers, GRAFANA_TIMESTAMP_HEADER: str(NOW + 1)})
    # Dropping the timestamp header changes the signed message, so a replay cannot shed it.
    with pytest.raises(SignatureError, match="does not match"):
        _verify_grafana(BODY, {GRAFANA_SIGNATURE_HEADER: headers[GRAFANA_SIGNATURE_HEADER]})
    with pytest.raises(SignatureError, match="not a Unix timestamp"):
        _verify_grafana(BODY, {**headers, GRAFANA_TIMESTAMP_HEADER: "yesterday"})


def test_grafana_missing_signature_and_custom_header_names() -> None:
    with pytest.raises(SignatureError, match="Missing X-Grafana-Alerting-Signature"):
        _verify_grafana(BODY, {})
    headers = sign_grafana(BODY, GRAFANA_SECRET, NOW, signature_header="X-Sig", timestamp_header="X-Ts")
    verify_grafana_signature(
        BODY,
        httpx.Headers(headers),
        GRAFANA_SECRET,
        now=NOW,
        tolerance_seconds=TOLERANCE,
        signature_header="x-sig",
        timestamp_header="x-ts",
    )
    with pytest.raises(SignatureError, match="Missing X-Grafana-Alerting-Signature"):
        _verify_grafana(BODY, headers)


def test_grafana_accepts_uppercase_hex_and_a_plain_dict() -> None:
    signature = sign_grafana(BODY, GRAFANA_SECRET)[GRAFANA_SIGNATURE_HEADER]
    verify_grafana_signature(
        BODY,
        {"x-grafana-alerting-signature": signature.upper()},
        GRAFANA_SECRET,
        now=NOW,
        tolerance_seconds=1,
    )


def test_grafana_empty_secret_is_a_config_error() -> None:
    with pytest.raises(WebhookConfigError, match="empty"):
        _verify_grafana(BODY, sign_grafana(BODY, GRAFANA_SECRET), secret="")


# --- PagerDuty --------------------------------------------------------------------------------------

PD_BODY = b'{"event":{"event_type":"pagey.ping"}}'
PD_SECRET = "pd-secret-one"
# printf '%s' '{"event":{"event_type":"pagey.ping"}}' | openssl dgst -sha256 -hmac pd-secret-one
PD_KNOWN = "bdf444838b2d0518f5e6933586906849da0f54e811c21c7e1588e83f8dc4e4d4"


def test_pagerduty_known_answer() -> None:
    assert sign_pagerduty(PD_BODY, PD_SECRET) == f"v1={PD_KNOWN}"
    verify_pagerduty_signature(PD_BODY, f"v1={PD_KNOWN}", [PD_SECRET])


def test_pagerduty_rejects_wrong_secret_changed_body_and_missing_header() -> None:
    header = sign_pagerduty(PD_BODY, PD_SECRET)
    with pytest.raises(SignatureError, match="No X-PagerDuty-Signature signature matches"):
        verify_pagerduty_signature(PD_BODY, header, ["other-secret"])
    with pytest.raises(SignatureError, match="matches"):
        verify_pagerduty_signature(_tamper(PD_BODY), header, [PD_SECRET])
    for missing in (None, "", "  "):
        with pytest.raises(SignatureError, match="Missing X-PagerDuty-Signature"):
            verify_pagerduty_signature(PD_BODY, missing, [PD_SECRET])


def test_pagerduty_rotation() -> None:
    # PagerDuty signs with every active secret; only the second one is ours.
    header = sign_pagerduty(PD_BODY, "their-old-secret", PD_SECRET)
    assert header.count("v1=") == 2 and header.split(",")[1] == f"v1={PD_KNOWN}"
    verify_pagerduty_signature(PD_BODY, header, [PD_SECRET])
    # We hold two secrets during our own rotation; the sender signed with the second.
    verify_pagerduty_signature(PD_BODY, sign_pagerduty(PD_BODY, PD_SECRET), ["retired-secret", PD_SECRET])
    verify_pagerduty_signature(PD_BODY, f" v2=abc , v1={PD_KNOWN.upper()} ", [PD_SECRET])


def test_pagerduty_unknown_versions_only_fail() -> None:
    with pytest.raises(SignatureError, match="no v1 signature"):
        verify_pagerduty_signature(PD_BODY, f"v2={PD_KNOWN}", [PD_SECRET])
    with pytest.raises(SignatureError, match="matches"):
        verify_pagerduty_signature(PD_BODY, "v1=not-hex,v1=", [PD_SECRET])


def test_pagerduty_without_secrets_is_a_config_error() -> None:
    with pytest.raises(WebhookConfigError, match="No PagerDuty webhook secret"):
        verify_pagerduty_signature(PD_BODY, f"v1={PD_KNOWN}", [])
    with pytest.raises(WebhookConfigError):
        verify_pagerduty_signature(PD_BODY, f"v1={PD_KNOWN}", [""])


# --- Standard Webhooks ------------------------------------------------------------------------------

# The known-answer vector of the reference implementation's test suite (standard-webhooks/standard-webhooks,
# libraries/python/tests/test_webhooks.py, test_sign_function).
SW_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SW_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SW_TIMESTAMP = 1614265330
SW_BODY = b'{"test": 2432232314}'
SW_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def _sw_headers(signature: str = SW_SIGNATURE, timestamp: int = SW_TIMESTAMP) -> dict[str, str]:
    return {"webhook-id": SW_ID, "webhook-timestamp": str(timestamp), "webhook-signature": signature}


def _verify_sw(
    body: bytes, headers: dict[str, str], secrets: list[str] | None = None, now: float = SW_TIMESTAMP
) -> str:
    return verify_standard_webhook(
        body, httpx.Headers(headers), secrets or [SW_SECRET], now=now, tolerance_seconds=TOLERANCE
    )


def test_standard_webhook_known_answer() -> None:
    assert sign_standard_webhook(SW_BODY, SW_SECRET, SW_ID, SW_TIMESTAMP) == _sw_headers()
    assert _verify_sw(SW_BODY, _sw_headers()) == SW_ID
    # Some senders print the secret without base64 padding.
    padded = "whsec_" + base64.b64encode(b"a key of twenty-five bytes").decode()
    assert padded.endswith("=")
    headers = sign_standard_webhook(SW_BODY, padded, SW_ID, SW_TIMESTAMP)
    assert _verify_sw(SW_BODY, headers, [padded.rstrip("=")]) == SW_ID


def test_standard_webhook_raw_secret_is_used_as_utf8_bytes() -> None:
    raw = "plain-shared-secret"
    digest = hmac.new(raw.encode(), f"{SW_ID}.{SW_TIMESTAMP}.".encode() + SW_BODY, hashlib.sha256).digest()
    signature = f"v1,{base64.b64encode(digest).decode()}"
    assert sign_standard_webhook(SW_BODY, raw, SW_ID, SW_TIMESTAMP)["webhook-signature"] == signature
    assert _verify_sw(SW_BODY, _sw_headers(signature), [raw]) == SW_ID


def test_standard_webhook_rejects_wrong_secret_and_changed_body() -> None:
    other = "whsec_" + base64.b64encode(b"another key of twenty-four bytes").decode()
    with pytest.raises(SignatureError, match="No webhook-signature v1 signature matches"):
        _verify_sw(SW_BODY, _sw_headers(), [other])
    with pytest.raises(SignatureError, match="matches"):
        _verify_sw(_tamper(SW_BODY), _sw_headers())
    # The id and timestamp are signed too.
    with pytest.raises(SignatureError, match="matches"):
        _verify_sw(SW_BODY, {**_sw_headers(), "webhook-id": "msg_other"})
    with pytest.raises(SignatureError, match="matches"):
        _verify_sw(SW_BODY, _sw_headers(timestamp=SW_TIMESTAMP + 1))


@pytest.mark.parametrize("offset", [-TOLERANCE - 1, TOLERANCE + 1])
def test_standard_webhook_stale_and_future_timestamps(offset: int) -> None:
    headers = sign_standard_webhook(SW_BODY, SW_SECRET, SW_ID, SW_TIMESTAMP + offset)
    with pytest.raises(SignatureError, match="stale or future timestamp"):
        _verify_sw(SW_BODY, headers)
    assert _verify_sw(SW_BODY, headers, now=SW_TIMESTAMP + offset) == SW_ID


@pytest.mark.parametrize("timestamp", ["hello", "1614265330.5", "-1614265330", ""])
def test_standard_webhook_malformed_timestamps(timestamp: str) -> None:
    with pytest.raises(SignatureError):
        _verify_sw(SW_BODY, {**_sw_headers(), "webhook-timestamp": timestamp})


@pytest.mark.parametrize("header", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_standard_webhook_missing_headers(header: str) -> None:
    headers = _sw_headers()
    del headers[header]
    with pytest.raises(SignatureError, match=f"Missing {header}"):
        _verify_sw(SW_BODY, headers)


def test_standard_webhook_rotation_and_other_versions() -> None:
    wrong = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
    asymmetric = (
        "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg=="
    )
    signature = " ".join([wrong, asymmetric, f"v2,{SW_SIGNATURE[3:]}", SW_SIGNATURE, wrong])
    assert _verify_sw(SW_BODY, _sw_headers(signature)) == SW_ID
    # Two configured secrets, the sender uses the second.
    retired = "whsec_" + base64.b64encode(b"retired key, twenty-four!").decode()
    assert _verify_sw(SW_BODY, _sw_headers(), [retired, SW_SECRET]) == SW_ID
    with pytest.raises(SignatureError, match="matches"):
        _verify_sw(SW_BODY, _sw_headers(f"v2,{SW_SIGNATURE[3:]} {asymmetric}"))


@pytest.mark.parametrize(
    "entry", ["v1,!!!not base64!!!", "v1,abc", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE", "v1"]
)
def test_standard_webhook_malformed_base64_is_a_signature_error(entry: str) -> None:
    with pytest.raises(SignatureError, match="matches"):
        _verify_sw(SW_BODY, _sw_headers(entry))
    # A malformed entry next to a valid one does not hide the valid one.
    assert _verify_sw(SW_BODY, _sw_headers(f"{entry} {SW_SIGNATURE}")) == SW_ID


def test_standard_webhook_rejects_oversized_ids() -> None:
    headers = sign_standard_webhook(SW_BODY, SW_SECRET, "m" * 201, SW_TIMESTAMP)
    with pytest.raises(SignatureError, match="longer than 200"):
        _verify_sw(SW_BODY, headers)


@pytest.mark.parametrize("secret", ["whsec_not*base64", "whsec_", "whsec_===="])
def test_standard_webhook_malformed_secret_is_a_config_error(secret: str) -> None:
    with pytest.raises(WebhookConfigError, match="whsec_") as caught:
        _verify_sw(SW_BODY, _sw_headers(), [secret])
    assert not isinstance(caught.value, SignatureError)
    with pytest.raises(WebhookConfigError):
        sign_standard_webhook(SW_BODY, secret, SW_ID, SW_TIMESTAMP)


def test_standard_webhook_without_secrets_is_a_config_error() -> None:
    with pytest.raises(WebhookConfigError, match="No Standard Webhooks secret"):
        verify_standard_webhook(
            SW_BODY, httpx.Headers(_sw_headers()), [], now=SW_TIMESTAMP, tolerance_seconds=1
        )


# --- All schemes ------------------------------------------------------------------------------------


def test_errors_never_echo_secrets_or_expected_signatures() -> None:
    expected_sw = SW_SIGNATURE[3:]
    failures: list[OpsagentError] = []
    for attempt in (
        lambda: _verify_grafana(BODY, {GRAFANA_SIGNATURE_HEADER: "00"}),
        lambda: _verify_grafana(BODY, sign_grafana(BODY, GRAFANA_SECRET, 1)),
        lambda: verify_pagerduty_signature(PD_BODY, "v1=00", [PD_SECRET]),
        lambda: _verify_sw(SW_BODY, _sw_headers("v1,AAAA")),
        lambda: _verify_sw(SW_BODY, _sw_headers(), ["whsec_bad*"]),
    ):
        with pytest.raises(OpsagentError) as caught:
            attempt()
        failures.append(caught.value)
    for failure in failures:
        text = str(failure)
        for secret_or_expected in (
            GRAFANA_SECRET,
            GRAFANA_BODY_ONLY,
            PD_SECRET,
            PD_KNOWN,
            expected_sw,
            "bad*",
        ):
            assert secret_or_expected not in text


header_text = st.text(st.characters(codec="utf-8"), max_size=80)


@given(body=st.binary(max_size=64), signature=header_text, timestamp=header_text, msg_id=header_text)
def test_verifiers_only_raise_signature_errors(
    body: bytes, signature: str, timestamp: str, msg_id: str
) -> None:
    # Plain dicts: Starlette hands over any latin-1 text, which httpx.Headers would refuse to build.
    grafana_headers = {"x-grafana-alerting-signature": signature, GRAFANA_TIMESTAMP_HEADER: timestamp}
    sw_headers = {"webhook-id": msg_id, "webhook-timestamp": timestamp, "webhook-signature": signature}
    attempts = [
        lambda: verify_grafana_signature(
            body, grafana_headers, GRAFANA_SECRET, now=NOW, tolerance_seconds=60
        ),
        lambda: verify_pagerduty_signature(body, signature, [PD_SECRET, "second"]),
        lambda: verify_standard_webhook(body, sw_headers, [SW_SECRET], now=NOW, tolerance_seconds=60),
    ]
    for attempt in attempts:
        with pytest.raises(SignatureError):
            attempt()
