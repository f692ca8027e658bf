"""Prometheus metrics, one registry per app or worker (no process-global collectors).

Queue depth is read from the database at scrape time, so it is the shared queue's depth whichever
replica is scraped; the other metrics count what this process did.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from opsagent.agent.diagnosis import Diagnosis

KNOWN_TOOLS = frozenset(
    {
        "search_runbooks",
        "search_logs",
        "log_templates",
        "log_lines",
        "http_check",
        "prometheus_query",
        "kubectl",
    }
)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class _QueueDepth(Collector):
    def __init__(self, depth: Callable[[], dict[str, int]]) -> None:
        self.depth = depth

    def collect(self) -> Iterable[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            "opsagent_queue_jobs", "Jobs in the shared queue by status.", labels=["status"]
        )
        try:
            counts = self.depth()
        except Exception:  # a scrape must not fail because the database is briefly unreachable
            counts = {}
        for status, count in sorted(counts.items()):
            family.add_metric([status], count)
        yield family


class Metrics:
    """Every metric opsagent exports."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "opsagent_http_requests", "HTTP requests.", ["method", "route", "status"], registry=r
        )
        self.request_seconds = Histogram(
            "opsagent_http_request_seconds",
            "HTTP request latency.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.webhooks = Counter(
            "opsagent_webhooks",
            "Webhook deliveries by source and outcome (accepted, duplicate, unauthorized, invalid...).",
            ["source", "outcome"],
            registry=r,
        )
        self.alerts = Counter(
            "opsagent_alerts",
            "Alerts received, by source and what they did.",
            ["source", "outcome"],
            registry=r,
        )
        self.triage_seconds = Histogram(
            "opsagent_triage_seconds",
            "Time to diagnose one incident.",
            ["mode"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.jobs = Counter(
            "opsagent_jobs", "Jobs finished by kind and outcome.", ["kind", "outcome"], registry=r
        )
        self.llm_tokens = Counter("opsagent_llm_tokens", "LLM tokens.", ["direction"], registry=r)
        self.llm_errors = Counter("opsagent_llm_errors", "LLM runs that fell back to offline.", registry=r)
        self.tool_calls = Counter("opsagent_tool_calls", "Agent tool calls.", ["tool"], registry=r)
        self.notifications = Counter(
            "opsagent_notifications", "Notifications sent.", ["target", "outcome"], registry=r
        )
        self.workers = Gauge("opsagent_workers", "Triage workers running in this process.", registry=r)

    def watch_queue(self, depth: Callable[[], dict[str, int]]) -> None:
        """Export the queue's depth, read at scrape time."""
        self.registry.register(_QueueDepth(depth))

    def record_diagnosis(self, diagnosis: Diagnosis, seconds: float) -> None:
        """Latency, tokens, fallbacks and tool calls of one triage."""
        self.triage_seconds.labels(diagnosis.mode.value).observe(seconds)
        self.llm_tokens.labels("prompt").inc(diagnosis.token_usage.prompt_tokens)
        self.llm_tokens.labels("completion").inc(diagnosis.token_usage.completion_tokens)
        if diagnosis.fallback_reason:
            self.llm_errors.inc()
        for name in diagnosis.tool_calls:
            # The model names the tool: an injected "call" to a tool that does not exist must not mint
            # a new time series.
            self.tool_calls.labels(name if name in KNOWN_TOOLS else "unknown").inc()

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)
