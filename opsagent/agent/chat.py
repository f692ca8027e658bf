"""On-call chat: questions answered from the knowledge base, streamed, with the sources kept.

With an LLM, the agent answers using the read-only tools (conversation history kept across turns).
Offline, the answer is what hybrid search finds, so chat still helps at 3 a.m. without a model.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from langchain.agents import create_agent
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage

from opsagent.agent.guard import INJECTION_NOTICE
from opsagent.agent.prompts import load_prompt
from opsagent.agent.tools import ToolContext, agent_middleware, build_tools, recursion_limit
from opsagent.config import Settings
from opsagent.knowledge.base import KnowledgeBase
from opsagent.knowledge.models import DocumentKind
from opsagent.knowledge.search import SearchFilters


@dataclass
class ChatEvent:
    """One thing to show while answering: answer text, a tool being called, or a note."""

    kind: str  # "text" | "tool" | "note"
    text: str


class ChatSession:
    """A conversation; `ask` streams events, `sources` lists what was cited, `reset` forgets."""

    def __init__(self, settings: Settings, kb: KnowledgeBase, model: BaseChatModel | None) -> None:
        self.settings = settings
        self.kb = kb
        self.model = model
        self.context = ToolContext(settings, kb)
        self.history: list[BaseMessage] = []
        self._agent: Any = None
        if model is not None:
            prompt = load_prompt("ask")
            self.prompt_version = prompt.version
            self._agent = create_agent(
                model,
                tools=build_tools(self.context),
                system_prompt=prompt.render(injection_notice=INJECTION_NOTICE),
                middleware=agent_middleware(settings),
            )

    @property
    def sources(self) -> list[str]:
        """Citations the answers so far rest on."""
        return list(self.context.sources)

    def reset(self) -> None:
        """Forget the conversation and its sources."""
        self.history.clear()
        self.context.sources.clear()

    def ask(self, question: str) -> Iterator[ChatEvent]:
        """Answer one question, streaming."""
        if self._agent is None:
            yield from self._offline_answer(question)
            return
        self.history.append(HumanMessage(question))
        answer: list[str] = []
        announced: set[str] = set()
        stream = self._agent.stream(
            {"messages": list(self.history)},
            config={"recursion_limit": recursion_limit(self.settings)},
            stream_mode="messages",
        )
        for message, _ in stream:
            if isinstance(message, AIMessageChunk | AIMessage):
                for tool_call in message.tool_calls:
                    key = str(tool_call.get("id") or tool_call.get("name"))
                    if tool_call.get("name") and key not in announced:  # streamed calls arrive in pieces
                        announced.add(key)
                        yield ChatEvent("tool", f"{tool_call['name']}({_args(tool_call.get('args', {}))})")
                if isinstance(message.content, str) and message.content:
                    answer.append(message.content)
                    yield ChatEvent("text", message.content)
        self.history.append(AIMessage("".join(answer)))

    def _offline_answer(self, question: str) -> Iterator[ChatEvent]:
        yield ChatEvent("note", "offline mode (no LLM configured): here is what the knowledge base has")
        runbooks = self.kb.search(question, 3, SearchFilters(kind=DocumentKind.RUNBOOK))
        logs = self.kb.search(question, 3, SearchFilters(kind=DocumentKind.LOG))
        if not runbooks and not logs:
            yield ChatEvent(
                "text", "Nothing relevant found. Ingest runbooks and logs with `opsagent ingest`."
            )
            return
        for hit in runbooks + logs:
            citation = hit.citation.render()
            self.context.cite([citation])
            count = f"{hit.count}x " if hit.count else ""
            yield ChatEvent(
                "text", f"- {count}{hit.title} [{citation}] (score {hit.score:.2f})\n  {hit.snippet}\n"
            )


def _args(args: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in args.items())
