"""LLM access: ChatOpenAI against any OpenAI-compatible endpoint, with tenacity owning retries.

The openai client's own retries are off (`max_retries=0`) so the two never multiply: one tenacity
policy retries 429 (honouring Retry-After), 5xx, timeouts and dropped connections with jittered
backoff, bounded in attempts and total time. After that the caller falls back to the offline diagnosis.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import openai
from langchain.agents.middleware import ModelRequest, ModelResponse, wrap_model_call
from langchain_core.language_models import BaseChatModel
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    stop_after_delay,
    wait_random_exponential,
)

from opsagent.agent.guard import redact_messages
from opsagent.config import Settings

log = logging.getLogger(__name__)

RETRYABLE: tuple[type[BaseException], ...] = (
    openai.RateLimitError,
    openai.InternalServerError,
    openai.APITimeoutError,
    openai.APIConnectionError,
)
MAX_RETRY_AFTER_SECONDS = 30.0
_backoff = wait_random_exponential(multiplier=0.5, max=8)


def build_chat_model(settings: Settings) -> BaseChatModel | None:
    """The configured chat model, or None for offline mode."""
    if not settings.llm_enabled:
        return None
    from langchain_openai import ChatOpenAI

    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed"
    return ChatOpenAI(
        model=settings.llm_model,
        base_url=settings.llm_base_url,
        api_key=key,
        timeout=settings.llm_timeout_seconds,
        max_retries=0,
        temperature=0,
        stream_usage=True,
    )


def wait_for_retry(state: RetryCallState) -> float:
    """Retry-After when the server sent one (capped), else jittered exponential backoff."""
    exc = state.outcome.exception() if state.outcome else None
    response = getattr(exc, "response", None)
    header = response.headers.get("retry-after") if response is not None else None
    if header:
        try:
            return min(max(float(header), 0.0), MAX_RETRY_AFTER_SECONDS)
        except ValueError:
            pass  # an HTTP date: rare enough to fall back to backoff
    return float(_backoff(state))


def retrying(settings: Settings) -> Retrying:
    """The one retry policy for model calls."""
    return Retrying(
        retry=retry_if_exception_type(RETRYABLE),
        stop=stop_after_attempt(settings.llm_max_attempts)
        | stop_after_delay(settings.llm_retry_budget_seconds),
        wait=wait_for_retry,
        reraise=True,
        before_sleep=lambda s: log.warning(
            "LLM call failed (%s); retrying", s.outcome.exception() if s.outcome else ""
        ),
    )


def call_with_retries(settings: Settings, fn: Callable[[], Any]) -> Any:
    """Run one model call under the retry policy."""
    for attempt in retrying(settings):
        with attempt:
            return fn()
    raise AssertionError("unreachable: tenacity re-raises")  # pragma: no cover


def retry_middleware(settings: Settings) -> Any:
    """Agent middleware: every model call of the loop goes through the retry policy."""

    @wrap_model_call
    def with_retries(
        request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]
    ) -> ModelResponse:
        return call_with_retries(settings, lambda: handler(request))

    return with_retries


def redaction_middleware() -> Any:
    """Agent middleware: secrets are redacted from every message before it reaches the model,
    including tool results the loop adds along the way."""

    @wrap_model_call
    def redact_secrets(
        request: ModelRequest, handler: Callable[[ModelRequest], ModelResponse]
    ) -> ModelResponse:
        return handler(request.override(messages=redact_messages(request.messages)))  # type: ignore[arg-type]

    return redact_secrets
