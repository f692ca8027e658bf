"""Small helpers shared by routes."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException
from pydantic import AfterValidator, BaseModel

from opsagent.timeparse import parse_time


def _refuse_nul(value: str | None) -> str | None:
    if value is not None and "\x00" in value:
        raise ValueError("NUL (\\x00) characters are not allowed")
    return value


# For text that reaches the database: PostgreSQL refuses NUL characters in text (the query would fail, a 500).
NoNul = AfterValidator(_refuse_nul)


class ErrorDetail(BaseModel):
    """Why a request was refused (401, 403, 404, 413, and 422s raised by a handler)."""

    detail: str


class FieldProblem(BaseModel):
    """One invalid field of a request."""

    loc: list[str | int]
    msg: str
    type: str


class InvalidRequest(BaseModel):
    """A 422: one readable line, and per field the problems pydantic found (when validation found them)."""

    detail: str
    errors: list[FieldProblem] = []


# Every route that needs an API token can answer these (see opsagent.api.auth).
AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorDetail, "description": "No API token, or an unknown, revoked or expired one."},
    403: {"model": ErrorDetail, "description": "The token lacks the scope this route needs."},
}
# FastAPI documents 422 as its own list-of-errors shape; opsagent.api.app answers with InvalidRequest.
INVALID_RESPONSE: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorDetail, "description": "The body could not be parsed (e.g. not UTF-8 JSON)."},
    422: {"model": InvalidRequest, "description": "Invalid request."},
}
NOT_FOUND: dict[str, Any] = {"model": ErrorDetail}


def as_json_responses(responses: dict[int | str, dict[str, Any]]) -> dict[int | str, dict[str, Any]]:
    """`responses` with their models documented as JSON bodies.

    FastAPI documents a route's extra responses in the route's own media type; a streaming route (SSE)
    still answers its errors in JSON. The models must be in the spec's components, which they are as
    long as another route of the app declares them with `model`.
    """
    documented: dict[int | str, dict[str, Any]] = {}
    for status, response in responses.items():
        entry = {key: value for key, value in response.items() if key != "model"}
        if "model" in response:
            ref = {"$ref": f"#/components/schemas/{response['model'].__name__}"}
            entry["content"] = {"application/json": {"schema": ref}}
        documented[status] = entry
    return documented


def parse_time_param(name: str, value: str | None) -> float | None:
    """A time query parameter (ISO, epoch, `2h ago`) or a 422 naming it."""
    if value is None or value == "":
        return None
    try:
        return parse_time(value)
    except (ValueError, OverflowError) as exc:
        raise HTTPException(422, f"{name}: {exc}") from None
