"""Read-only tools the agent may call. Typed functions: LangChain derives each schema from the
signature and docstring. A tool that is not configured is not offered at all: no stubs.

Every result is data, not instructions: it is bounded in size and fenced as untrusted before the
model sees it (secrets are redacted by the model middleware).
"""

from __future__ import annotations

import concurrent.futures
import re
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from langchain.agents.middleware import ToolCallRequest, wrap_tool_call
from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, tool
from langgraph.errors import GraphBubbleUp

from opsagent.agent.guard import prepare_untrusted
from opsagent.config import Settings, http_check_target
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
    namespaces: list[str] = field(default_factory=list)  # the incident's: kubectl may read these

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
        tools.append(_kubectl_tool(ctx.settings, ctx.namespaces))
    return tools


KUBE_NAME = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$")
# One resource after case folding: `pods`, `deploy`, `deployments.v1.apps`, `secrets.v1.` (empty group).
KUBE_RESOURCE = re.compile(r"^[a-z][a-z0-9-]{0,62}(?:\.[a-z0-9-]{0,62}){0,8}$")
# A resource whose name or API group says it holds credentials is never read, in any spelling: Secrets
# and the CRDs that carry or fetch them (SealedSecret, ExternalSecret, SecretStore, the Vault operator's
# `*.secrets.hashicorp.com`), token reviews and requests.
SENSITIVE_RESOURCE_WORDS = ("secret", "token", "credential", "password")
# Short names of those CRDs (external-secrets: es, ces, ss, css); the core API gives Secrets none.
SENSITIVE_SHORT_NAMES = frozenset({"es", "ces", "ss", "css"})
# Resources without a namespace: no namespace check, no `-n`.
CLUSTER_SCOPED = frozenset(
    {"node", "nodes", "no", "namespace", "namespaces", "ns", "persistentvolume", "persistentvolumes", "pv",
     "storageclass", "storageclasses", "sc", "priorityclass", "priorityclasses", "pc", "ingressclass",
     "ingressclasses", "runtimeclass", "runtimeclasses", "csidriver", "csidrivers", "csinode", "csinodes",
     "volumeattachment", "volumeattachments", "customresourcedefinition", "customresourcedefinitions",
     "crd", "crds", "apiservice", "apiservices", "clusterrole", "clusterroles", "clusterrolebinding",
     "clusterrolebindings", "componentstatus", "componentstatuses", "cs"}
)  # fmt: skip
ALL_NAMESPACES = frozenset({"*", "all", "-a", "--all-namespaces", "--all", "all-namespaces"})


def kube_resources(resource: str) -> list[str]:
    """The resources a kubectl resource argument names, case-folded; ValueError for a credential holder.

    kubectl accepts `pods,secrets`, `Secret`, `secrets.v1.` and `secret/name`: each part is checked, with
    its group/version suffix, so no spelling of a Secret gets through.
    """
    text = resource.strip().casefold()
    if "/" in text:
        raise ValueError(f"resource {resource!r}: give the name separately (resource='pod', name='...')")
    parts = text.split(",")
    for part in parts:
        if not KUBE_RESOURCE.match(part):
            raise ValueError(f"resource {resource!r} is not a Kubernetes resource name")
        kind = part.split(".", 1)[0]
        if kind in SENSITIVE_SHORT_NAMES or any(word in part for word in SENSITIVE_RESOURCE_WORDS):
            raise ValueError(f"resource {part!r} holds credentials: secrets are off-limits")
    return parts


def kube_namespace(
    settings: Settings, incident: Sequence[str], namespace: str | None, *, cluster_scoped: bool = False
) -> str | None:
    """The namespace to read: the incident's own, or one the settings allow; ValueError otherwise."""
    explicit = {n.strip().lower() for n in settings.kubectl_namespaces}
    denied = {n.strip().lower() for n in settings.kubectl_denied_namespaces}
    own = [n.lower() for n in incident if n]
    allowed = sorted({*own, *explicit} - {"*"} - (denied - explicit))
    hint = (
        f"allowed: {', '.join(allowed)}" if allowed else "no namespace is allowed for this conversation"
    ) + "; OPSAGENT_KUBECTL_NAMESPACES adds more"
    if namespace is None or not namespace.strip():
        if cluster_scoped:
            return None
        if len(own) == 1 and (own[0] not in denied or own[0] in explicit):
            return own[0]  # never kubectl's default namespace: that is whatever the kubeconfig says
        raise ValueError(f"name a namespace ({hint})")
    ns = namespace.strip().lower()
    if ns in ALL_NAMESPACES:
        raise ValueError(f"reading every namespace at once is not allowed ({hint})")
    if not KUBE_NAME.match(ns):
        raise ValueError(f"{namespace!r} is not a valid Kubernetes name")
    if cluster_scoped or ns in explicit:
        return None if cluster_scoped else ns
    if ns in denied:
        raise ValueError(f"namespace {ns!r} holds cluster credentials and is off-limits ({hint})")
    if ns in own or "*" in explicit:
        return ns
    raise ValueError(f"namespace {ns!r} is not this incident's ({hint})")


def kubectl_argv(
    settings: Settings,
    verb: str,
    resource: str,
    name: str | None,
    namespace: str | None,
    tail: int,
    incident_namespaces: Sequence[str] = (),
) -> list[str]:
    """The argv for a read-only kubectl call; raises ValueError for anything else."""
    if verb not in ("get", "describe", "logs"):
        raise ValueError(f"verb {verb!r} is not allowed: only get, describe and logs")
    if name is not None and not KUBE_NAME.match(name):
        raise ValueError(f"{name!r} is not a valid Kubernetes name")
    parts = ["pods"] if verb == "logs" else kube_resources(resource)
    scoped = all(p.split(".", 1)[0] in CLUSTER_SCOPED for p in parts)
    ns = kube_namespace(settings, incident_namespaces, namespace, cluster_scoped=scoped)
    argv = [str(settings.kubectl)]
    if settings.kubectl_context:
        argv += ["--context", settings.kubectl_context]
    if ns:
        argv += ["-n", ns]
    if verb == "logs":
        if not name:
            raise ValueError("logs needs a pod name")
        return [*argv, "logs", name, f"--tail={max(1, min(tail, 500))}", "--timestamps"]
    return [*argv, verb, ",".join(parts), *([name] if name else [])]


def _kubectl_tool(settings: Settings, incident_namespaces: Sequence[str] = ()) -> BaseTool:
    @tool
    def kubectl(
        verb: str,
        resource: str = "pod",
        name: str | None = None,
        namespace: str | None = None,
        tail: int = 200,
    ) -> str:
        """Read-only kubectl: verb get, describe or logs (logs takes a pod name) in the incident's namespace
        (the default); secrets and credential-holding namespaces are off-limits."""
        try:
            argv = kubectl_argv(settings, verb, resource, name, namespace, tail, incident_namespaces)
        except ValueError as exc:
            return f"refused: {exc}"
        try:
            # An argv list, never a shell string; bounded in time; undecodable output is replaced.
            done = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=settings.tool_timeout_seconds,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"kubectl failed: {exc.__class__.__name__}: {exc}"
        body = done.stdout if done.returncode == 0 else f"exit {done.returncode}: {done.stderr}"
        return prepare_untrusted(f"kubectl {verb}", body, settings.tool_output_chars)

    return kubectl


MAX_URL_CHARS = 2048
MAX_PATH_CHARS = 512
MAX_QUERY_CHARS = 512
MAX_BODY_BYTES = 64 * 1024
DEFAULT_PORTS = {"http": 80, "https": 443}


def http_check_allowlist(settings: Settings) -> dict[str, set[int]]:
    """Allowed host -> ports: a bare host allows 80 and 443, `host:port` that port."""
    allowed: dict[str, set[int]] = {}
    for entry in settings.http_check_hosts:
        host, port = http_check_target(entry)
        allowed.setdefault(host, set()).update({port} if port else {80, 443})
    return allowed


def http_check_url(url: str, allowed: dict[str, set[int]]) -> httpx.URL:
    """The URL to GET, parsed by the client that will send it; ValueError says why it is refused."""
    if len(url) > MAX_URL_CHARS:
        raise ValueError(f"the URL is {len(url)} characters long (at most {MAX_URL_CHARS})")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 or c == "\\" for c in url):
        raise ValueError("the URL contains whitespace, control characters or a backslash")
    try:
        # Parsed by httpx itself so the host checked is the host contacted (no parser differential).
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, UnicodeError) as exc:
        raise ValueError(f"not a valid URL: {exc}") from None
    hosts = ", ".join(sorted(f"{h}:{p}" for h, ports in allowed.items() for p in ports))
    if parsed.scheme not in DEFAULT_PORTS:
        raise ValueError(f"only http and https URLs (allowed: {hosts})")
    if parsed.userinfo:
        raise ValueError("URLs with a user name or password are not allowed")
    host = parsed.host.lower()
    if host not in allowed:
        raise ValueError(f"{host!r} is not an allowed host (allowed: {hosts})")
    port = parsed.port or DEFAULT_PORTS[parsed.scheme]
    if port not in allowed[host]:
        ports = ", ".join(str(p) for p in sorted(allowed[host]))
        raise ValueError(f"port {port} of {host!r} is not allowed (allowed ports: {ports})")
    if len(parsed.path) > MAX_PATH_CHARS or len(parsed.query) > MAX_QUERY_CHARS:
        raise ValueError(f"the path or query is too long (at most {MAX_PATH_CHARS} characters each)")
    return parsed


def _http_check_tool(settings: Settings) -> BaseTool:
    allowed = http_check_allowlist(settings)

    @tool
    def http_check(url: str) -> str:
        """GET a URL on an allowed host and port and report status, latency and the start of the body."""
        try:
            target = http_check_url(url, allowed)
        except ValueError as exc:
            return f"refused: {exc}"
        started = time.perf_counter()
        try:
            # No proxies from the environment: the allowlisted host is the one contacted.
            with (
                httpx.Client(
                    timeout=settings.tool_timeout_seconds, follow_redirects=False, trust_env=False
                ) as client,
                client.stream("GET", target) as response,
            ):
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) >= MAX_BODY_BYTES:
                        break
                status = response.status_code
                text = _decode(bytes(body[:MAX_BODY_BYTES]), response.encoding)
        except Exception as exc:  # any failure is an answer for the model; never an exception in the loop
            return f"request failed: {exc.__class__.__name__}: {str(exc)[:300]}"
        elapsed_ms = (time.perf_counter() - started) * 1000
        result = f"HTTP {status} in {elapsed_ms:.0f} ms\n{text[:2000]}"
        return prepare_untrusted("http_check", result, settings.tool_output_chars)

    return http_check


def _decode(body: bytes, encoding: str | None) -> str:
    try:
        return body.decode(encoding or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        return body.decode("utf-8", errors="replace")


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
        call_id = str(request.tool_call.get("id", ""))
        future = pool.submit(handler, request)
        try:
            return future.result(timeout=settings.tool_timeout_seconds)
        except concurrent.futures.TimeoutError:
            return ToolMessage(
                content=f"tool timed out after {settings.tool_timeout_seconds:.0f} s",
                tool_call_id=call_id,
                status="error",
            )
        except GraphBubbleUp:
            raise  # LangGraph's own control flow (interrupts), not a failure
        except Exception as exc:
            # A tool that raises must not end the run (no diagnosis, a failed job, a 500 in chat): the
            # model reads the error like any other tool result and carries on.
            return ToolMessage(
                content=f"tool failed: {exc.__class__.__name__}: {str(exc)[:300]}",
                tool_call_id=call_id,
                status="error",
            )

    return bounded


def recursion_limit(settings: Settings) -> int:
    """LangGraph's step limit for one agent run: a backstop only, the step budget is the middleware's.

    Each model call takes three graph steps (the call-limit middleware's hook, the model, the tools), so
    `2 * steps` cut runs off after about two thirds of their budget with a GraphRecursionError.
    """
    return 4 * settings.agent_max_steps + 4


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
