"""On-call chat over HTTP: one-shot JSON or an SSE stream, with conversations kept server-side.

SSE events: `conversation` (its id, first), `token` (answer text), `tool` (a tool call), `citation`
(a source the answer rests on, once each), `note`, then `done` (the whole answer and its sources) or
`error`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.concurrency import run_in_threadpool
from fastapi.sse import EventSourceResponse, ServerSentEvent
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from pydantic import BaseModel, Field
from starlette.concurrency import iterate_in_threadpool

from opsagent.agent.chat import ChatEvent, ChatSession
from opsagent.agent.redaction import redact_text
from opsagent.api.auth import AuthFirstRoute, ChatToken, ServicesDep
from opsagent.api.conversations import MAX_HISTORY_MESSAGES, Conversation, ConversationNotFound
from opsagent.api.routes.common import AUTH_RESPONSES, INVALID_RESPONSE, NOT_FOUND, NoNul, as_json_responses
from opsagent.api.services import Services
from opsagent.api.tokens import ApiToken

log = logging.getLogger(__name__)
router = APIRouter(
    prefix="/v1/chat",
    tags=["chat"],
    responses={**AUTH_RESPONSES, **INVALID_RESPONSE},
    route_class=AuthFirstRoute,
)


class ChatRequest(BaseModel):
    """A question, optionally continuing a conversation."""

    message: Annotated[str, NoNul] = Field(min_length=1, max_length=8000)
    conversation_id: Annotated[str | None, NoNul] = Field(
        default=None, max_length=36, description="Continue this conversation; omit to start one."
    )


class ChatResponse(BaseModel):
    """The answer and what it cites."""

    conversation_id: str
    answer: str
    sources: list[str]
    tool_calls: list[str]
    mode: str = Field(description="'offline' (knowledge-base search) or the model name.")


@dataclass
class ChatTurn:
    """A request resolved to its conversation (done before any streaming starts, so errors are 4xx)."""

    services: Services
    token: ApiToken
    conversation_id: str
    history: list[BaseMessage]
    message: str


async def chat_turn(request: ChatRequest, services: ServicesDep, token: ChatToken) -> ChatTurn:
    """Load (or create) the conversation; 404 for one that does not exist or is not this token's."""
    store = services.conversations
    if request.conversation_id is None:
        conversation_id = await run_in_threadpool(store.create, token.id, request.message[:80])
        return ChatTurn(services, token, conversation_id, [], request.message)
    try:
        conversation = await run_in_threadpool(
            store.get, request.conversation_id, token.id, limit=MAX_HISTORY_MESSAGES
        )
    except ConversationNotFound:
        raise HTTPException(404, f"No conversation {request.conversation_id!r} for this token.") from None
    history: list[BaseMessage] = [
        HumanMessage(m.content) if m.role == "user" else AIMessage(m.content) for m in conversation.messages
    ]
    return ChatTurn(services, token, conversation.id, history, request.message)


Turn = Annotated[ChatTurn, Depends(chat_turn)]


def _session(turn: ChatTurn) -> ChatSession:
    session = ChatSession(turn.services.settings, turn.services.kb, turn.services.chat_model)
    session.history = list(turn.history)
    return session


def _mode(turn: ChatTurn) -> str:
    return turn.services.settings.llm_model if turn.services.chat_model is not None else "offline"


def _save(turn: ChatTurn, answer: str, sources: list[str]) -> None:
    store = turn.services.conversations
    store.append(turn.conversation_id, "user", turn.message)
    store.append(turn.conversation_id, "assistant", answer, sources)


NO_CONVERSATION: dict[int | str, dict[str, Any]] = {
    404: {**NOT_FOUND, "description": "No such conversation for this token."}
}


@router.post("", response_model=ChatResponse, responses=NO_CONVERSATION)
async def chat(turn: Turn) -> ChatResponse:
    """Ask and get the whole answer."""

    def answer() -> ChatResponse:
        session = _session(turn)
        text: list[str] = []
        tools: list[str] = []
        for event in _events(session, turn.message):
            if event.kind == "text":
                text.append(event.text)
            elif event.kind == "tool":
                tools.append(event.text)
        # Whole-answer redaction too: a secret can be split across streamed tokens.
        answer = redact_text("".join(text))
        _save(turn, answer, session.sources)
        return ChatResponse(
            conversation_id=turn.conversation_id,
            answer=answer,
            sources=session.sources,
            tool_calls=tools,
            mode=_mode(turn),
        )

    return await run_in_threadpool(answer)


@router.post(
    "/stream",
    response_class=EventSourceResponse,
    # Errors before the stream starts are JSON, not events.
    responses=as_json_responses({**AUTH_RESPONSES, **INVALID_RESPONSE, **NO_CONVERSATION}),
)
async def chat_stream(turn: Turn) -> AsyncIterator[ServerSentEvent]:
    """Ask and stream the answer as server-sent events."""
    yield ServerSentEvent(event="conversation", data={"conversation_id": turn.conversation_id})
    session = _session(turn)
    text: list[str] = []
    cited: set[str] = set()
    try:
        async for event in iterate_in_threadpool(_events(session, turn.message)):
            if event.kind == "text":
                text.append(event.text)
                yield ServerSentEvent(event="token", data={"text": event.text})
            elif event.kind == "tool":
                yield ServerSentEvent(event="tool", data={"call": event.text})
            else:
                yield ServerSentEvent(event="note", data={"text": event.text})
            for source in session.sources:
                if source not in cited:
                    cited.add(source)
                    yield ServerSentEvent(event="citation", data={"source": source})
    except Exception as exc:  # the stream has started: report in-band, keep the question
        log.exception("chat stream failed")
        partial = redact_text("".join(text))
        await run_in_threadpool(_save, turn, partial + f"\n[error: {exc.__class__.__name__}]", [])
        yield ServerSentEvent(event="error", data={"detail": f"The answer failed: {exc.__class__.__name__}."})
        return
    answer = redact_text("".join(text))  # whole: a secret can be split across streamed tokens
    await run_in_threadpool(_save, turn, answer, session.sources)
    done: dict[str, Any] = {
        "conversation_id": turn.conversation_id,
        "answer": answer,
        "sources": session.sources,
        "mode": _mode(turn),
    }
    yield ServerSentEvent(event="done", data=done)


def _events(session: ChatSession, message: str) -> Iterator[ChatEvent]:
    """The session's events with secrets redacted: offline answers quote knowledge-base hits verbatim and
    tool events echo the model's arguments."""
    for event in session.ask(message):
        yield ChatEvent(event.kind, redact_text(event.text))


@router.get(
    "/{conversation_id}",
    response_model=Conversation,
    responses={404: {**NOT_FOUND, "description": "Not found."}},
)
async def get_conversation(
    conversation_id: Annotated[str, NoNul], services: ServicesDep, token: ChatToken
) -> Conversation:
    """A conversation with all its messages."""
    try:
        return await run_in_threadpool(services.conversations.get, conversation_id[:36], token.id)
    except ConversationNotFound:
        raise HTTPException(404, f"No conversation {conversation_id[:36]!r} for this token.") from None
