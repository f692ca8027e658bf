"""The request body deadline: a slow client (one byte a second) cannot hold a request open for ever.

uvicorn has no body timeout: a handler waiting for the next chunk of a dribbled body waits as long as the
client keeps the connection open. This middleware gives the whole body a deadline, counted from when the
headers arrived, and answers 408 when it passes. The headers have their own deadline in the HTTP protocol
(opsagent/api/server.py), which sees bytes before there is a request.

A response sent before its request's body was read to the end (a 401 for an upload, a 413, this 408)
also closes the connection: the rest of the body would otherwise be read as the next request, and a
client dribbling it would keep the connection, with its keep-alive timer cancelled by every byte.
"""

from __future__ import annotations

import asyncio

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTimeout(HTTPException):
    """The request body did not arrive in time (408)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(
            408,
            f"The request body did not arrive within {seconds:g} s of its headers "
            "(OPSAGENT_API_BODY_TIMEOUT_SECONDS): send it faster, or raise the setting for slow links.",
            headers={"Connection": "close"},
        )


class BodyDeadlineMiddleware:
    """408 for a body not complete within `seconds`; `Connection: close` after an unread body."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.seconds
        body_done = not _has_body(scope)

        async def receive_in_time() -> Message:
            nonlocal body_done
            if body_done:  # after the body, receive() only waits for a disconnect (SSE): no deadline
                return await receive()
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyTimeout(self.seconds) from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def send_closing(message: Message) -> None:
            if message["type"] == "http.response.start" and not body_done:
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"connection"]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive_in_time, send_closing)


def _has_body(scope: Scope) -> bool:
    for key, value in scope.get("headers", []):
        if key == b"transfer-encoding" or (key == b"content-length" and value.strip() not in (b"0", b"")):
            return True
    return False
