"""Read-only tools the agent may call. Typed functions: LangChain derives each schema from the
signature and docstring. A tool that is not configured is not offered at all: no stubs.

Every result is data, not instructions: it is bounded in size and fenced as untrusted before the
model sees it (secrets are redacted by the model middleware).
"""

from __future__ import annotations

import concurrent.futures
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import httpx
from langchain.agents.middleware import ToolCallRequest, wrap_tool_call
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, tool

from opsagent.agent.guard import prepare_untrusted
from opsagent.config import Settings
from opsagent.knowledge.base import KnowledgeBase
from opsagent.knowledge.models import DocumentKind
from opsagent.knowledge.search import SearchFilters
from opsagent.timeparse import format_time


@dataclass
class ToolContext:
    """What tools may read: the knowledge base, settings, and the incident's time window."""

    settings: Settings
    kb: KnowledgeBase
    window: tuple[float, float] | None = None
    service: str | None = None
    sources: list[str] = field(default_factory=list)  # citations tools returned, for `/sources`

    def cite(self, citations: list[str]) -> None:
        """Remember what the tools showed the model."""
        self.sources.extend(c for c in citations if c not in self.sources)


def build_tools(ctx: ToolContext) -> list[BaseTool]:
    """The tools available with this configuration."""
    limit = ctx.settings.tool_output_chars

    @tool
    def search_runbooks(query: str, k: int = 3) -> str:
        """Search the runbooks. Returns titles, citations (path#Section) and the best matching text."""
        hits = ctx.kb.search(query, max(1, min(k, 5)), SearchFilters(kind=DocumentKind.RUNBOOK))
        ctx.cite([h.citation.render() for h in hits])
        body = "\n\n".join(
            f"{h.title} ({h.citation.render()}, score {h.score:.2f})\n{h.snippet}" for h in hits
        )
        return prepare_untrusted("search_runbooks", body or "no runbooks found", limit)

    @tool
    def search_logs(query: str, service: str | None = None) -> str:
        """Search log templates (line shapes with counts and first/last seen) in the incident window."""
        since, until = ctx.window or (None, None)
        filters = SearchFilters(kind=DocumentKind.LOG, service=service, since=since, until=until)
        hits = ctx.kb.search(query, 8, filters)
        ctx.cite([h.citation.render() for h in hits])
        body = "\n".join(
            f"{h.count}x [{h.citation.render()}] {format_time(h.first_seen)}..{format_time(h.last_seen)} "
            f"{h.title}"
            for h in hits
        )
        return prepare_untrusted("search_logs", body or "no matching log templates", limit)

    @tool
    def log_lines(keywords: str, service: str | None = None, max_lines: int = 20) -> str:
        """Raw log lines containing all the keywords, in time order, within the incident window."""
        since, until = ctx.window or (None, None)
        lines = ctx.kb.search_log_lines(
            keywords, service=service, since=since, until=until, limit=max(1, min(max_lines, 50))
        )
        ctx.cite([f"{line.source}:L{line.line_no}" for line in lines])
        body = "\n".join(f"{line.source}:L{line.line_no} {line.text}" for line in lines)
        return prepare_untrusted("log_lines", body or "no matching lines", limit)

    @tool
    def log_templates(service: str, minutes_before_alert: int = 60) -> str:
        """All log line shapes of a service around the incident, most frequent first, with levels."""
        since, until = ctx.window or (None, None)
        if since is not None and until is not None:
            since = max(since, until - 60 * max(1, minutes_before_alert))
        clauses: list[dict[str, Any]] = [{"service": service}]
        if since is not None and until is not None:
            clauses += [{"last_seen": {"$gte": since}}, {"first_seen": {"$lte": until}}]
        where = clauses[0] if len(clauses) == 1 else {"$and": clauses}
        records = list(ctx.kb.store.iter_records(DocumentKind.LOG, where=where))
        records.sort(key=lambda r: -int(r[2].get("count", 0)))
        top = records[:40]
        cites = [f"{m.get('source')}:L{m.get('line_start')}-L{m.get('line_end')}" for _, _, m in top]
        lines = [
            f"{m.get('count')}x [{m.get('level') or '-'}] {cite} {text[:200]}"
            for (_, text, m), cite in zip(top, cites, strict=True)
        ]
        ctx.cite(cites)
        return prepare_untrusted(
            "log_templates", "\n".join(lines) or f"no log templates for {service!r}", limit
        )

    tools: list[BaseTool] = [search_runbooks, search_logs, log_templates, log_lines]
    if ctx.settings.http_check_hosts:
        tools.append(_http_check_tool(ctx.settings))
    if ctx.settings.prometheus_url:
        tools.append(_prometheus_tool(ctx.settings))
    if ctx.settings.kubectl:
        tools.append(_kubectl_tool(ctx.settings))
    return tools


KUBE_NAME = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$")
KUBE_RESOURCE = re.compile(r"^[a-z][a-z0-9.]{0,62}$")


def kubectl_argv(
    settings: Settings, verb: str, resource: str, name: str | None, namespace: str | None, tail: int
) -> list[str]:
    """The argv for a read-only kubectl call; raises ValueError for anything else."""
    if verb not in ("get", "describe", "logs"):
        raise ValueError(f"verb {verb!r} is not allowed: only get, describe and logs")
    if not KUBE_RESOURCE.match(resource) or resource in ("secret", "secrets"):
        raise ValueError(f"resource {resource!r} is not allowed")
    for value in (name, namespace):
        if value is not None and not KUBE_NAME.match(value):
            raise ValueError(f"{value!r} is not a valid Kubernetes name")
    argv = [str(settings.kubectl)]
    if settings.kubectl_context:
        argv += ["--context", settings.kubectl_context]
    if namespace:
        argv += ["-n", namespace]
    if verb == "logs":
        if not name:
            raise ValueError("logs needs a pod name")
        return [*argv, "logs", name, f"--tail={max(1, min(tail, 500))}", "--timestamps"]
    return [*argv, verb, resource, *([name] if name else [])]


def _kubectl_tool(settings: Settings) -> BaseTool:
    @tool
    def kubectl(
        verb: str,
        resource: str = "pod",
        name: str | None = None,
        namespace: str | None = None,
        tail: int = 200,
    ) -> str:
        """Read-only kubectl: verb get, describe or logs (logs takes a pod name); secrets are off-limits."""
        try:
            argv = kubectl_argv(settings, verb, resource, name, namespace, tail)
        except ValueError as exc:
            return f"refused: {exc}"
        try:
            # An argv list, never a shell string; bounded in time.
            done = subprocess.run(argv, capture_output=True, text=True, timeout=settings.tool_timeout_seconds)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"kubectl failed: {exc.__class__.__name__}: {exc}"
        body = done.stdout if done.returncode == 0 else f"exit {done.returncode}: {done.stderr}"
        return prepare_untrusted(f"kubectl {verb}", body, settings.tool_output_chars)

    return kubectl


def _http_check_tool(settings: Settings) -> BaseTool:
    allowed = {h.lower() for h in settings.http_check_hosts}

    @tool
    def http_check(url: str) -> str:
        """GET a URL on an allowed host and report status, latency and the start of the body."""
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or (parsed.hostname or "").lower() not in allowed:
            return f"refused: {parsed.hostname!r} is not an allowed host ({', '.join(sorted(allowed))})"
        try:
            response = httpx.get(url, timeout=settings.tool_timeout_seconds, follow_redirects=False)
        except httpx.HTTPError as exc:
            return f"request failed: {exc.__class__.__name__}: {exc}"
        elapsed_ms = response.elapsed.total_seconds() * 1000
        body = f"HTTP {response.status_code} in {elapsed_ms:.0f} ms\n{response.text[:2000]}"
        return prepare_untrusted("http_check", body, settings.tool_output_chars)

    return http_check


def _prometheus_tool(settings: Settings) -> BaseTool:
    base = str(settings.prometheus_url).rstrip("/")

    @tool
    def prometheus_query(promql: str) -> str:
        """Run an instant PromQL query against the configured Prometheus and return the series."""
        try:
            response = httpx.get(
                f"{base}/api/v1/query", params={"query": promql}, timeout=settings.tool_timeout_seconds
            )
            data: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            return f"query failed: {exc.__class__.__name__}: {exc}"
        if data.get("status") != "success":
            return f"query failed: {data.get('error', response.text[:300])}"
        series = data.get("data", {}).get("result", [])
        body = "\n".join(f"{s.get('metric', {})} = {s.get('value', ['', ''])[1]}" for s in series[:50])
        return prepare_untrusted("prometheus_query", body or "no series", settings.tool_output_chars)

    return prometheus_query


def tool_timeout_middleware(settings: Settings) -> Any:
    """Agent middleware: a tool that runs too long answers 'timed out' instead of stalling the loop."""
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="opsagent-tool")

    @wrap_tool_call
    def bounded(request: ToolCallRequest, handler: Callable[[ToolCallRequest], Any]) -> Any:
        future = pool.submit(handler, request)
        try:
            return future.result(timeout=settings.tool_timeout_seconds)
        except concurrent.futures.TimeoutError:
            return ToolMessage(
                content=f"tool timed out after {settings.tool_timeout_seconds:.0f} s",
                tool_call_id=str(request.tool_call.get("id", "")),
                status="error",
            )

    return bounded


def agent_middleware(settings: Settings) -> list[Any]:
    """The middleware every opsagent agent runs with: step budget, redaction, retries, tool timeouts."""
    from langchain.agents.middleware import ModelCallLimitMiddleware

    from opsagent.agent.models import redaction_middleware, retry_middleware

    return [
        ModelCallLimitMiddleware(run_limit=settings.agent_max_steps, exit_behavior="end"),
        redaction_middleware(),
        retry_middleware(settings),
        tool_timeout_middleware(settings),
    ]
