"""Structured logs: one JSON object per line (or plain text), and one access line per request."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsagent.agent.redaction import redact_text
from opsagent.metrics import Metrics

# Attributes every LogRecord has; anything else was passed with `extra=` and goes into the JSON.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
access_log = logging.getLogger("opsagent.access")


class JsonFormatter(logging.Formatter):
    """`{"ts", "level", "logger", "message", ...extra}` per line, secrets redacted."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": round(record.created, 3),
            "level": record.levelname.lower(),
            "logger": record.name,
            # Messages and tracebacks quote alert fields, log lines and model output: redact them.
            "message": redact_text(record.getMessage()),
        }
        entry.update(
            {
                k: redact_text(v) if isinstance(v, str) else v
                for k, v in record.__dict__.items()
                if k not in _STANDARD
            }
        )
        if record.exc_info:
            entry["exception"] = redact_text(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message` with secrets redacted from the whole line (and any traceback)."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


def configure_logging(fmt: str, level: str) -> None:
    """Route opsagent's and uvicorn's logs to stderr in the chosen format."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # our access line replaces it
    for noisy in ("httpx", "chromadb", "alembic"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


class AccessLogMiddleware:
    """Logs method, route, status and duration of each request, and counts them in the metrics.

    Pure ASGI (not BaseHTTPMiddleware) so streaming responses are not buffered.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        request_id = _request_id(_header(scope, b"x-request-id"))

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            seconds = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope.get("method", "")
            method = method if method in KNOWN_METHODS else "OTHER"  # a label must not grow with input
            path = _printable(scope.get("path", ""))
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.request_seconds.labels(method, route).observe(seconds)
            access_log.info(
                "%s %s %s %.1fms",
                method,
                path,
                status,
                seconds * 1000,
                extra={
                    "request_id": request_id,
                    "method": method,
                    "path": path,
                    "route": route,
                    "status": status,
                    "ms": round(seconds * 1000, 2),
                },
            )


KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _printable(text: str, limit: int = 500) -> str:
    """The decoded path with control characters escaped: a `%0A` must not start a fake log line."""
    cut = text[:limit]
    if cut.isprintable():
        return cut
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in cut)


# A caller's request id is echoed in the response and written to every log line of the request: only
# short ids of safe characters (UUIDs, ULIDs, trace ids) are kept; anything else gets a fresh one.
REQUEST_ID = re.compile(rb"[A-Za-z0-9._:-]{1,64}")


def _request_id(sent: bytes | None) -> str:
    if sent is not None and REQUEST_ID.fullmatch(sent):
        return sent.decode("ascii")
    return uuid.uuid4().hex[:16]


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key == name:
            found: bytes = value
            return found
    return None
