"""`opsagent ask` and `opsagent chat`: on-call questions from the terminal, streamed, with sources."""

from __future__ import annotations

import contextlib
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from opsagent.agent.chat import ChatSession
from opsagent.agent.models import build_chat_model
from opsagent.cli_output import pipe_safe_console
from opsagent.config import load_settings
from opsagent.knowledge.base import KnowledgeBase

# (command, what it does); `/help` prints this list, and the banner and unknown commands point to it.
COMMANDS = (
    ("/help", "list these commands"),
    ("/sources", "what the answers cited"),
    ("/reset", "start over (forget the conversation)"),
    ("/exit", "quit (also /quit, Ctrl-D)"),
)
HELP = "/help lists the commands · /exit quits"


def print_help(out: Console) -> None:
    """The chat commands, one per line."""
    out.print("Ask a question in plain words, or use a command:", highlight=False)
    for command, what in COMMANDS:
        out.print(f"  {command:<10} {escape(what)}", highlight=False)


def _stream_answer(out: Console, session: ChatSession, question: str) -> None:
    for event in session.ask(question):
        if event.kind == "text":
            out.print(event.text, end="", markup=False, highlight=False, soft_wrap=True)
        elif event.kind == "tool":
            out.print(f"\n[dim]→ {escape(event.text)}[/]", highlight=False)
        else:
            out.print(f"[dim]{escape(event.text)}[/]", highlight=False)
    out.print()


def ask_command(
    question: Annotated[str, typer.Argument(help="e.g. 'why is payments-api crashlooping?'")],
) -> None:
    """Ask one question; the answer streams, then its sources are listed."""
    settings = load_settings()
    kb = KnowledgeBase(settings)
    out = pipe_safe_console()  # an answer piped to a file keeps its source paths on one line
    try:
        session = ChatSession(settings, kb, build_chat_model(settings))
        _stream_answer(out, session, question)
        if session.sources:
            out.print("[bold]Sources[/]")
            for source in session.sources:
                out.print(f"  {escape(source)}", highlight=False)
    finally:
        kb.close()


def chat_command() -> None:
    """Interactive chat with history. Commands: /help, /sources, /reset, /exit."""
    settings = load_settings()
    kb = KnowledgeBase(settings)
    out = Console()
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401  - line editing and ↑ history where available
    try:
        session = ChatSession(settings, kb, build_chat_model(settings))
        mode = settings.llm_model if session.model is not None else "offline"
        out.print(f"[bold]opsagent chat[/] ({escape(mode)}) — {HELP}", highlight=False)
        while True:
            try:
                question = input("> ").strip()
            except (EOFError, KeyboardInterrupt):
                out.print()
                break
            if not question:
                continue
            if question in ("/exit", "/quit"):
                break
            if question in ("/help", "/?"):
                print_help(out)
                continue
            if question == "/sources":
                for source in session.sources or ["(nothing cited yet)"]:
                    out.print(f"  {escape(source)}", highlight=False)
                continue
            if question == "/reset":
                session.reset()
                out.print("[dim]conversation cleared[/]")
                continue
            if question.startswith("/"):
                out.print(f"unknown command {escape(question)!r}: {HELP}", highlight=False)
                continue
            _stream_answer(out, session, question)
    finally:
        kb.close()
