"""Chat models that answer from a script or a function, to drive the real agent loop without an LLM."""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import LanguageModelInput
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolCall, ToolCallChunk
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import PrivateAttr

__all__ = [
    "FunctionChatModel",
    "Reply",
    "ScriptExhaustedError",
    "ScriptedChatModel",
    "ScriptedReply",
    "ScriptedToolCall",
    "call",
    "estimate_tokens",
    "split_words",
    "tool_call",
]


def estimate_tokens(text: str) -> int:
    """Estimate tokens as ceil(len(text) / 4): deterministic, close enough to BPE for English and JSON."""
    return (len(text) + 3) // 4


def split_words(text: str) -> list[str]:
    """Split text into word-sized stream pieces (each word keeps its trailing whitespace) that join back."""
    return re.findall(r"\s*\S+\s*|\s+", text) or ([text] if text else [])


@dataclass(frozen=True)
class ScriptedToolCall:
    """One tool call the scripted model (or fake server) will make; `id` defaults to call_<n>."""

    name: str
    args: dict[str, Any] = field(default_factory=dict)
    id: str | None = None


@dataclass(frozen=True)
class ScriptedReply:
    """A reply with optional text and any number of tool calls (parallel calls, or text plus calls)."""

    text: str = ""
    tool_calls: Sequence[ScriptedToolCall] = ()


Reply = str | AIMessage | ScriptedToolCall | ScriptedReply | Exception
"""A scripted reply: final text, a ready AIMessage, one tool call, a full reply, or an exception to raise."""


def tool_call(name: str, args: dict[str, Any] | None = None, *, id: str | None = None) -> ScriptedToolCall:
    """A reply that calls tool `name` with `args`."""
    return ScriptedToolCall(name=name, args=dict(args or {}), id=id)


def call(name: str, /, **args: Any) -> ScriptedToolCall:
    """Shorthand for `tool_call(name, args)`: `call("search_runbooks", query="oom")`."""
    return ScriptedToolCall(name=name, args=args)


class ScriptExhaustedError(AssertionError):
    """The model was called more often than replies were scripted."""


def _check_reply(reply: object) -> Reply:
    if isinstance(reply, str | AIMessage | ScriptedToolCall | ScriptedReply | Exception):
        return reply
    raise TypeError(
        f"a scripted reply must be str, AIMessage, ScriptedToolCall, ScriptedReply or an exception, "
        f"not {type(reply).__name__}"
    )


def _message_text(message: BaseMessage) -> str:
    content = message.content
    text = content if isinstance(content, str) else json.dumps(content, default=str)
    if isinstance(message, AIMessage) and message.tool_calls:
        text += json.dumps([{"name": c["name"], "args": c["args"]} for c in message.tool_calls], default=str)
    return text


def _describe(message: BaseMessage) -> str:
    text = _message_text(message)
    return f"{message.type}: {text[:80]}{'...' if len(text) > 80 else ''}"


class _RecordingChatModel(BaseChatModel):
    """Shared machinery: records each call, turns a `Reply` into an AIMessage with usage, streams it."""

    model_name: str = "scripted"
    """Reported as the model name in response metadata."""

    _calls: list[list[BaseMessage]] = PrivateAttr(default_factory=list)
    _bound_tools: list[list[dict[str, Any]]] = PrivateAttr(default_factory=list)
    _tool_call_seq: int = PrivateAttr(default=0)
    # Agents may call the model from executor threads (async paths, parallel branches).
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def calls(self) -> list[list[BaseMessage]]:
        """The messages of every call, in order."""
        return self._calls

    @property
    def bound_tools(self) -> list[list[dict[str, Any]]]:
        """The tools (OpenAI function format) bound on every call, parallel to `calls`."""
        return self._bound_tools

    def tool_names(self, call_index: int = -1) -> list[str]:
        """Names of the tools that were bound on call `call_index`."""
        return [t.get("function", t).get("name", "") for t in self._bound_tools[call_index]]

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools like a real provider does: as OpenAI-format schemas passed on every call."""
        formatted = [convert_to_openai_tool(t) for t in tools]
        return self.bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def _reply(self, messages: list[BaseMessage], tools: list[dict[str, Any]], index: int) -> Reply:
        raise NotImplementedError

    def _respond(self, messages: list[BaseMessage], **kwargs: Any) -> AIMessage:
        tools = list(kwargs.get("tools") or [])
        with self._lock:
            self._calls.append(list(messages))
            self._bound_tools.append(tools)
            index = len(self._calls) - 1
        reply = _check_reply(self._reply(messages, tools, index))
        if isinstance(reply, Exception):
            raise reply
        input_tokens = sum(estimate_tokens(_message_text(m)) for m in messages)
        return self._to_message(reply, input_tokens)

    def _next_tool_call_id(self) -> str:
        with self._lock:
            self._tool_call_seq += 1
            return f"call_{self._tool_call_seq}"

    def _to_message(self, reply: Reply, input_tokens: int) -> AIMessage:
        if isinstance(reply, AIMessage):
            # Copy so a reply object shared between tests is never mutated.
            message = reply.model_copy(deep=True)
        else:
            if isinstance(reply, str):
                reply = ScriptedReply(text=reply)
            elif isinstance(reply, ScriptedToolCall):
                reply = ScriptedReply(tool_calls=[reply])
            assert isinstance(reply, ScriptedReply)
            calls = [
                ToolCall(
                    name=c.name, args=dict(c.args), id=c.id or self._next_tool_call_id(), type="tool_call"
                )
                for c in reply.tool_calls
            ]
            message = AIMessage(content=reply.text, tool_calls=calls)
        finish_reason = "tool_calls" if message.tool_calls else "stop"
        message.response_metadata = {
            "model_name": self.model_name,
            "finish_reason": finish_reason,
            **message.response_metadata,
        }
        if message.usage_metadata is None:
            output_tokens = estimate_tokens(_message_text(message))
            message.usage_metadata = UsageMetadata(
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                total_tokens=input_tokens + output_tokens,
            )
        return message

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=self._respond(messages, **kwargs))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        message = self._respond(messages, **kwargs)
        text = message.content if isinstance(message.content, str) else ""
        pieces: list[AIMessageChunk] = [AIMessageChunk(content=word) for word in split_words(text)]
        if not isinstance(message.content, str):
            pieces.append(AIMessageChunk(content=message.content))
        for index, tc in enumerate(message.tool_calls):
            pieces.append(
                AIMessageChunk(
                    content="",
                    tool_call_chunks=[
                        ToolCallChunk(
                            name=tc["name"],
                            args=json.dumps(tc["args"]),
                            id=tc["id"],
                            index=index,
                            type="tool_call_chunk",
                        )
                    ],
                )
            )
        # Usage and finish reason ride on the last chunk only, as providers send them; chunks add up.
        last: Literal["last"] = "last"
        pieces.append(
            AIMessageChunk(
                content="",
                usage_metadata=message.usage_metadata,
                response_metadata=dict(message.response_metadata),
                chunk_position=last,
            )
        )
        for piece in pieces:
            piece.id = message.id
            chunk = ChatGenerationChunk(message=piece)
            if run_manager and isinstance(piece.content, str):
                run_manager.on_llm_new_token(piece.content, chunk=chunk)
            yield chunk


class ScriptedChatModel(_RecordingChatModel):
    """A chat model that answers each call with the next scripted reply and records what it was sent.

    Example:
        model = ScriptedChatModel([call("search_runbooks", query="oom"), "Raise the memory limit."])
        agent = create_agent(model, tools=[search_runbooks])
        agent.invoke({"messages": [("user", "payments-api OOMKilled")]})
        assert "OOMKilled" in model.calls[1][-1].content  # the tool result came back
        model.assert_complete()
    """

    _queue: deque[Reply] = PrivateAttr(default_factory=deque)
    _scripted: int = PrivateAttr(default=0)

    def __init__(self, replies: Iterable[Reply] = (), /, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add(*replies)

    @property
    def _llm_type(self) -> str:
        return "scripted-chat-model"

    @property
    def remaining(self) -> int:
        """How many scripted replies have not been used yet."""
        return len(self._queue)

    def add(self, *replies: Reply) -> None:
        """Append replies to the script."""
        checked = [_check_reply(r) for r in replies]
        with self._lock:
            self._queue.extend(checked)
            self._scripted += len(checked)

    def assert_complete(self) -> None:
        """Raise AssertionError if scripted replies were left unused."""
        with self._lock:
            left = list(self._queue)
        if left:
            raise AssertionError(
                f"ScriptedChatModel: {len(left)} of {self._scripted} scripted replies were not used "
                f"(after {len(self._calls)} calls); next unused: {left[0]!r}"
            )

    def _reply(self, messages: list[BaseMessage], tools: list[dict[str, Any]], index: int) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            scripted = self._scripted
        last = _describe(messages[-1]) if messages else "no messages"
        raise ScriptExhaustedError(
            f"ScriptedChatModel got call {index + 1} but only {scripted} "
            f"{'reply was' if scripted == 1 else 'replies were'} scripted; last message was {last}"
        )


ReplyFunction = Callable[[list[BaseMessage], list[dict[str, Any]]], Reply]


class FunctionChatModel(_RecordingChatModel):
    """A chat model whose replies are computed by `fn(messages, tools)`; tools are OpenAI-format dicts.

    Example:
        def reply(messages, tools):
            return call("search_runbooks", query="oom") if len(messages) == 1 else "done"
        model = FunctionChatModel(reply)
        create_agent(model, tools=[search_runbooks]).invoke({"messages": [("user", "hi")]})
        assert len(model.calls) == 2
    """

    _fn: ReplyFunction = PrivateAttr()

    def __init__(self, fn: ReplyFunction, /, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._fn = fn

    @property
    def _llm_type(self) -> str:
        return "function-chat-model"

    def _reply(self, messages: list[BaseMessage], tools: list[dict[str, Any]], index: int) -> Reply:
        return self._fn(list(messages), tools)
