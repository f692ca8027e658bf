"""Pydantic models at the knowledge layer's boundaries: what ingestion produces and search returns."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field


class DocumentKind(StrEnum):
    """What a searchable document is."""

    RUNBOOK = "runbook"
    LOG = "log"


class RunbookChunk(BaseModel):
    """One heading-aware piece of a runbook, as stored in the vector store."""

    id: str = Field(description="Stable id: hash of the document key, position and content.")
    doc_id: str = Field(description="Stable id of the whole document (root + source path).")
    source: str = Field(description="Path relative to the ingested root, used in citations.")
    root: str = Field(description="The ingested root directory (absolute), scoping deletions.")
    title: str
    section: str = Field(default="", description="Heading path inside the document, 'A > B'.")
    body: str = Field(description="The chunk's own text, as written in the runbook.")
    chunk_index: int
    line_start: int
    line_end: int
    file_hash: str
    service: str | None = None
    tags: list[str] = Field(default_factory=list)
    actions: list[str] = Field(default_factory=list, description="Remediation action ids it names.")
    alerts: list[str] = Field(default_factory=list, description="Alert names it declares it covers.")

    def embedding_text(self) -> str:
        """What gets embedded: the title and section path give a chunk its context."""
        heading = f"{self.title} > {self.section}" if self.section else self.title
        return f"{heading}\n\n{self.body}"


class LogTemplate(BaseModel):
    """A log line shape mined from one log file, with counts and examples."""

    template: str = Field(description="The line with variable parts replaced by <*> or <TYPE> masks.")
    count: int
    source: str = Field(description="Log file path relative to the ingested root.")
    root: str
    service: str | None = None
    first_seen: float | None = Field(default=None, description="Epoch seconds of the first line seen.")
    last_seen: float | None = None
    first_line: int = Field(description="1-based line number of the first occurrence.")
    last_line: int
    levels: dict[str, int] = Field(default_factory=dict, description="Count per log level.")
    examples: list[str] = Field(default_factory=list, description="Up to three raw example lines.")
    example_lines: list[int] = Field(default_factory=list)

    @property
    def dominant_level(self) -> str | None:
        """The most frequent level, if any line had one."""
        return max(self.levels, key=lambda k: self.levels[k]) if self.levels else None


class LogLine(BaseModel):
    """One raw log line found by keyword / time-window search."""

    source: str
    root: str
    line_no: int
    ts: float | None = None
    level: str | None = None
    service: str | None = None
    text: str


class Citation(BaseModel):
    """Where a piece of evidence comes from, precise enough for a human to open it."""

    source: str
    section: str = ""
    line_start: int | None = None
    line_end: int | None = None

    def render(self) -> str:
        """`path#Section (L10-L20)` for runbooks, `path:L10-L20` for logs."""
        lines = ""
        if self.line_start is not None:
            end = self.line_end if self.line_end is not None else self.line_start
            lines = f"L{self.line_start}" + (f"-L{end}" if end != self.line_start else "")
        if self.section:
            return f"{self.source}#{self.section}" + (f" ({lines})" if lines else "")
        return f"{self.source}:{lines}" if lines else self.source


class SearchHit(BaseModel):
    """One document in a search result, represented by its best chunk."""

    doc_id: str
    kind: DocumentKind
    source: str
    root: str = Field(default="", description="The ingested folder `source` is relative to.")
    title: str
    section: str = ""
    score: float = Field(description="Confidence in [0, 1] that this document answers the query.")
    snippet: str
    citation: Citation
    service: str | None = None
    actions: list[str] = Field(default_factory=list)
    count: int | None = Field(default=None, description="Log templates: how many lines had this shape.")
    first_seen: float | None = None
    last_seen: float | None = None


class LogCoverage(BaseModel):
    """How many of one log file's lines got a timestamp (continuation lines count with their event)."""

    source: str
    lines: int
    timestamped: int

    @property
    def fraction(self) -> float:
        """Share of lines with a timestamp (0.0 for an empty file)."""
        return self.timestamped / self.lines if self.lines else 0.0


class IngestReport(BaseModel):
    """What one `ingest` run did; printed by the CLI and returned by the API."""

    files_seen: int = 0
    files_ingested: int = 0
    files_unchanged: int = 0
    files_removed: int = 0
    files_skipped: int = 0
    chunks_added: int = 0
    templates_added: int = 0
    log_lines: int = 0
    log_coverage: list[LogCoverage] = Field(
        default_factory=list, description="Per log file ingested in this run: lines with a timestamp."
    )
    warnings: list[str] = Field(default_factory=list)
    seconds: float = 0.0
