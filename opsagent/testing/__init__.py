"""Test helpers for opsagent and its users: a scripted chat model and a fake OpenAI-compatible server.

`ScriptedChatModel` drives the real LangChain agent loop without an LLM; `FakeOpenAIServer` drives the real
`ChatOpenAI`/`openai` wire path on loopback and injects 429s, 5xx, slow and malformed responses. Both
estimate tokens with `estimate_tokens` (ceil(characters / 4)) so usage accounting can be asserted.
"""

from __future__ import annotations

from opsagent.testing.fake_openai import FakeOpenAIServer, Fault, ServerReply, prompt_tokens_of
from opsagent.testing.scripted import (
    FunctionChatModel,
    Reply,
    ScriptedChatModel,
    ScriptedReply,
    ScriptedToolCall,
    ScriptExhaustedError,
    call,
    estimate_tokens,
    split_words,
    tool_call,
)

__all__ = [
    "FakeOpenAIServer",
    "Fault",
    "FunctionChatModel",
    "Reply",
    "ScriptExhaustedError",
    "ScriptedChatModel",
    "ScriptedReply",
    "ScriptedToolCall",
    "ServerReply",
    "call",
    "estimate_tokens",
    "prompt_tokens_of",
    "split_words",
    "tool_call",
]
