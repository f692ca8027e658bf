"""opsagent.testing: a scripted model drives the real agent loop, a fake server the real wire path."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from typing import Any

import openai
import pytest
from langchain.agents import create_agent
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from pydantic import BaseModel

from opsagent.testing import (
    FakeOpenAIServer,
    Fault,
    FunctionChatModel,
    ScriptedChatModel,
    ScriptedReply,
    ScriptExhaustedError,
    call,
    estimate_tokens,
    prompt_tokens_of,
    tool_call,
)

RUNBOOK_HIT = "pod-oomkilled.md: raise the memory limit of payments-api"


@tool
def search_runbooks(query: str) -> str:
    """Search the runbooks for a query."""
    return f"{RUNBOOK_HIT} (query={query})"


@tool
def get_logs(service: str) -> str:
    """Fetch recent logs of a service."""
    return f"logs of {service}: exit code 137"


def _join(chunks: list[Any]) -> AIMessageChunk:
    assert chunks and all(isinstance(c, AIMessageChunk) for c in chunks)
    total: AIMessageChunk = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    return total


def _tool_messages(messages: list[BaseMessage]) -> list[ToolMessage]:
    return [m for m in messages if isinstance(m, ToolMessage)]


# --- ScriptedChatModel -------------------------------------------------------------------------------


def test_scripted_model_drives_the_real_agent_loop() -> None:
    model = ScriptedChatModel([call("search_runbooks", query="oom"), "Raise the memory limit."])
    agent = create_agent(model, tools=[search_runbooks])

    result = agent.invoke({"messages": [HumanMessage("payments-api pods OOMKilled")]})

    assert result["messages"][-1].content == "Raise the memory limit."
    assert len(model.calls) == 2
    assert model.calls[0][-1].content == "payments-api pods OOMKilled"
    # The real tool ran and its result reached the model's next call, tied to the scripted call id.
    (tool_result,) = _tool_messages(model.calls[1])
    assert tool_result.content == f"{RUNBOOK_HIT} (query=oom)"
    assert tool_result.tool_call_id == "call_1"
    assert model.tool_names(0) == ["search_runbooks"]
    assert model.bound_tools[0][0]["function"]["parameters"]["required"] == ["query"]
    model.assert_complete()


def test_scripted_call_fills_a_structured_response() -> None:
    class Verdict(BaseModel):
        summary: str
        confidence: float

    model = ScriptedChatModel([call("Verdict", summary="OOMKilled", confidence=0.9)])
    result = create_agent(model, tools=[], response_format=Verdict).invoke({"messages": [HumanMessage("x")]})
    assert result["structured_response"] == Verdict(summary="OOMKilled", confidence=0.9)
    assert model.tool_names(0) == ["Verdict"]


def test_scripted_model_reports_token_usage() -> None:
    model = ScriptedChatModel(["Raise the memory limit."])
    reply = model.invoke([HumanMessage("12345678")])
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["input_tokens"] == 2
    assert reply.usage_metadata["output_tokens"] == estimate_tokens("Raise the memory limit.") == 6
    assert reply.usage_metadata["total_tokens"] == 8
    assert reply.response_metadata["finish_reason"] == "stop"


def test_unused_reply_fails_assert_complete() -> None:
    model = ScriptedChatModel(["first", "never used"])
    model.invoke("hi")
    with pytest.raises(AssertionError, match="1 of 2 scripted replies were not used"):
        model.assert_complete()


def test_running_out_of_replies_names_the_script_size() -> None:
    model = ScriptedChatModel([call("search_runbooks", query="oom")])
    agent = create_agent(model, tools=[search_runbooks])
    with pytest.raises(ScriptExhaustedError, match="call 2 but only 1 reply was scripted"):
        agent.invoke({"messages": [HumanMessage("pods OOMKilled")]})
    model.assert_complete()


def test_bind_tools_shares_the_queue_and_records_tools() -> None:
    model = ScriptedChatModel(
        [
            ScriptedReply(
                text="checking",
                tool_calls=[tool_call("search_runbooks", {"query": "oom"}), call("get_logs", service="api")],
            ),
            AIMessage(
                content="done", usage_metadata={"input_tokens": 7, "output_tokens": 1, "total_tokens": 8}
            ),
        ]
    )
    bound = model.bind_tools([search_runbooks, get_logs], tool_choice="auto")

    first = bound.invoke("hi")
    second = model.invoke("again")  # the unbound model pops from the same queue

    assert first.content == "checking"
    assert [(c["name"], c["args"], c["id"]) for c in first.tool_calls] == [
        ("search_runbooks", {"query": "oom"}, "call_1"),
        ("get_logs", {"service": "api"}, "call_2"),
    ]
    assert first.response_metadata["finish_reason"] == "tool_calls"
    assert second.usage_metadata == {"input_tokens": 7, "output_tokens": 1, "total_tokens": 8}
    assert model.tool_names(0) == ["search_runbooks", "get_logs"]
    assert model.bound_tools[1] == []
    model.assert_complete()


def test_scripted_exception_is_raised() -> None:
    model = ScriptedChatModel([TimeoutError("upstream timed out")])
    with pytest.raises(TimeoutError, match="upstream timed out"):
        model.invoke("hi")


def test_invalid_reply_type_is_rejected_early() -> None:
    with pytest.raises(TypeError, match="scripted reply"):
        ScriptedChatModel([42])  # type: ignore[list-item]


def test_streaming_text_word_by_word() -> None:
    model = ScriptedChatModel(["The pod was OOMKilled twice."])
    chunks = list(model.stream("why?"))
    texts = [c.content for c in chunks if c.content]
    assert texts == ["The ", "pod ", "was ", "OOMKilled ", "twice."]
    joined = _join(chunks)
    assert joined.content == "The pod was OOMKilled twice."
    assert joined.usage_metadata is not None
    assert joined.usage_metadata["output_tokens"] == estimate_tokens("The pod was OOMKilled twice.")


def test_streaming_tool_call_reassembles() -> None:
    model = ScriptedChatModel([call("get_logs", service="payments-api")])
    joined = _join(list(model.bind_tools([get_logs]).stream("logs?")))
    assert joined.tool_calls == [
        {"name": "get_logs", "args": {"service": "payments-api"}, "id": "call_1", "type": "tool_call"}
    ]


def test_agent_streams_messages_through_the_streaming_path() -> None:
    model = ScriptedChatModel([call("get_logs", service="api"), "It ran out of memory."])
    agent = create_agent(model, tools=[get_logs])
    tokens = [
        chunk.content
        for chunk, _meta in agent.stream({"messages": [HumanMessage("why?")]}, stream_mode="messages")
        if isinstance(chunk, AIMessageChunk) and isinstance(chunk.content, str) and chunk.content
    ]
    assert "".join(tokens) == "It ran out of memory."
    assert len(tokens) == 5
    assert _tool_messages(model.calls[1])[0].content == "logs of api: exit code 137"
    model.assert_complete()


def test_async_agent_loop() -> None:
    model = ScriptedChatModel([call("search_runbooks", query="disk"), "Prune images."])
    agent = create_agent(model, tools=[search_runbooks])
    result = asyncio.run(agent.ainvoke({"messages": [HumanMessage("disk full")]}))
    assert result["messages"][-1].content == "Prune images."
    model.assert_complete()


def test_function_model_sees_messages_and_tools() -> None:
    seen: list[tuple[int, list[str]]] = []

    def reply(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> str | Any:
        seen.append((len(messages), [t["function"]["name"] for t in tools]))
        if not _tool_messages(messages):
            return call("search_runbooks", query=str(messages[-1].content))
        return f"answer from: {_tool_messages(messages)[-1].content}"

    model = FunctionChatModel(reply)
    result = create_agent(model, tools=[search_runbooks]).invoke({"messages": [HumanMessage("oom")]})
    assert result["messages"][-1].content == f"answer from: {RUNBOOK_HIT} (query=oom)"
    assert seen == [(1, ["search_runbooks"]), (3, ["search_runbooks"])]


# --- FakeOpenAIServer --------------------------------------------------------------------------------


def _llm(server: FakeOpenAIServer, **kwargs: Any) -> ChatOpenAI:
    return ChatOpenAI(base_url=server.base_url, api_key="test", model="fake", max_retries=0, **kwargs)


def test_server_text_reply_usage_and_recorded_request() -> None:
    with FakeOpenAIServer(["All pods are healthy."]) as server:
        reply = _llm(server).invoke([HumanMessage("status of payments-api?")])
        server.assert_complete()

    assert reply.content == "All pods are healthy."
    (body,) = server.requests
    assert body["model"] == "fake"
    assert body["messages"] == [{"role": "user", "content": "status of payments-api?"}]
    assert server.headers[0]["authorization"] == "Bearer test"
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["input_tokens"] == prompt_tokens_of(body) == server.prompt_tokens_received
    assert reply.usage_metadata["output_tokens"] == estimate_tokens("All pods are healthy.")


def test_server_tool_call_parsed_into_tool_calls() -> None:
    with FakeOpenAIServer([call("search_runbooks", query="oom")]) as server:
        reply = _llm(server).bind_tools([search_runbooks]).invoke("pods OOMKilled")

    assert reply.tool_calls == [
        {"name": "search_runbooks", "args": {"query": "oom"}, "id": "call_1", "type": "tool_call"}
    ]
    assert reply.response_metadata["finish_reason"] == "tool_calls"
    assert server.requests[0]["tools"][0]["function"]["name"] == "search_runbooks"


def test_server_drives_the_real_agent_over_http() -> None:
    with FakeOpenAIServer([call("search_runbooks", query="oom"), "Raise the memory limit."]) as server:
        agent = create_agent(_llm(server), tools=[search_runbooks])
        result = agent.invoke({"messages": [HumanMessage("pods OOMKilled")]})
        server.assert_complete()

    assert result["messages"][-1].content == "Raise the memory limit."
    tool_turn = server.requests[1]["messages"][-1]
    assert tool_turn == {"role": "tool", "content": f"{RUNBOOK_HIT} (query=oom)", "tool_call_id": "call_1"}


def test_server_streams_text_with_usage() -> None:
    text = "Restart the deployment, then raise the limit."
    with FakeOpenAIServer([text]) as server:
        chunks = list(_llm(server, stream_usage=True).stream("what now?"))

    assert server.requests[0]["stream"] is True
    assert server.requests[0]["stream_options"] == {"include_usage": True}
    assert len([c for c in chunks if c.content]) == 7
    joined = _join(chunks)
    assert joined.content == text
    assert joined.usage_metadata is not None
    assert joined.usage_metadata["output_tokens"] == estimate_tokens(text)
    assert joined.usage_metadata["input_tokens"] == server.prompt_tokens_received


def test_server_streams_tool_call_deltas() -> None:
    with FakeOpenAIServer([call("get_logs", service="payments-api")]) as server:
        joined = _join(list(_llm(server).bind_tools([get_logs]).stream("logs?")))
    assert joined.tool_calls == [
        {"name": "get_logs", "args": {"service": "payments-api"}, "id": "call_1", "type": "tool_call"}
    ]


def test_rate_limit_then_next_reply() -> None:
    with FakeOpenAIServer([Fault.rate_limit(retry_after=7), "recovered"]) as server:
        llm = _llm(server)
        with pytest.raises(openai.RateLimitError) as caught:
            llm.invoke("hi")
        assert caught.value.response.headers["retry-after"] == "7"
        assert "Rate limit" in caught.value.message
        assert llm.invoke("hi again").content == "recovered"
        server.assert_complete()


def test_server_error_is_internal_server_error() -> None:
    with FakeOpenAIServer([Fault.server_error()]) as server, pytest.raises(openai.InternalServerError):
        _llm(server).invoke("hi")


def test_slow_reply_times_out_and_exit_does_not_wait() -> None:
    started = time.monotonic()
    with FakeOpenAIServer([Fault.slow(30)]) as server, pytest.raises(openai.APITimeoutError):
        _llm(server, timeout=0.2).invoke("hi")
    assert time.monotonic() - started < 5
    # The handler sleeping in the slow fault was woken and joined, not left behind.
    assert not [t for t in threading.enumerate() if "process_request_thread" in t.name]


def test_slow_reply_within_timeout_answers() -> None:
    with FakeOpenAIServer([Fault.slow(0.1, then="late but fine")]) as server:
        assert _llm(server, timeout=5).invoke("hi").content == "late but fine"


@pytest.mark.parametrize("stream", [False, True])
def test_malformed_body_raises_instead_of_hanging(stream: bool) -> None:
    with FakeOpenAIServer([Fault.malformed()]) as server, pytest.raises(ValueError):
        llm = _llm(server, timeout=5)
        if stream:
            list(llm.stream("hi"))
        else:
            llm.invoke("hi")


def test_disconnect_is_connection_error() -> None:
    with FakeOpenAIServer([Fault.disconnect()]) as server, pytest.raises(openai.APIConnectionError):
        _llm(server, timeout=5).invoke("hi")


def test_server_exhausted_script_is_a_clear_error() -> None:
    with FakeOpenAIServer(["only one"]) as server:
        llm = _llm(server)
        llm.invoke("first")
        with pytest.raises(openai.BadRequestError, match="request 2 but only 1 reply was scripted"):
            llm.invoke("second")
        with pytest.raises(AssertionError, match="only 1 reply was scripted"):
            server.assert_complete()


def test_server_unused_reply_fails_assert_complete() -> None:
    with FakeOpenAIServer(["used", "unused"]) as server:
        _llm(server).invoke("hi")
        with pytest.raises(AssertionError, match="1 of 2 scripted replies were not used"):
            server.assert_complete()


def test_prompt_tokens_grow_with_the_prompt() -> None:
    with FakeOpenAIServer(["a", "b"]) as server:
        llm = _llm(server)
        llm.invoke("short")
        after_short = server.prompt_tokens_received
        llm.invoke("long " * 100)
    assert after_short == prompt_tokens_of(server.requests[0])
    assert server.prompt_tokens_received - after_short == prompt_tokens_of(server.requests[1]) > 100


def test_models_endpoint_and_api_key_check() -> None:
    with FakeOpenAIServer(["hi"], models=["fake", "fake-large"], require_api_key="sk-right") as server:
        client = openai.OpenAI(base_url=server.base_url, api_key="sk-right", max_retries=0)
        assert [m.id for m in client.models.list()] == ["fake", "fake-large"]
        wrong = openai.OpenAI(base_url=server.base_url, api_key="sk-wrong", max_retries=0)
        with pytest.raises(openai.AuthenticationError):
            wrong.chat.completions.create(model="fake", messages=[{"role": "user", "content": "x"}])
        assert server.remaining == 1  # a rejected request does not use up a reply
        assert json.loads(json.dumps(server.requests))[0]["messages"][0]["content"] == "x"


def test_server_stops_cleanly() -> None:
    with FakeOpenAIServer(["hi"]) as server:
        port = server.port
        _llm(server).invoke("hi")  # leaves a keep-alive connection open in the client's pool
    with socket.socket() as probe, pytest.raises(ConnectionRefusedError):
        probe.connect(("127.0.0.1", port))
    assert not [t for t in threading.enumerate() if t.name == "fake-openai"]
    with pytest.raises(RuntimeError, match="not running"):
        _ = server.base_url
