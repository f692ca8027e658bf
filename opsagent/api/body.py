"""Reading a request body with a hard size limit, before anything parses it."""

from __future__ import annotations

from starlette.requests import Request


class BodyTooLarge(Exception):
    """The body is over the limit (413)."""


async def read_limited_body(request: Request, limit: int) -> bytes:
    """The raw body; BodyTooLarge as soon as it (or its declared length) passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"the body is {int(declared)} bytes; the limit is {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:  # a chunked body with no Content-Length: stop reading at the limit
            raise BodyTooLarge(f"the body is over the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)


# Alert payloads nest a handful of levels. Deeper JSON is refused (422) before anything walks it: Python's
# json module raises RecursionError near 1000 levels, and pydantic refuses to serialise a few hundred.
MAX_JSON_DEPTH = 64


def json_problem(value: object, limit: int = MAX_JSON_DEPTH) -> str | None:
    """What makes decoded JSON unusable, walked without recursion: "deep" (nesting over `limit`) or
    "surrogate" (a `\\udXXX` escape that decodes to a lone surrogate: not text, and no database or
    serialiser downstream can store it); None when it is fine."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if not _encodable(item):
                return "surrogate"
            continue
        if isinstance(item, dict):
            if any(not _encodable(key) for key in item):
                return "surrogate"
            children: list[object] = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return "deep"
        stack.extend((child, depth + 1) for child in children)
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
