"""The OpenAI chat-completions wire format the fake server speaks: response bodies and stream chunks."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from opsagent.testing.scripted import ScriptedReply, estimate_tokens, split_words


def _completion_tokens(reply: ScriptedReply) -> int:
    calls = [{"name": c.name, "arguments": json.dumps(c.args)} for c in reply.tool_calls]
    return estimate_tokens(reply.text + (json.dumps(calls) if calls else ""))


def _usage(reply: ScriptedReply, prompt_tokens: int) -> dict[str, int]:
    completion_tokens = _completion_tokens(reply)
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def completion_body(reply: ScriptedReply, model: str, ids: list[str], prompt_tokens: int) -> dict[str, Any]:
    """A non-streaming chat.completion response body."""
    message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
    if reply.tool_calls:
        message["tool_calls"] = [
            {"id": id_, "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.args)}}
            for c, id_ in zip(reply.tool_calls, ids, strict=True)
        ]
    return {
        "id": f"chatcmpl-{time.monotonic_ns()}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": "tool_calls" if reply.tool_calls else "stop",
            }
        ],
        "usage": _usage(reply, prompt_tokens),
    }


def stream_events(
    reply: ScriptedReply, model: str, ids: list[str], prompt_tokens: int, include_usage: bool
) -> Iterator[str]:
    """The SSE `data:` payloads of a streamed chat.completion (text deltas, then tool-call deltas)."""
    base = {
        "id": f"chatcmpl-stream-{time.monotonic_ns()}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> str:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return json.dumps({**base, "choices": [choice]})

    yield chunk({"role": "assistant", "content": ""})
    for word in split_words(reply.text):
        yield chunk({"content": word})
    for index, (call, id_) in enumerate(zip(reply.tool_calls, ids, strict=True)):
        # Like OpenAI: the first delta names the call, the arguments follow in pieces.
        function = {"name": call.name, "arguments": ""}
        yield chunk({"tool_calls": [{"index": index, "id": id_, "type": "function", "function": function}]})
        arguments = json.dumps(call.args)
        for start in range(0, len(arguments), 8):
            piece = {"arguments": arguments[start : start + 8]}
            yield chunk({"tool_calls": [{"index": index, "function": piece}]})
    yield chunk({}, "tool_calls" if reply.tool_calls else "stop")
    if include_usage:
        yield json.dumps({**base, "choices": [], "usage": _usage(reply, prompt_tokens)})
