"""`opsagent logs`: raw log lines by keyword and time window, or every line of one mined template."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape

from opsagent.cli_output import UsageProblem, pipe_safe_console, time_option
from opsagent.config import load_settings
from opsagent.knowledge.base import KnowledgeBase
from opsagent.knowledge.models import LogLine
from opsagent.timeparse import format_time

# Bounds that select every line with a timestamp (a NULL ts matches no comparison).
_ANY_TIME = float("-inf")


def logs_command(
    text: Annotated[str | None, typer.Argument(help="Keywords to find in raw log lines.")] = None,
    service: Annotated[str | None, typer.Option("--service")] = None,
    since: Annotated[str | None, typer.Option("--since", help="ISO time, epoch, or 2h / 30m ago.")] = None,
    until: Annotated[str | None, typer.Option("--until")] = None,
    template: Annotated[
        str | None,
        typer.Option("--template", help="Lines of one log template: the id `search --kind log` shows."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=10000)] = 50,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per line, with its template.")
    ] = False,
) -> None:
    """Raw log lines by keyword and time window, or (--template ID) the lines behind a cited template."""
    start, end = time_option("--since", since), time_option("--until", until)
    if template is not None and (text or service):
        raise UsageProblem(
            "--template lists one template's lines: drop TEXT and --service (--since/--until work)."
        )
    kb = KnowledgeBase(load_settings())
    try:
        if template is not None:
            lines, total, header = _template_lines(kb, template.strip(), start, end, limit)
        else:
            lines = kb.search_log_lines(text, service=service, since=start, until=end, limit=limit)
            full = len(lines) >= limit  # only then can there be more than were shown
            total = kb.log_store.count(text, service=service, since=start, until=end) if full else len(lines)
            header = None
        templates = kb.log_templates_of(lines) if lines and as_json else []
        empty_note = (
            _where_the_data_is(kb, text, service, start, end) if not lines and template is None else ""
        )
    finally:
        kb.close()
    out = pipe_safe_console()
    if as_json:
        _print_json(lines, templates)
    else:
        if header:
            out.print(header, highlight=False, markup=False)
        for line in lines:
            where = escape(f"{line.source}:{line.line_no}")
            out.print(f"[cyan]{where}[/] {escape(line.text)}", highlight=False, soft_wrap=True)
    note = _note(len(lines), total, text, empty_note)
    if note:
        # Under --json stdout stays pure JSON lines; the note goes to stderr.
        (pipe_safe_console(stderr=True) if as_json else out).print(note, highlight=False, markup=False)


def _template_lines(
    kb: KnowledgeBase, template_id: str, since: float | None, until: float | None, limit: int
) -> tuple[list[LogLine], int, str]:
    found = kb.log_template(template_id)
    if found is None:
        raise UsageProblem(
            f"No log template has the id {template_id!r}: copy one from `opsagent search --kind log` "
            "(its `id` with --json) or from `opsagent logs --json` (`template_id`)."
        )
    text, meta = found
    root, source, index = str(meta.get("root", "")), str(meta.get("source", "")), meta.get("template_index")
    if index is None:
        raise UsageProblem(
            f"Template {template_id} has no line index (an older ingest): re-ingest {meta.get('root')}."
        )
    lines, total = kb.log_store.template_lines(
        root, source, int(index), since=since, until=until, limit=limit
    )
    return lines, total, f"template {template_id} in {source}: {text}"


def _print_json(lines: list[LogLine], templates: list[tuple[str, str] | None]) -> None:
    for line, found in zip(lines, templates, strict=True):
        record = line.model_dump(mode="json")
        record["template_id"], record["template"] = found if found is not None else (None, None)
        print(json.dumps(record))


def _where_the_data_is(
    kb: KnowledgeBase, text: str | None, service: str | None, since: float | None, until: float | None
) -> str:
    """Why a time window came back empty: no lines at all in it (then: where the lines are), or no match."""
    if since is None and until is None:
        return ""
    scope = f" of {service}" if service else ""
    matching = f" matching {text!r}" if text else ""
    if since is not None and until is not None:
        window = f"between {format_time(since)} and {format_time(until)}"
    else:
        window = f"after {format_time(since)}" if since is not None else f"before {format_time(until)}"
    if text and kb.log_store.count(None, service=service, since=since, until=until):
        return f"No log lines{scope}{matching} {window} (there are other lines in that window)."
    oldest = kb.log_store.search(None, service=service, since=_ANY_TIME, limit=1)
    newest = kb.log_store.search(None, service=service, since=_ANY_TIME, limit=1, newest_first=True)
    if not oldest or not newest:
        why = "has a timestamp" if kb.log_store.count(None, service=service) else "is ingested"
        return f"No log lines{scope}{matching} {window}; no line{scope} {why}."
    return (
        f"No log lines{scope}{matching} {window}; the newest line{scope} is from "
        f"{format_time(newest[0].ts)}, the oldest from {format_time(oldest[0].ts)}."
    )


def _note(shown: int, total: int, text: str | None, empty_note: str) -> str:
    if shown == 0:
        return empty_note or ("No matching log lines." if text else "No log lines.")
    if total > shown:
        return f"showing {shown} of {total} lines (raise --limit, or narrow with --since/--until)"
    return ""
