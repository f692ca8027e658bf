"""The command line: opsagent's front door. Errors are one clear line on stderr, never a traceback
(set OPSAGENT_DEBUG=1 to see one)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from opsagent.cli_chat import ask_command, chat_command
from opsagent.cli_logs import logs_command
from opsagent.cli_output import UsageProblem, format_score, pipe_safe_console, time_option
from opsagent.cli_server import db_app, serve_command, token_app, worker_command
from opsagent.cli_triage import eval_command, schema_command, triage_command
from opsagent.config import Settings, load_settings
from opsagent.errors import OpsagentError
from opsagent.knowledge.base import KnowledgeBase
from opsagent.knowledge.models import DocumentKind, SearchHit
from opsagent.knowledge.search import SearchFilters
from opsagent.timeparse import format_time

app = typer.Typer(
    name="opsagent",
    help="Offline-first ops assistant: runbook and log search, incident triage, approved remediation.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out = Console(soft_wrap=not sys.stdout.isatty())  # piped output is never wrapped mid-word or mid-path
err = Console(stderr=True, soft_wrap=True)  # an error stays one line, however long


def _knowledge() -> KnowledgeBase:
    return KnowledgeBase(load_settings())


class _RichIngestProgress:
    """Progress bar over the bytes of all files to ingest."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task = progress.add_task("ingesting", total=None)

    def start(self, total_bytes: int) -> None:
        self.progress.update(self.task, total=max(total_bytes, 1))

    def advance(self, done_bytes: int, description: str) -> None:
        self.progress.update(self.task, completed=done_bytes, description=description[-48:])


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or directories of runbooks and logs.")],
    kind: Annotated[
        DocumentKind | None, typer.Option("--kind", help="Treat every file as this kind (default: detect).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude",
            metavar="GLOB",
            help="Leave out files matching this gitignore-style pattern, relative to each folder "
            "(repeatable; adds to .opsagentignore files). Re-ingesting without it takes them back.",
        ),
    ] = None,
) -> None:
    """Ingest runbooks (markdown/text) and logs (text/JSON lines); re-runs only process changed files."""
    kb = _knowledge()
    try:
        with Progress(
            TextColumn("[bold]{task.description:<48}"),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
            disable=as_json or not err.is_terminal,
        ) as progress:
            report = kb.ingest(
                paths, kind=kind, progress=_RichIngestProgress(progress), excludes=exclude or []
            )
    finally:
        kb.close()
    if as_json:
        out.print_json(report.model_dump_json())
        return
    for warning in report.warnings:
        err.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    out.print(
        f"Ingested {report.files_ingested} file(s) ({report.chunks_added} runbook chunks, "
        f"{report.templates_added} log templates from {report.log_lines} lines); "
        f"{report.files_unchanged} unchanged, {report.files_removed} removed, {report.files_skipped} skipped "
        f"in {report.seconds:.1f}s.",
        highlight=False,
    )


@app.command()
def search(
    text: Annotated[
        str | None, typer.Argument(help="What to look for (an alert, a symptom, an error).")
    ] = None,
    k: Annotated[int, typer.Option("-k", "--top", min=1, max=100, help="How many documents.")] = 5,
    kind: Annotated[DocumentKind | None, typer.Option("--kind", help="Only runbooks or only logs.")] = None,
    service: Annotated[str | None, typer.Option("--service", help="Only documents of this service.")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Logs seen after (ISO time or 2h).")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Logs seen before (ISO time or 30m).")] = None,
    batch: Annotated[
        Path | None, typer.Option("--batch", help="JSON-lines file of {id, text} queries ('-' = stdin).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Hybrid (vector + keyword) search over runbooks and log templates."""
    if (text is None) == (batch is None):
        raise UsageProblem("Give either a query TEXT or --batch FILE.")
    filters = SearchFilters(
        kind=kind,
        service=service,
        since=time_option("--since", since),
        until=time_option("--until", until),
    )
    kb = _knowledge()
    try:
        if batch is not None:
            _search_batch(kb, batch, k, filters)
            return
        assert text is not None
        hits = kb.search(text, k, filters)
        if as_json:
            print(json.dumps({"query": text, "results": [_hit_json(h) for h in hits]}))
        else:
            console = pipe_safe_console()
            if hits:
                _print_hits(console, hits, kb.settings)
            elif any(kb.store.count(k) for k in DocumentKind):
                console.print("No results for that query and those filters.")
            else:
                console.print("Nothing is ingested yet: run opsagent ingest PATH first.")
    finally:
        kb.close()


def _hit_json(hit: SearchHit) -> dict[str, Any]:
    return {
        # For a log template this is the id `opsagent logs --template` takes.
        "id": hit.doc_id,
        "source": hit.source,
        "title": hit.title,
        "section": hit.section,
        "score": hit.score,
        "snippet": hit.snippet,
        "kind": hit.kind.value,
        "citation": hit.citation.render(),
        "root": hit.root,
    }


def _search_batch(kb: KnowledgeBase, batch: Path, k: int, filters: SearchFilters) -> None:
    """One output line per input line, in order; a bad line gets an `error` line, never a gap."""
    try:
        # errors="replace": a stray byte spoils one query, not the whole batch.
        handle = sys.stdin if str(batch) == "-" else batch.open(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UsageProblem(f"cannot read {batch}: {exc.strerror or exc}") from None
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            qid, qtext, problem = _batch_query(line)
            if problem:
                err.print(f"[yellow]warning:[/] {escape(str(batch))}:{number}: {problem}", highlight=False)
                print(json.dumps({"id": qid, "results": [], "error": problem}), flush=True)
                continue
            hits = kb.search(qtext, k, filters)
            print(json.dumps({"id": qid, "results": [_hit_json(h) for h in hits]}), flush=True)


def _batch_query(line: str) -> tuple[Any, str, str | None]:
    """(id, text, problem) of one batch line."""
    try:
        query = json.loads(line)
    except ValueError:
        return None, "", 'not valid JSON; expected {"id": ..., "text": "..."}'
    if not isinstance(query, dict) or "id" not in query:
        return None, "", "expected a JSON object with 'id' and 'text'"
    text = query.get("text")
    if not isinstance(text, str) or not text.strip():
        return query["id"], "", "'text' must be a non-empty string"
    return query["id"], text, None


def _print_hits(console: Console, hits: list[SearchHit], settings: Settings) -> None:
    threshold = settings.no_runbook_threshold
    runbooks = [h for h in hits if h.kind is DocumentKind.RUNBOOK]
    if runbooks and runbooks[0].score < threshold:
        # The threshold is calibrated on alerts (see README); free-text questions score lower.
        console.print(
            f"[dim]The best runbook scores {format_score(runbooks[0].score, threshold)}, below the "
            f"{threshold} at which triage reports 'no runbook found'.[/]",
            highlight=False,
        )
    # What to do first, then the evidence: runbooks above log templates, each kind by score.
    ordered = runbooks + [h for h in hits if h.kind is not DocumentKind.RUNBOOK]
    for rank, hit in enumerate(ordered, start=1):
        # Titles and paths come from user files and logs: escape them so "[error]" is text, not markup.
        title = escape(hit.title if len(hit.title) <= 100 else hit.title[:99] + "…")
        # Runbook scores are compared with the threshold, so they print precisely enough to tell the side.
        score = format_score(hit.score, threshold if hit.kind is DocumentKind.RUNBOOK else None)
        console.print(f"[bold]{rank}. {title}[/]  [dim]{hit.kind.value} · score {score}[/]", highlight=False)
        console.print(f"   [cyan]{escape(hit.citation.render())}[/]", highlight=False)
        if hit.kind is DocumentKind.LOG:
            console.print(
                f"   {hit.count} lines, {format_time(hit.first_seen)} → {format_time(hit.last_seen)} · "
                f"opsagent logs --template {hit.doc_id}",
                highlight=False,
            )
        console.print(f"   {hit.snippet}", highlight=False, markup=False)
        if hit.actions:
            console.print(f"   actions: {', '.join(hit.actions)}", highlight=False, markup=False)
        console.print()


# Registered here so `--help` keeps listing it between search and forget.
app.command("logs")(logs_command)


@app.command()
def forget(path: Annotated[Path, typer.Argument(help="A folder ingested before (it may be gone).")]) -> None:
    """Remove everything that was ingested from a folder: its runbooks, log templates and log lines."""
    kb = _knowledge()
    try:
        root = kb.forget(path)
    finally:
        kb.close()
    out.print(f"Removed everything ingested from {escape(root)}.", highlight=False)


@app.command()
def stats(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """What is in the knowledge base and where it lives."""
    kb = _knowledge()
    try:
        info = kb.stats()
        coverage = kb.log_store.timestamp_coverage()
    finally:
        kb.close()
    # Files whose lines mostly lack a timestamp are invisible to time-window search and triage.
    info["log_timestamps"] = [
        {"root": root, "source": source, "lines": lines, "timestamped": dated,
         "fraction": None if dated is None or not lines else round(dated / lines, 4)}
        for root, source, lines, dated in coverage
    ]  # fmt: skip
    if as_json:
        print(json.dumps(info))
        return
    table = Table(show_header=False, box=None)
    table.add_row("data dir", info["data_dir"])
    table.add_row("vector store", info["vector_store"])
    table.add_row("embedding model", f"{info['embedding_model']} — {info['embedding_model_description']}")
    for name, counts in info["collections"].items():
        table.add_row(f"{name}s", f"{counts['documents']} files, {counts['records']} indexed records")
    table.add_row("log lines", f"{info['log_lines']} in {info['log_files']} files")
    poorly_dated = [f for f in info["log_timestamps"] if f["fraction"] is not None and f["fraction"] < 0.9]
    for f in poorly_dated:
        label = "no timestamps" if f["timestamped"] == 0 else f"{f['fraction']:.0%} timestamped"
        table.add_row(
            "log format?", f"{escape(f['source'])}: {label} ({f['lines']} lines) — not seen by time windows"
        )
    for root in info["roots"]:
        table.add_row("ingested from", escape(root))
    out.print(table)


# Commands that live in their own modules (one concern each), registered on the one app.
app.command("triage")(triage_command)
app.command("eval")(eval_command)
app.command("schema")(schema_command)
app.command("ask")(ask_command)
app.command("chat")(chat_command)
app.command("serve")(serve_command)
app.command("worker")(worker_command)
app.add_typer(token_app, name="token")
app.add_typer(db_app, name="db")


def main() -> None:
    """Console entry point: run the app, turning known errors into one line and exit code 1."""
    try:
        app()
    except OpsagentError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}", highlight=False)
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:  # the last line of defence: still one line unless debugging
        if os.environ.get("OPSAGENT_DEBUG"):
            raise
        err.print(
            f"[red]error:[/] unexpected {exc.__class__.__name__}: {escape(str(exc))} "
            "(set OPSAGENT_DEBUG=1 for details)",
            highlight=False,
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
