"""Triage notifications against a real HTTP receiver on loopback: payloads, retries, failures, redaction."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from tenacity import wait_none

from opsagent.agent.diagnosis import Confidence, Diagnosis, Evidence, ProposedAction
from opsagent.config import Settings
from opsagent.incidents.notify import (
    MAX_RETRY_AFTER_SECONDS,
    NotificationError,
    Notifier,
    TriageNotice,
    notice_text,
    retry_after_seconds,
    retry_delay,
)
from opsagent.integrations.pagerduty_api import NOTE_MAX_CHARS, add_pagerduty_note
from opsagent.integrations.slack import slack_message
from opsagent.knowledge.models import Citation

SLACK_PATH = "/services/T000/B000/slackSecretPart123"
PD_TOKEN = "pd-token-u+secret"
PD_EMAIL = "oncall@example.com"


@dataclass
class Reply:
    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: Receiver

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that time out hang up on a delayed reply; that is expected here."""


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Requests are recorded on the receiver instead."""

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        reply = self.server.receiver._take(
            Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        )
        if reply.delay:
            time.sleep(reply.delay)
        data = reply.body.encode()
        self.send_response(reply.status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class Receiver:
    """A loopback HTTP server answering from a queue of scripted replies and recording every request."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.receiver = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    def _take(self, request: Received) -> Reply:
        with self._lock:
            self.requests.append(request)
            return self._replies.popleft() if self._replies else Reply(500, "unscripted request")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.start()
    yield server
    server.stop()


def _settings(receiver: Receiver | None = None, **overrides: Any) -> Settings:
    base = receiver.url if receiver else "http://127.0.0.1:9"
    values: dict[str, Any] = {
        "slack_webhook_url": base + SLACK_PATH,
        "pagerduty_api_url": base,
        "pagerduty_api_token": PD_TOKEN,
        "pagerduty_from_email": PD_EMAIL,
        "notify_max_attempts": 3,
        "notify_timeout_seconds": 2,
    }
    values.update(overrides)
    return Settings(**values)


def _notice(**overrides: Any) -> TriageNotice:
    diagnosis = Diagnosis(
        alert_name="KubePodOOMKilled",
        summary="payments-api pods are OOMKilled after the 14:02 deploy.",
        probable_root_cause="The new image leaks memory in the cache warmer.",
        confidence=Confidence(value=0.82, reason="Exit code 137 and the runbook match."),
        runbook=Citation(source="kubernetes/pod-oomkilled.md", section="Mitigation", line_start=12),
        evidence=[
            Evidence(
                kind="log",
                citation=Citation(source="logs/payments.log", line_start=40 + i),
                excerpt=f"container killed: OOMKilled (line {i})",
            )
            for i in range(5)
        ],
        next_steps=["Check memory usage per pod."],
        proposed_actions=[
            ProposedAction(
                action_id="restart_deployment",
                parameters={"namespace": "prod", "deployment": "payments-api"},
                why="Frees leaked memory until a fix ships.",
            )
        ],
    )
    values: dict[str, Any] = {
        "incident_id": 42,
        "alert_name": "KubePodOOMKilled",
        "status": "firing",
        "severity": "critical",
        "service": "payments-api",
        "source": "alertmanager",
        "pagerduty_incident_id": "PABC123",
        "url": "https://opsagent.example.com/incidents/42",
        "diagnosis": diagnosis,
    }
    values.update(overrides)
    return TriageNotice(**values)


def _notifier(settings: Settings) -> Notifier:
    return Notifier(settings, wait=wait_none())


def _block_texts(payload: dict[str, Any]) -> list[str]:
    texts = []
    for block in payload["blocks"]:
        if "text" in block:
            texts.append(block["text"]["text"])
        texts += [f["text"] for f in block.get("fields", [])]
        texts += [e["text"] for e in block.get("elements", [])]
    return texts


def test_slack_payload_is_posted_and_well_formed(receiver: Receiver) -> None:
    receiver.script(Reply(200, "ok"))
    with _notifier(_settings(receiver, pagerduty_api_token=None)) as notifier:
        results = notifier.send(_notice())

    assert [(r.target, r.ok, r.attempts) for r in results] == [("slack", True, 1)]
    [request] = receiver.requests
    assert request.path == SLACK_PATH
    assert request.headers["content-type"] == "application/json"
    payload = request.json()
    assert "KubePodOOMKilled" in payload["text"]
    blocks = payload["blocks"]
    assert blocks[0]["type"] == "header" and "KubePodOOMKilled [firing]" in blocks[0]["text"]["text"]
    assert blocks[0]["text"]["type"] == "plain_text"
    assert all(b["type"] in {"header", "section", "context", "divider"} for b in blocks)
    joined = "\n".join(_block_texts(payload))
    assert "cache warmer" in joined and "82%" in joined
    assert "kubernetes/pod-oomkilled.md#Mitigation (L12)" in joined
    assert joined.count("logs/payments.log") == 3 and "+2 more" in joined
    assert "restart_deployment" in joined and "needs approval" in joined
    assert "<https://opsagent.example.com/incidents/42|Open incident #42 in opsagent>" in joined


def test_slack_text_is_escaped_and_bounded() -> None:
    notice = _notice(
        alert_name="<!channel> Disk & more " + "x" * 400,
        url="https://evil.example/x|<!here>",
    )
    notice.diagnosis.summary = "click <https://evil.example|here> now <@U123> " + "y" * 10_000
    notice.diagnosis.evidence[0].excerpt = "<!everyone> " + "&" * 1500

    payload = slack_message(notice)

    raw = json.dumps(payload)
    for injected in ("<!channel>", "<!here>", "<!everyone>", "<https://evil", "<@U123>"):
        assert injected not in raw
    # A URL that could break out of `<url|label>` is not linked at all.
    assert payload["blocks"][-1]["elements"][0]["text"] == "opsagent incident #42"
    assert "&lt;!channel&gt; Disk &amp; more" in payload["blocks"][0]["text"]["text"]
    assert "&lt;https://evil.example|here&gt;" in raw
    assert len(payload["blocks"][0]["text"]["text"]) <= 150
    assert len(payload["text"]) <= 3000
    for block in payload["blocks"]:
        if block["type"] == "section":
            assert "text" not in block or len(block["text"]["text"]) <= 3000
            assert all(len(f["text"]) <= 2000 for f in block.get("fields", []))
    assert len(payload["blocks"]) <= 50
    # No entity is cut in half by the bounding.
    assert "&am…" not in raw and "&amp…" not in raw


def test_500_then_200_is_retried(receiver: Receiver) -> None:
    receiver.script(Reply(500, "rollup_error"), Reply(200, "ok"))
    with _notifier(_settings(receiver, pagerduty_api_token=None)) as notifier:
        [result] = notifier.send(_notice())

    assert result.ok and result.attempts == 2
    assert len(receiver.requests) == 2


def test_429_retry_after_is_honoured(receiver: Receiver) -> None:
    receiver.script(Reply(429, "rate_limited", {"Retry-After": "0.3"}), Reply(200, "ok"))
    with _notifier(_settings(receiver, pagerduty_api_token=None)) as notifier:
        started = time.monotonic()
        [result] = notifier.send(_notice())
        elapsed = time.monotonic() - started

    assert result.ok and result.attempts == 2
    assert elapsed >= 0.3  # the backoff itself is wait_none(): only Retry-After can explain the delay


def test_retry_after_parsing_and_cap() -> None:
    assert retry_after_seconds("0.1") == pytest.approx(0.1)
    assert retry_after_seconds(" 2 ") == 2.0
    assert retry_after_seconds("-3") == 0.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") is None
    assert retry_after_seconds("nan") is None
    assert retry_after_seconds(None) is None
    assert retry_delay(NotificationError("x", retryable=True, retry_after=999)) == MAX_RETRY_AFTER_SECONDS
    assert retry_delay(httpx.ConnectError("refused")) is None


def test_400_is_permanent_and_hides_the_url(receiver: Receiver) -> None:
    receiver.script(Reply(400, "invalid_payload"))
    with _notifier(_settings(receiver, pagerduty_api_token=None)) as notifier:
        [result] = notifier.send(_notice())

    assert not result.ok and result.attempts == 1
    assert len(receiver.requests) == 1
    assert "invalid_payload" in result.detail and "400" in result.detail
    assert receiver.url not in result.detail and "slackSecretPart123" not in result.detail


def test_pagerduty_note(receiver: Receiver) -> None:
    receiver.script(Reply(201, '{"note": {"id": "PWL7QXS"}}'))
    with _notifier(_settings(receiver, slack_webhook_url=None)) as notifier:
        assert notifier.targets(_notice()) == ["pagerduty"]
        [result] = notifier.send(_notice())

    assert (result.target, result.ok, result.attempts) == ("pagerduty", True, 1)
    [request] = receiver.requests
    assert request.path == "/incidents/PABC123/notes"
    assert request.headers["authorization"] == f"Token token={PD_TOKEN}"
    assert request.headers["from"] == PD_EMAIL
    assert request.headers["accept"] == "application/vnd.pagerduty+json;version=2"
    assert request.headers["content-type"] == "application/json"
    content = request.json()["note"]["content"]
    assert set(request.json()) == {"note"} and set(request.json()["note"]) == {"content"}
    assert content == notice_text(_notice())
    assert "KubePodOOMKilled" in content and "cache warmer" in content and "needs approval" in content


def test_pagerduty_note_is_bounded(receiver: Receiver) -> None:
    receiver.script(Reply(201, "{}"))
    with httpx.Client() as client:
        add_pagerduty_note(
            client,
            api_url=receiver.url + "/",
            token=PD_TOKEN,
            from_email=PD_EMAIL,
            incident_id="Q0RIJJZL24RC6W",
            content="z" * 60_000,
        )
    [request] = receiver.requests
    assert request.path == "/incidents/Q0RIJJZL24RC6W/notes"
    assert len(request.json()["note"]["content"]) <= NOTE_MAX_CHARS


def test_pagerduty_error_reason(receiver: Receiver) -> None:
    body = json.dumps({"error": {"message": "Invalid Input Provided", "code": 2001, "errors": ["too long"]}})
    receiver.script(Reply(400, body))
    with _notifier(_settings(receiver, slack_webhook_url=None)) as notifier:
        [result] = notifier.send(_notice())
    assert not result.ok and result.attempts == 1
    assert "Invalid Input Provided" in result.detail and "too long" in result.detail
    assert PD_TOKEN not in result.detail


def test_targets(receiver: Receiver) -> None:
    with _notifier(_settings(receiver)) as notifier:
        assert notifier.targets(_notice()) == ["slack", "pagerduty"]
        assert notifier.targets(_notice(pagerduty_incident_id=None)) == ["slack"]
    with _notifier(_settings(receiver, pagerduty_from_email=None)) as notifier:
        assert notifier.targets(_notice()) == ["slack"]
    with _notifier(Settings()) as notifier:
        assert notifier.targets(_notice()) == []
        assert notifier.send(_notice()) == []


def test_no_pagerduty_note_without_pagerduty_incident(receiver: Receiver) -> None:
    receiver.script(Reply(200, "ok"))
    with _notifier(_settings(receiver)) as notifier:
        results = notifier.send(_notice(pagerduty_incident_id=None))
    assert [r.target for r in results] == ["slack"]
    assert [r.path for r in receiver.requests] == [SLACK_PATH]


@pytest.mark.parametrize("bad_id", ["../x", "PABC123/../../users", "P ABC", "PABC123\n", "", "x" * 65])
def test_bad_pagerduty_incident_id_is_refused(receiver: Receiver, bad_id: str) -> None:
    with _notifier(_settings(receiver, slack_webhook_url=None)) as notifier:
        [result] = notifier.send(_notice(pagerduty_incident_id=bad_id or "placeholder!"))
    assert not result.ok and result.attempts == 1 and "Refusing" in result.detail
    with httpx.Client() as client, pytest.raises(NotificationError):
        add_pagerduty_note(
            client, api_url=receiver.url, token=PD_TOKEN, from_email=PD_EMAIL, incident_id=bad_id, content="x"
        )
    assert receiver.requests == []


def test_slack_failure_does_not_stop_pagerduty(receiver: Receiver) -> None:
    receiver.script(Reply(404, "no_service"), Reply(201, "{}"))
    with _notifier(_settings(receiver)) as notifier:
        slack, pagerduty = notifier.send(_notice())

    assert (slack.target, slack.ok) == ("slack", False) and "no_service" in slack.detail
    assert (pagerduty.target, pagerduty.ok) == ("pagerduty", True)
    assert [r.path for r in receiver.requests] == [SLACK_PATH, "/incidents/PABC123/notes"]


def test_planted_secrets_never_reach_the_receiver(receiver: Receiver) -> None:
    receiver.script(Reply(200, "ok"), Reply(201, "{}"))
    notice = _notice(alert_name="DBDown AKIAIOSFODNN7EXAMPLE")
    notice.diagnosis.summary = "connect to postgres://app:hunter2@db/x failed"
    notice.diagnosis.evidence[0].excerpt = "aws_access_key=AKIAIOSFODNN7EXAMPLE " + "pad " * 200
    notice.diagnosis.probable_root_cause = "The password=Sup3rS3cret! was rotated."
    notice.diagnosis.proposed_actions[0].parameters["db_password"] = "hunter2"

    with _notifier(_settings(receiver)) as notifier:
        results = notifier.send(notice)

    assert all(r.ok for r in results) and len(receiver.requests) == 2
    for request in receiver.requests:
        for secret in (b"hunter2", b"AKIAIOSFODNN7EXAMPLE", b"Sup3rS3cret"):
            assert secret not in request.body
    assert b"[REDACTED:password]" in receiver.requests[0].body


def test_timeout_is_retried(receiver: Receiver) -> None:
    receiver.script(Reply(200, "ok", delay=0.6), Reply(200, "ok"))
    settings = _settings(receiver, pagerduty_api_token=None, notify_timeout_seconds=0.2)
    with _notifier(settings) as notifier:
        [result] = notifier.send(_notice())
    assert result.ok and result.attempts == 2


def test_connection_refused_gives_up_without_raising() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    settings = _settings(slack_webhook_url=url + SLACK_PATH, pagerduty_api_url=url, notify_max_attempts=3)
    with _notifier(settings) as notifier:
        results = notifier.send(_notice())

    assert [(r.target, r.ok, r.attempts) for r in results] == [("slack", False, 3), ("pagerduty", False, 3)]
    for result in results:
        assert "ConnectError" in result.detail and "gave up after 3 attempts" in result.detail
        assert "slackSecretPart123" not in result.detail and PD_TOKEN not in result.detail


def test_notifier_closes_only_its_own_client() -> None:
    with httpx.Client() as client:
        Notifier(Settings(), client).close()
        assert not client.is_closed
    notifier = Notifier(Settings())
    notifier.close()
    assert notifier._client.is_closed
