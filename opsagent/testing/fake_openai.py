"""An OpenAI-compatible HTTP server on loopback that answers from a script and injects faults."""

from __future__ import annotations

import contextlib
import json
import random
import socket
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal

from langchain_core.messages import AIMessage

from opsagent.testing.openai_wire import completion_body, stream_events
from opsagent.testing.scripted import ScriptedReply, ScriptedToolCall, estimate_tokens

__all__ = ["Chaos", "Fault", "FakeOpenAIServer", "Responder", "ServerReply", "prompt_tokens_of"]

FaultKind = Literal["http_error", "slow", "malformed", "disconnect", "bad_tool_arguments", "cut"]


@dataclass(frozen=True)
class Fault:
    """A scripted failure for one request; build with the class methods."""

    kind: FaultKind
    status: int = 500
    message: str = ""
    error_type: str = "server_error"
    retry_after: float | None = None
    seconds: float = 0.0
    then: str | ScriptedToolCall | ScriptedReply | AIMessage | None = None

    @classmethod
    def rate_limit(cls, retry_after: float = 1) -> Fault:
        """429 with a `Retry-After` header and an OpenAI error body."""
        return cls(
            kind="http_error",
            status=429,
            message="Rate limit reached for fake (scripted by FakeOpenAIServer).",
            error_type="rate_limit_exceeded",
            retry_after=retry_after,
        )

    @classmethod
    def server_error(cls, status: int = 500, message: str = "The server had an error.") -> Fault:
        """A 5xx (500 by default) with an OpenAI error body."""
        return cls(kind="http_error", status=status, message=message, error_type="server_error")

    @classmethod
    def http_error(cls, status: int, message: str, error_type: str = "invalid_request_error") -> Fault:
        """Any HTTP error status with an OpenAI error body (401, 400, 503, ...)."""
        return cls(kind="http_error", status=status, message=message, error_type=error_type)

    @classmethod
    def slow(cls, seconds: float, then: str | ScriptedToolCall | ScriptedReply | AIMessage = "ok") -> Fault:
        """Wait `seconds` before answering with `then`, to trigger client timeouts."""
        return cls(kind="slow", seconds=seconds, then=then)

    @classmethod
    def malformed(cls) -> Fault:
        """200 whose body is not valid JSON (or, when streaming, an SSE event that is not JSON)."""
        return cls(kind="malformed")

    @classmethod
    def disconnect(cls) -> Fault:
        """Close the connection without any response."""
        return cls(kind="disconnect")

    @classmethod
    def bad_tool_arguments(cls, tool: str = "log_lines", arguments: str = '{"keywords": ') -> Fault:
        """200 with a tool call whose `arguments` string is not valid JSON (a model emitting garbage)."""
        return cls(kind="bad_tool_arguments", message=arguments, then=ScriptedToolCall(tool))

    @classmethod
    def cut(cls) -> Fault:
        """The answer stops mid-way: half the SSE events (no `[DONE]`), or half the JSON body of a
        response whose Content-Length promised all of it; then the connection closes."""
        return cls(kind="cut")


@dataclass
class Chaos:
    """Seeded random faults: each request fails with probability `rate`, with one of `faults` (uniformly).

    A faulted request does not consume a scripted reply, so the script (or responder) still answers
    the retry. `injected` counts the faults sent, by kind (`http_error` by status).
    """

    rate: float = 0.3
    seed: int = 0
    faults: Sequence[Fault] = (
        Fault.rate_limit(retry_after=0),
        Fault.server_error(),
        Fault.slow(30),
        Fault.malformed(),
        Fault.bad_tool_arguments(),
        Fault.cut(),
    )
    injected: dict[str, int] = field(default_factory=dict)
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0 <= self.rate <= 1 or not self.faults:
            raise ValueError("Chaos needs 0 <= rate <= 1 and at least one fault")
        self._rng = random.Random(self.seed)

    def pick(self) -> Fault | None:
        """The fault for the next request, or None to answer normally (call under the server's lock)."""
        if self._rng.random() >= self.rate:
            return None
        fault = self._rng.choice(list(self.faults))
        name = f"http_{fault.status}" if fault.kind == "http_error" else fault.kind
        self.injected[name] = self.injected.get(name, 0) + 1
        return fault


ServerReply = str | AIMessage | ScriptedToolCall | ScriptedReply | Fault
"""What the server can be scripted with: the chat-model replies (not exceptions) plus faults."""

Responder = Callable[[dict[str, Any]], ServerReply]
"""Computes a reply from the request body, for requests the script has no reply left for."""


def prompt_tokens_of(body: dict[str, Any]) -> int:
    """Prompt tokens of a chat request: `estimate_tokens` of the compact JSON of its messages and tools."""
    # Tools count because real providers bill their schemas as prompt tokens too.
    payload = {"messages": body.get("messages", []), "tools": body.get("tools", [])}
    return estimate_tokens(json.dumps(payload, ensure_ascii=False, separators=(",", ":")))


def _as_reply(reply: str | AIMessage | ScriptedToolCall | ScriptedReply) -> ScriptedReply:
    if isinstance(reply, str):
        return ScriptedReply(text=reply)
    if isinstance(reply, ScriptedToolCall):
        return ScriptedReply(tool_calls=[reply])
    if isinstance(reply, AIMessage):
        text = reply.content if isinstance(reply.content, str) else str(reply.text)
        calls = [ScriptedToolCall(c["name"], dict(c["args"]), c["id"]) for c in reply.tool_calls]
        return ScriptedReply(text=text, tool_calls=calls)
    return reply


def _check(reply: object) -> ServerReply:
    if isinstance(reply, str | AIMessage | ScriptedToolCall | ScriptedReply | Fault):
        return reply
    raise TypeError(f"FakeOpenAIServer cannot reply with {type(reply).__name__}")


class _Exhausted(Exception):
    """No scripted reply left for a request."""


class _HTTPServer(ThreadingHTTPServer):
    # Handler threads are joined by server_close(), so nothing outlives the with-block.
    daemon_threads = False
    block_on_close = True
    fake: FakeOpenAIServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet about clients that hang up (timeouts, disconnect faults); record anything else."""
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError | TimeoutError):
            with self.fake._lock:
                self.fake.errors.append(f"handler error: {error!r}")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.fake._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output clean; requests are recorded on the server object instead."""

    def do_GET(self) -> None:
        fake = self.server.fake
        if not self._authorized():
            return
        if self.path.rstrip("/") == "/v1/models":
            data = [
                {"id": m, "object": "model", "created": 0, "owned_by": "opsagent-testing"}
                for m in fake.models
            ]
            self._send_json(200, {"object": "list", "data": data})
        else:
            self._send_error(404, f"Unknown path {self.path}", "not_found_error")

    def do_POST(self) -> None:
        fake = self.server.fake
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send_error(404, f"Unknown path {self.path} (only /v1/chat/completions)", "not_found_error")
            return
        try:
            body = json.loads(raw)
        except ValueError:
            self._send_error(400, "Request body is not valid JSON.", "invalid_request_error")
            return
        if not isinstance(body, dict):
            self._send_error(400, "Request body must be a JSON object.", "invalid_request_error")
            return
        fake._record(body, {name.lower(): value for name, value in self.headers.items()})
        if not self._authorized():
            return
        try:
            reply = fake._next_reply(body)
        except _Exhausted as exhausted:
            # 400 rather than 5xx so retrying clients fail at once with this message instead of looping.
            self._send_error(400, str(exhausted), "fake_script_exhausted")
            return
        self._answer(body, reply)

    def _authorized(self) -> bool:
        key = self.server.fake.require_api_key
        if key is None or self.headers.get("Authorization") == f"Bearer {key}":
            return True
        self._send_error(401, "Incorrect API key provided.", "invalid_api_key")
        return False

    def _answer(self, body: dict[str, Any], reply: ServerReply) -> None:
        fake = self.server.fake
        if isinstance(reply, Fault):
            if reply.kind == "http_error":
                headers = {} if reply.retry_after is None else {"Retry-After": f"{reply.retry_after:g}"}
                self._send_error(reply.status, reply.message, reply.error_type, headers)
                return
            if reply.kind == "disconnect":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if reply.kind == "malformed":
                if body.get("stream"):
                    self._send_sse(['{"id": "chatcmpl-broken", "choices": [', "[DONE]"])
                else:
                    self._send_bytes(200, b'{"id": "chatcmpl-broken", "choices": [', "application/json")
                return
            if reply.kind == "bad_tool_arguments":
                self._send_bad_tool_arguments(body, reply)
                return
            if reply.kind == "cut":
                self._send_cut(body)
                return
            # A stopping server wakes the sleep, so exit never waits for the full delay.
            if fake._stopping.wait(reply.seconds):
                self.close_connection = True
                return
            assert reply.then is not None
            reply = reply.then
        scripted = _as_reply(reply)
        model = str(body.get("model") or "fake")
        prompt_tokens = prompt_tokens_of(body)
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            events = stream_events(
                scripted, model, fake._tool_call_ids(scripted), prompt_tokens, include_usage
            )
            self._send_sse([*events, "[DONE]"])
        else:
            completion = completion_body(scripted, model, fake._tool_call_ids(scripted), prompt_tokens)
            self._send_json(200, completion)

    def _send_bad_tool_arguments(self, body: dict[str, Any], fault: Fault) -> None:
        assert isinstance(fault.then, ScriptedToolCall)
        reply = ScriptedReply(tool_calls=[fault.then])
        model = str(body.get("model") or "fake")
        ids = self.server.fake._tool_call_ids(reply)
        if body.get("stream"):
            events = list(stream_events(reply, model, ids, prompt_tokens_of(body), False))
            # Keep the delta that names the call and replace the argument pieces with the broken string.
            naming = next(i for i, e in enumerate(events) if '"tool_calls"' in e)
            piece = json.loads(events[naming + 1])
            piece["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"] = fault.message
            broken = [*events[: naming + 1], json.dumps(piece), events[-1]]
            self._send_sse([*broken, "[DONE]"])
            return
        completion = completion_body(reply, model, ids, prompt_tokens_of(body))
        completion["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"] = fault.message
        self._send_json(200, completion)

    def _send_cut(self, body: dict[str, Any]) -> None:
        reply = ScriptedReply(text='{"summary": "The answer was cut off here, mid-way through the JSON')
        model = str(body.get("model") or "fake")
        self.close_connection = True
        if body.get("stream"):
            events = list(stream_events(reply, model, [], prompt_tokens_of(body), False))
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for event in events[: max(1, len(events) // 2)]:
                data = f"data: {event}\n\n".encode()
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
        else:
            data = json.dumps(completion_body(reply, model, [], prompt_tokens_of(body))).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
        # No terminating chunk and no rest of the body: the client sees the connection end mid-answer.
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _send_error(
        self, status: int, message: str, error_type: str, headers: dict[str, str] | None = None
    ) -> None:
        error = {"error": {"message": message, "type": error_type, "param": None, "code": error_type}}
        self._send_bytes(status, json.dumps(error).encode(), "application/json", headers)

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        self._send_bytes(status, json.dumps(payload).encode(), "application/json")

    def _send_bytes(
        self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _send_sse(self, events: Iterable[str]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for event in events:
            data = f"data: {event}\n\n".encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")


class FakeOpenAIServer:
    """OpenAI-compatible chat completions on 127.0.0.1 (free port), answering from a script.

    Example:
        with FakeOpenAIServer([Fault.rate_limit(retry_after=1), "All pods healthy."]) as server:
            llm = ChatOpenAI(base_url=server.base_url, api_key="test", model="fake", max_retries=1)
            assert llm.invoke("status?").content == "All pods healthy."
            assert "sk-secret" not in json.dumps(server.requests)
            server.assert_complete()
    """

    def __init__(
        self,
        replies: Iterable[ServerReply] = (),
        *,
        models: Sequence[str] = ("fake",),
        require_api_key: str | None = None,
        responder: Responder | None = None,
        chaos: Chaos | None = None,
    ) -> None:
        self.models = list(models)
        self.require_api_key = require_api_key
        self.responder = responder
        """Answers requests once the script is used up (instead of a 400 'script exhausted')."""
        self.chaos = chaos
        """Seeded random faults injected before the script or responder is consulted."""
        self.requests: list[dict[str, Any]] = []
        """Every chat completion request body, in order (faulted ones included)."""
        self.headers: list[dict[str, str]] = []
        """The headers (names lower-cased) of every chat completion request, parallel to `requests`."""
        self.errors: list[str] = []
        """Unexpected handler errors and script overruns; `assert_complete` fails if any."""
        self.prompt_tokens_received = 0
        """Sum of `prompt_tokens_of(body)` over all chat completion requests received."""
        self._queue: deque[ServerReply] = deque()
        self._scripted = 0
        self._tool_call_seq = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.add(*replies)

    @property
    def port(self) -> int:
        """The port the server listens on (only while running)."""
        if self._httpd is None:
            raise RuntimeError("FakeOpenAIServer is not running; use it as a context manager")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """The OpenAI base URL to configure clients with: http://127.0.0.1:PORT/v1."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def remaining(self) -> int:
        """How many scripted replies have not been used yet."""
        return len(self._queue)

    def add(self, *replies: ServerReply) -> None:
        """Append replies or faults to the script (also while running)."""
        checked = [_check(r) for r in replies]
        with self._lock:
            self._queue.extend(checked)
            self._scripted += len(checked)

    def assert_complete(self) -> None:
        """Raise AssertionError if scripted replies were left unused or a request found none."""
        with self._lock:
            left, errors = list(self._queue), list(self.errors)
        problems = [*errors]
        if left:
            problems.append(
                f"{len(left)} of {self._scripted} scripted replies were not used; next: {left[0]!r}"
            )
        if problems:
            raise AssertionError("FakeOpenAIServer: " + "; ".join(problems))

    def start(self) -> FakeOpenAIServer:
        """Bind a free loopback port and serve in a background thread."""
        if self._httpd is not None:
            raise RuntimeError("FakeOpenAIServer is already running")
        self._stopping.clear()
        httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        httpd.fake = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, cut open connections, close the port and join every thread."""
        httpd, thread = self._httpd, self._thread
        if httpd is None or thread is None:
            return
        self._stopping.set()
        httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        # Idle keep-alive connections would otherwise hold their handler threads (and server_close) open.
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        thread.join(timeout=5)
        self._httpd = self._thread = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _track(self, connection: socket.socket, *, add: bool) -> None:
        with self._lock:
            if not add:
                self._connections.discard(connection)
            elif self._stopping.is_set():
                # Accepted just as stop() took its snapshot: cut it here, or its thread would block the join.
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)
            else:
                self._connections.add(connection)

    def _record(self, body: dict[str, Any], headers: dict[str, str]) -> None:
        with self._lock:
            self.requests.append(body)
            self.headers.append(headers)
            self.prompt_tokens_received += prompt_tokens_of(body)

    def _next_reply(self, body: dict[str, Any]) -> ServerReply:
        with self._lock:
            fault = self.chaos.pick() if self.chaos is not None else None
            if fault is not None:
                return fault
            if self._queue:
                return self._queue.popleft()
        if self.responder is not None:
            return _check(self.responder(body))
        with self._lock:
            message = (
                f"FakeOpenAIServer got request {len(self.requests)} but only {self._scripted} "
                f"{'reply was' if self._scripted == 1 else 'replies were'} scripted"
            )
            self.errors.append(message)
        raise _Exhausted(message)

    def _tool_call_ids(self, reply: ScriptedReply) -> list[str]:
        ids = []
        with self._lock:
            for call in reply.tool_calls:
                if call.id is None:
                    self._tool_call_seq += 1
                ids.append(call.id or f"call_{self._tool_call_seq}")
        return ids
