"""Redaction by structure, the false-positive side, and everything that leaves the process (issue 9).

A diagnosis quoting secrets is redacted where it is stored, served, notified and logged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from opsagent.agent.diagnosis import Confidence, Diagnosis, Evidence, ProposedAction
from opsagent.agent.redaction import redact, redact_diagnosis, redact_text, secret_key_kind
from opsagent.api.logs import JsonFormatter, TextFormatter
from opsagent.incidents.notify import TriageNotice, notice_text
from opsagent.integrations.slack import slack_message
from opsagent.knowledge.models import Citation
from tests.api_support import Api, alertmanager_body, api_settings, running_api

AWS_KEY = "AKIAZ7QW4ND3XAMPL3KY"
DSN_PASSWORD = "Vq8!mZr2Lw"
GITHUB = "ghp_9fK2LmQ8vR3tW7yZ1aB4cD6eF0gH2iJ5kL7m"
SLACK = "xoxb-2048193746-5820391746-Qm8RtY2wVn4KpL6sXz0aBcDe"
JWT = (
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzdmMtb3JkZXJzIiwiZXhwIjoxNzk5OTk5OTk5fQ.m3Nq9Vx2Lk7Pz4Rt8Wy1Bc5Df0GhJ6Ks"
)
SECRETS = [AWS_KEY, DSN_PASSWORD, GITHUB, SLACK, JWT]
LINES = [
    f"2026-11-20T03:14:58Z ERROR orders-api boto3 NoCredentialsError key={AWS_KEY} region=eu-west-1",
    f"2026-11-20T03:14:59Z ERROR orders-api db connect postgres://orders:{DSN_PASSWORD}@db.orders.svc/orders",
    f"2026-11-20T03:15:00Z WARN  orders-api git fetch https://{GITHUB}@github.com/acme/orders failed",
    f"2026-11-20T03:15:01Z WARN  orders-api slack notify with {SLACK} rate limited",
    f"2026-11-20T03:15:02Z ERROR orders-api 401 for Authorization: Bearer {JWT}",
]


def leaky_diagnosis() -> Diagnosis:
    """What the offline pipeline (and a model obeying an injected alert) produce: cited raw lines."""
    return Diagnosis(
        alert_name="OrdersDbAuthFailing",
        summary=f"orders-api cannot log in to postgres://orders:{DSN_PASSWORD}@db (key {AWS_KEY})",
        probable_root_cause=f"rotated credentials; the pod still sends {JWT}",
        confidence=Confidence(value=0.6, reason=f"5 lines mention {GITHUB}"),
        evidence=[
            Evidence(kind="log", citation=Citation(source="logs/orders.log", line_start=i), excerpt=line)
            for i, line in enumerate(LINES, 1)
        ],
        next_steps=[f"Revoke {SLACK}", "kubectl rollout restart deploy/orders-api"],
        proposed_actions=[
            ProposedAction(
                action_id="restart_deployment",
                parameters={"namespace": "orders", "token": SLACK, "note": f"key {AWS_KEY}"},
                why=f"pods hold the old password {DSN_PASSWORD} (postgres://orders:{DSN_PASSWORD}@db)",
            )
        ],
        fallback_reason=f"model said: use {GITHUB}",
    )


def assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, secret


# --- structure ---------------------------------------------------------------------------------------


def test_pem_logged_one_line_per_log_line() -> None:
    body = ["MIIEpAIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB"] * 3 + ["xq5uHs4YH7PN=="]
    lines = ["-----BEGIN RSA PRIVATE KEY-----", *body, "-----END RSA PRIVATE KEY-----", "key loaded"]
    text = "\n".join(f"2026-11-20T02:00:0{i}Z tls-loader[1]: {line}" for i, line in enumerate(lines))
    out = redact_text(text)
    assert "MIIEpAIBAAKCAQEA" not in out and "xq5uHs4YH7PN" not in out
    assert out.count("[REDACTED:private_key]") == 4
    assert "2026-11-20T02:00:01Z tls-loader[1]: [REDACTED:private_key]" in out
    assert out.endswith(
        "tls-loader[1]: -----END RSA PRIVATE KEY-----\n2026-11-20T02:00:06Z tls-loader[1]: key loaded"
    )


def test_secret_manifest_values_go_under_any_key_configmap_data_stays() -> None:
    listing = (
        "apiVersion: v1\nitems:\n"
        "- apiVersion: v1\n  data:\n    DATABASE_URL: cG9zdGdyZXM6Ly9hcHA6cHdAZGIvb3JkZXJz\n"
        "    tls.key: LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0t\n  kind: Secret\n  metadata:\n    name: orders\n"
        "- apiVersion: v1\n  data:\n    LOG_LEVEL: debug\n    DB_NAME: postgres\n  kind: ConfigMap\n"
        "  metadata:\n    name: orders-config\nkind: List\n"
    )
    out = redact_text(listing)
    assert "cG9zdGdyZXM6" not in out and "LS0tLS1CRUdJ" not in out
    assert "    DATABASE_URL: [REDACTED:k8s_secret]\n    tls.key: [REDACTED:k8s_secret]\n" in out
    assert "    LOG_LEVEL: debug\n    DB_NAME: postgres\n" in out  # a ConfigMap's data is data


def test_secret_json_values_go_configmap_json_stays() -> None:
    secret = {"apiVersion": "v1", "data": {".dockerconfigjson": "eyJhdXRocyI6e319"}, "kind": "Secret"}
    config = {"apiVersion": "v1", "data": {"mode": "prod", "region": "eu"}, "kind": "ConfigMap"}
    out = redact_text(json.dumps(secret, indent=2) + "\n" + json.dumps(config))
    assert "eyJhdXRocyI6e319" not in out
    assert json.dumps(config) in out


def test_kubectl_describe_env_names_that_look_secret() -> None:
    env = (
        "    Environment:\n      DB_HOST:          db.orders.svc\n      DB_PASS:          Xk9mPq2vLw\n"
        "      REDIS_PASS:       s3cr3tR3dis\n      SMTP_CREDENTIALS: mailer:Zq7Lm2Pw\n"
        "      SLACK_WEBHOOK:    https://hooks.slack.com/services/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\n"
        "      API_KEY:          <set to the key 'api-key' in secret 'orders'>  Optional: false\n"
    )
    out = redact_text(env)
    for secret in ("Xk9mPq2vLw", "s3cr3tR3dis", "Zq7Lm2Pw", "Qm8RtY2wVn4KpL6sXz0aBcDe"):
        assert secret not in out
    assert "DB_HOST:          db.orders.svc" in out
    assert "<set to the key 'api-key' in secret 'orders'>" in out


@pytest.mark.parametrize(
    ("name", "value", "kind"),
    [
        ("DB_PASS", "Xk9mPq2vLw", "password"),
        ("pw", "Winter2026", "password"),
        ("bindpw", "Winter2026", "password"),
        ("credentials", "svc:Zq7Lm2Pw", "credential"),
        ("X-Auth-Token", "abc123def456", "token"),
        ("session_cookie", "s%3Aabc123", "cookie"),
        ("SENTRY_DSN", "abcdef0123456789", "dsn"),
        ("SLACK_WEBHOOK", "https://hooks.slack.com/services/T0/B0/Qm8RtY2wVn4KpL6s", "webhook"),
        ("routing_key", "e93facc04764012d7bfb002500d5d1a6", "routing_key"),
        ("auth", "ZGVwbG95OnMzY3IzdA==", "auth"),
        ("apiKey", "f3a9c2e1b7d4", "api_key"),
        ("client-key-data", "LS0tLS1CRUdJTg==", "private_key"),
        ("license_key", "9d8c7b6a5f4e", "secret"),
        ("key", "Qm8RtY2wVn4KpL6sXz0aBcDe", "secret"),
    ],
)
def test_secret_looking_names(name: str, value: str, kind: str) -> None:
    assert secret_key_kind(name, value) == kind


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("max_tokens", "512"),
        ("token_count", "20"),
        ("keyspace", "orders"),
        ("key", "orders-123"),
        ("cache_key", "user:42:cart"),
        ("idempotency_key", "idk_abjypx4mchc45ffgqo9r"),
        ("routing_key", "orders.created"),
        ("auth_method", "oidc"),
        ("client_auth", "require_and_verify"),
        ("author", "alice"),
        ("password_reset_url", "/reset"),
        ("secretName", "db-creds"),
        ("private_key_id", "0123456789abcdef"),
        ("PWD", "/home/app"),
        ("ssh_key", "/etc/ssh/id_ed25519"),
        ("DATABASE_DSN", "postgres://app:x@db/orders"),  # the URL rule takes only the password
    ],
)
def test_harmless_names(name: str, value: str) -> None:
    assert secret_key_kind(name, value) is None


@pytest.mark.parametrize(
    "text",
    [
        "cache hit key=orders-123 ttl=30s keyspace=orders",
        "llm request max_tokens=512 token_count=20 model=gpt",
        "rabbitmq publish exchange=orders routing_key=orders.created",
        "listening addr=:8443 tls=true client_auth=require_and_verify",
        "[certwatch] serving certificate has EXPIRED secret=auth/auth-service-tls",
        '"msg": "idempotency key reused", "idempotency_key": "idk_abjypx4mchc45ffgqo9r"',
        "Data\n====\npassword:  16 bytes\ntls.key:   1704 bytes",
        "ExpiredToken: The security token included in the request is expired",
        "HMAC Signature: Secret = the value of OPSAGENT_GRAFANA_WEBHOOK_SECRET",
        'curl -s -u "$RMQ_USER:$RMQ_PASS" http://rabbitmq:15672/api/queues',
        "export OPSAGENT_PAGERDUTY_API_TOKEN=...  # REST API key",
        "run sync_external_secret (externalsecret=inventory-db-credentials)",
        "apiVersion: v1\ndata:\n  LOG_LEVEL: INFO\n  PORT: '8080'\n  DB_NAME: postgres\n",
        "deployed 9fceb02d0ae598e95dc970b74767f19372d61af8 with AKIAIOSFODNN7EXAMPLE in the same line",
        "12:30:45:123:456 frame counters",
        '{"lastTimestamp":"2026-11-27T01:09:44Z","count":1}',
        "image sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 pulled",
        "trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7",
    ],
)
def test_ordinary_lines_stay(text: str) -> None:
    out = redact(text)
    if "AKIA" in text:
        assert "9fceb02d0ae598e95dc970b74767f19372d61af8" in out.text  # a git SHA is not an AWS secret
        return
    assert out.text == text, out.text


def test_escaped_multiline_json_string_is_decoded_redacted_and_reencoded() -> None:
    body = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7"
    pem = f"-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----"
    alert = json.dumps({"annotations": {"description": f"key:\n{pem}\nplease copy it"}})
    out = redact_text(alert)
    assert "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" not in out
    assert json.loads(out)["annotations"]["description"].endswith("please copy it")


# --- what leaves the process ------------------------------------------------------------------------


def test_redact_diagnosis_covers_every_text_field_and_keeps_the_rest() -> None:
    diagnosis = leaky_diagnosis()
    clean = redact_diagnosis(diagnosis)
    assert_clean(clean.model_dump_json())
    assert clean.evidence[0].citation == diagnosis.evidence[0].citation
    assert clean.proposed_actions[0].parameters["namespace"] == "orders"
    assert clean.proposed_actions[0].parameters["token"] == "[REDACTED:token]"
    assert clean.confidence.value == 0.6
    assert redact_diagnosis(clean) == clean


def test_redacted_excerpt_stays_within_its_limit() -> None:
    excerpt = " ".join(["AKIAZ7QW4ND3XAMPL3KY"] * 95)[:2000]
    diagnosis = leaky_diagnosis().model_copy(
        update={"evidence": [Evidence(kind="log", citation=Citation(source="x.log"), excerpt=excerpt)]}
    )
    clean = redact_diagnosis(diagnosis)
    assert len(clean.evidence[0].excerpt) <= 2000 and "AKIA" not in clean.evidence[0].excerpt


def test_notices_carry_no_secret() -> None:
    notice = TriageNotice(
        incident_id=7, alert_name="OrdersDbAuthFailing", status="firing", source="alertmanager",
        diagnosis=leaky_diagnosis(),
    )  # fmt: skip
    assert_clean(notice_text(notice))
    assert_clean(json.dumps(slack_message(notice)))


def test_server_logs_are_redacted() -> None:
    record = logging.LogRecord(
        "opsagent.worker", logging.ERROR, __file__, 1, "triage failed: %s", (LINES[1],), None
    )
    record.detail = LINES[0]
    assert_clean(JsonFormatter().format(record))
    assert_clean(TextFormatter().format(record))
    assert "[REDACTED:password]" in TextFormatter().format(record)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class LeakyDiagnoser:
    def diagnose(self, alert: object) -> Diagnosis:
        return leaky_diagnosis()


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(api_settings(tmp_path), diagnoser=LeakyDiagnoser) as running:
        yield running


@pytest.mark.anyio
async def test_stored_and_served_diagnosis_has_no_secret(api: Api) -> None:
    from opsagent.incidents.worker import Worker

    await api.client.post(
        "/v1/webhooks/alertmanager", json=alertmanager_body("fp-leak"), headers=api.auth("webhook")
    )
    worker = Worker(
        api.services.settings, api.services.store, api.services.triage, metrics=api.services.metrics
    )
    while worker.run_once():
        pass
    stored = api.services.store.get_incident(1)
    assert stored.diagnosis is not None
    assert_clean(stored.model_dump_json())  # diagnosis and timeline ("triaged: <summary>")
    served = await api.client.get("/v1/incidents/1", headers=api.auth("read"))
    assert served.status_code == 200
    assert_clean(served.text)
    assert "[REDACTED:" in served.text


def test_served_alerts_carry_no_secrets() -> None:
    from opsagent.agent.redaction import redact_alert
    from opsagent.integrations.generic import parse_alert_payload

    key = "AKIAIOSFODNN7EXAMPLE"
    payload = {
        "alertname": "Leaky",
        "labels": {"service": "api", "db_password": "hunter2-Very-Secret"},
        "annotations": {"description": f"aws_access_key_id={key} was used"},
    }
    alert = parse_alert_payload(payload)[0]
    served = redact_alert(alert)
    text = served.model_dump_json()
    assert key not in text and "hunter2-Very-Secret" not in text
    assert served.labels["service"] == "api" and served.name == "Leaky"
    assert key in alert.model_dump_json()  # the stored copy stays as received, for audit
