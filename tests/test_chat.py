"""On-call chat: streamed answers through the real agent loop, sources, history; offline and CLI."""

from __future__ import annotations

from typer.testing import CliRunner

from opsagent.agent.chat import ChatSession
from opsagent.cli import app
from opsagent.knowledge.base import KnowledgeBase
from opsagent.testing import ScriptedChatModel, call


def test_chat_streams_tool_calls_and_answer_and_keeps_history(demo_kb: KnowledgeBase) -> None:
    model = ScriptedChatModel(
        [
            call("search_runbooks", query="payments-api OOMKilled"),
            "Raise the memory limit, then find the leak [runbooks/kubernetes/pod-oomkilled-crashloop.md].",
            "Use the rollback_deployment action.",
        ]
    )
    session = ChatSession(demo_kb.settings, demo_kb, model)
    events = list(session.ask("why is payments-api crashlooping?"))
    assert [e.kind for e in events][0] == "tool" and "search_runbooks" in events[0].text
    answer = "".join(e.text for e in events if e.kind == "text")
    assert answer.startswith("Raise the memory limit")
    assert len([e for e in events if e.kind == "text"]) > 3  # streamed in pieces
    assert any(s.startswith("runbooks/kubernetes/pod-oomkilled-crashloop.md") for s in session.sources)

    list(session.ask("and how do I roll back?"))
    last_call = " ".join(str(m.content) for m in model.calls[-1])
    assert "why is payments-api crashlooping?" in last_call and "Raise the memory limit" in last_call
    model.assert_complete()

    session.reset()
    assert session.sources == [] and session.history == []


def test_offline_chat_answers_from_search(demo_kb: KnowledgeBase) -> None:
    session = ChatSession(demo_kb.settings, demo_kb, None)
    events = list(session.ask("x509 certificate has expired"))
    assert events[0].kind == "note" and "offline" in events[0].text
    text = "".join(e.text for e in events if e.kind == "text")
    assert "runbooks/security/certificate-expiry.md" in text
    assert session.sources


def test_chat_repl_commands(demo_kb: KnowledgeBase) -> None:
    env = {"OPSAGENT_DATA_DIR": str(demo_kb.settings.data_dir)}
    result = CliRunner().invoke(
        app, ["chat"], input="no space left on device\n/sources\n/bogus\n/reset\n/sources\n/exit\n", env=env
    )
    assert result.exit_code == 0, result.output
    assert "offline" in result.output
    assert "runbooks/storage/" in result.output
    assert "unknown command" in result.output
    assert "(nothing cited yet)" in result.output  # after /reset


def test_ask_lists_sources(demo_kb: KnowledgeBase) -> None:
    env = {"OPSAGENT_DATA_DIR": str(demo_kb.settings.data_dir)}
    result = CliRunner().invoke(app, ["ask", "too many clients already"], env=env)
    assert result.exit_code == 0, result.output
    assert "Sources" in result.output and "db-connection-exhaustion" in result.output
