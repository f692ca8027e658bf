"""Runbook loading: front matter (YAML `---` or Hugo TOML `+++`), then heading-aware chunks.

A chunk never spans two sections, carries its heading path (`Diagnosis > Check the pool`) and its line
range, so a citation can point a human at the exact place.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import yaml

from opsagent.knowledge.models import RunbookChunk

# Linear-time on purpose: a lazy `(.+?)\s*#*\s*$` backtracks cubically on long runs of spaces.
HEADING = re.compile(r"^(#{1,6})[ \t]+(\S.*)$")
FENCE = re.compile(r"^\s*(```|~~~)")
# Directory names that say nothing about a runbook's subject.
GENERIC_DIRS = {"runbooks", "runbook", "docs", "doc", "content", "playbooks", "knowledge", "."}
# File names that stand for their folder: `docs/gitaly/README.md` is the gitaly runbook, and Hugo's
# `_index.md` / Docusaurus' `index.md` are the page of the folder they sit in.
FOLDER_PAGES = {"readme", "index", "_index"}


class RunbookError(ValueError):
    """A runbook file that cannot be used (reported as a warning; the batch continues)."""


@dataclass
class Runbook:
    """A parsed runbook before chunking."""

    source: str
    title: str
    body_lines: list[str]
    body_offset: int  # number of lines before the body (front matter), to keep line numbers true
    front_matter: dict[str, Any] = field(default_factory=dict)
    aliases: list[str] = field(default_factory=list)

    def list_field(self, *keys: str) -> list[str]:
        """A front-matter field as a list of strings (accepts a scalar or a list)."""
        for key in keys:
            value = self.front_matter.get(key)
            if value is None:
                continue
            items = value if isinstance(value, list) else [value]
            return [str(item).strip() for item in items if str(item).strip()]
        return []


def split_front_matter(text: str) -> tuple[dict[str, Any], str, int]:
    """Return (front matter, body, lines consumed); raises RunbookError on broken front matter."""
    lines = text.split("\n")
    if not lines or lines[0].strip() not in ("---", "+++"):
        return {}, text, 0
    marker = lines[0].strip()
    closers = {"---", "..."} if marker == "---" else {"+++"}
    for end in range(1, len(lines)):
        if lines[end].strip() in closers:
            raw = "\n".join(lines[1:end])
            try:
                data = yaml.safe_load(raw) if marker == "---" else tomllib.loads(raw)
            except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
                first = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
                raise RunbookError(f"broken front matter: {first}") from exc
            if data is None:
                data = {}
            if not isinstance(data, dict):
                raise RunbookError("broken front matter: expected key/value pairs")
            return data, "\n".join(lines[end + 1 :]), end + 1
    raise RunbookError(f"broken front matter: no closing {marker!r}")


def document_name(source: str, folder: str | None = None) -> str:
    """The name a file is known by: its stem, or its folder's name for a README / index page.

    `folder` names the ingested root, for a README at the top (its source has no folder part).
    """
    path = PurePosixPath(source)
    stem = path.name.split(".")[0]
    if stem.lower() not in FOLDER_PAGES:
        return stem
    parent = path.parent.name or (folder or "")
    return parent if parent and parent != "." else stem


def parse_runbook(text: str, source: str, folder: str | None = None) -> Runbook:
    """Parse a markdown or plain-text runbook into title, front matter and body."""
    front, body, offset = split_front_matter(text)
    body_lines = body.split("\n")
    stem = document_name(source, folder)
    h1 = next((text for level, text in _headings(body_lines) if level == 1), None)
    first_line = next((line.strip() for line in body_lines if line.strip()), "")
    is_markdown = source.lower().endswith((".md", ".markdown"))
    fm_title = str(front.get("title", "")).strip()
    title = fm_title or h1 or (first_line[:120] if not is_markdown and first_line else stem)
    # A runbook is often known by several names (front-matter title, H1, file name, the alerts it
    # covers); search matches on all of them.
    aliases = [n for n in dict.fromkeys([h1 or "", stem]) if n and n != title]
    return Runbook(
        source=source,
        title=title,
        body_lines=body_lines,
        body_offset=offset,
        front_matter=front,
        aliases=aliases,
    )


def _heading(line: str) -> tuple[int, str] | None:
    """(level, text) of an ATX heading line, closing #s removed (`## Fix ##` -> (2, "Fix"))."""
    match = HEADING.match(line)
    if match is None:
        return None
    text = match.group(2).rstrip()
    without_closing = text.rstrip("#")
    if without_closing != text and (not without_closing or without_closing[-1] in " \t"):
        text = without_closing.rstrip()
    return (len(match.group(1)), text) if text else None


def _headings(lines: list[str]) -> list[tuple[int, str]]:
    """Headings outside code fences (a `# comment` in a bash block is not a title)."""
    found = []
    in_fence = False
    for line in lines:
        if FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and (heading := _heading(line)):
            found.append(heading)
    return found


@dataclass
class _Section:
    path: list[str]
    start: int  # 0-based index into body_lines of the first content line
    lines: list[str] = field(default_factory=list)


def _sections(lines: list[str]) -> list[_Section]:
    sections = [_Section(path=[], start=0)]
    stack: list[tuple[int, str]] = []
    in_fence = False
    for index, line in enumerate(lines):
        if FENCE.match(line):
            in_fence = not in_fence
        heading = None if in_fence else _heading(line)
        if heading:
            level, name = heading
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, name))
            sections.append(_Section(path=[name for lvl, name in stack if lvl > 1], start=index + 1))
        else:
            sections[-1].lines.append(line)
    return sections


def _paragraphs(lines: list[str], start: int) -> list[tuple[int, int, str]]:
    """Split into (first line, last line, text) blocks at blank lines outside code fences."""
    blocks: list[tuple[int, int, str]] = []
    current: list[str] = []
    first = start
    in_fence = False
    for offset, line in enumerate(lines):
        if FENCE.match(line):
            in_fence = not in_fence
        if not line.strip() and not in_fence:
            if current:
                blocks.append((first, start + offset - 1, "\n".join(current)))
            current = []
            continue
        if not current:
            first = start + offset
        current.append(line)
    if current:
        blocks.append((first, start + len(lines) - 1, "\n".join(current)))
    return blocks


def _pack(blocks: list[tuple[int, int, str]], limit: int) -> list[tuple[int, int, str]]:
    """Greedily pack paragraphs into pieces of at most `limit` characters (hard-split giant ones)."""
    pieces: list[tuple[int, int, str]] = []
    for first, last, text in blocks:
        while len(text) > limit:  # one enormous paragraph: cut at a line or word boundary
            cut = text.rfind("\n", 0, limit)
            cut = cut if cut > limit // 2 else text.rfind(" ", 0, limit)
            cut = cut if cut > limit // 2 else limit
            pieces.append((first, first + text[:cut].count("\n"), text[:cut].rstrip()))
            first += text[:cut].count("\n")
            text = text[cut:].lstrip()
        if pieces and len(pieces[-1][2]) + len(text) + 2 <= limit and pieces[-1][1] < first:
            prev_first, _, prev_text = pieces[-1]
            pieces[-1] = (prev_first, last, f"{prev_text}\n\n{text}")
        else:
            pieces.append((first, last, text))
    return pieces


def chunk_runbook(
    runbook: Runbook, *, root: str, doc_id: str, file_hash: str, chunk_chars: int, tags_from_path: list[str]
) -> list[RunbookChunk]:
    """Split a parsed runbook into heading-aware chunks with metadata."""
    services = runbook.list_field("service", "services")
    tags = list(dict.fromkeys(runbook.list_field("tags", "tag") + tags_from_path))
    actions = runbook.list_field("actions", "remediation_actions")
    alerts = list(dict.fromkeys(runbook.list_field("alerts", "alert") + runbook.aliases))
    chunks: list[RunbookChunk] = []
    for section in _sections(runbook.body_lines):
        # Section lines are contiguous after their heading, so offsets from section.start are exact.
        blocks = _paragraphs(section.lines, section.start)
        for first, last, text in _pack(blocks, chunk_chars):
            body = text.strip()
            if not body:
                continue
            index = len(chunks)
            digest = hashlib.sha256(f"{doc_id}\0{index}\0{body}".encode()).hexdigest()[:24]
            chunks.append(
                RunbookChunk(
                    id=digest,
                    doc_id=doc_id,
                    source=runbook.source,
                    root=root,
                    title=runbook.title,
                    section=" > ".join(section.path),
                    body=body,
                    chunk_index=index,
                    line_start=runbook.body_offset + first + 1,
                    line_end=runbook.body_offset + last + 1,
                    file_hash=file_hash,
                    service=services[0] if services else None,
                    tags=tags,
                    actions=actions,
                    alerts=alerts,
                )
            )
    if not chunks:  # a runbook with a title only is still findable by its name
        chunks.append(
            RunbookChunk(
                id=hashlib.sha256(f"{doc_id}\0title".encode()).hexdigest()[:24],
                doc_id=doc_id,
                source=runbook.source,
                root=root,
                title=runbook.title,
                body=runbook.title,
                chunk_index=0,
                line_start=1,
                line_end=1,
                file_hash=file_hash,
                service=services[0] if services else None,
                tags=tags,
                actions=actions,
                alerts=alerts,
            )
        )
    return chunks


def tags_from_path(source: str) -> list[str]:
    """Directory names of a runbook's path, minus generic ones, as tags (`kubernetes/x.md` -> kubernetes)."""
    parts = PurePosixPath(source).parts[:-1]
    return [p for p in parts if p.lower() not in GENERIC_DIRS]
