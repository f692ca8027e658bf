"""Turning an alert into a search query: the alert's own words, minus the noise that hurts retrieval."""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import BaseModel

# Labels that name *what* is affected: useful words for finding the right runbook and logs.
TOPICAL_LABELS = (
    "alertname",
    "service",
    "app",
    "app_kubernetes_io_name",
    "component",
    "job",
    "container",
    "reason",
    "phase",
    "condition",
    "resource",
    "verb",
    "integration",
    "mountpoint",
    "device",
)
SERVICE_LABELS = ("service", "app", "app_kubernetes_io_name", "k8s_app", "container")
TEXT_ANNOTATIONS = ("summary", "description", "message", "title")
# Values that identify an instance rather than a problem: pod hashes, IPs, UUIDs, numbers.
# Pod names end in a ReplicaSet hash and a pod suffix drawn from Kubernetes' vowel-free alphabet, so
# `payments-api-7d9f8c6b4-x2k4q` is noise while `payments-worker-queue` is a real name.
NOISE = re.compile(
    r"^(\d+([.:]\d+)*%?|[0-9a-f]{8,}|[0-9a-f-]{36}|\d{1,3}(\.\d{1,3}){3}(:\d+)?"
    r"|.*-[bcdfghjklmnpqrstvwxz2-9]{6,10}-[bcdfghjklmnpqrstvwxz2-9]{5})$",
    re.IGNORECASE,
)
TEMPLATE = re.compile(r"\{\{.*?\}\}")


class AlertQuery(BaseModel):
    """A search query built from an alert, and the service it concerns (to scope log search)."""

    text: str
    service: str | None = None


def build_alert_query(
    name: str, labels: Mapping[str, str] | None = None, annotations: Mapping[str, str] | None = None
) -> AlertQuery:
    """Alert name first (runbooks are often named for it), then its summary and description, then
    topical label values; instance identifiers and unrendered `{{ }}` templates are dropped."""
    labels = labels or {}
    annotations = annotations or {}
    parts: list[str] = [name.strip()]
    for key in TEXT_ANNOTATIONS:
        value = TEMPLATE.sub(" ", str(annotations.get(key, ""))).strip()
        if value and value not in parts:
            parts.append(value)
    for key in TOPICAL_LABELS:
        value = str(labels.get(key, "")).strip()
        if value and value != name and not NOISE.match(value) and value not in parts:
            parts.append(value)
    service = next((str(labels[k]) for k in SERVICE_LABELS if labels.get(k)), None)
    return AlertQuery(text=" — ".join(p for p in parts if p), service=service)
