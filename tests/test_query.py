from __future__ import annotations

from opsagent.knowledge.query import build_alert_query


def test_alert_query_keeps_topic_and_drops_instance_noise() -> None:
    query = build_alert_query(
        "KubePodCrashLooping",
        labels={
            "pod": "api-7d9f8c-x2k4q",
            "namespace": "payments",
            "container": "api",
            "service": "payments-api",
            "instance": "10.0.3.17:9100",
            "severity": "critical",
            "reason": "CrashLoopBackOff",
        },
        annotations={
            "summary": "Pod is crash looping.",
            "description": "Pod {{ $labels.pod }} restarts 5 times.",
        },
    )
    assert query.text.startswith("KubePodCrashLooping — Pod is crash looping.")
    assert "CrashLoopBackOff" in query.text and "payments-api" in query.text
    assert "10.0.3.17" not in query.text and "x2k4q" not in query.text and "{{" not in query.text
    assert query.service == "payments-api"


def test_alert_query_without_labels() -> None:
    query = build_alert_query("DiskFull")
    assert query.text == "DiskFull"
    assert query.service is None


def test_real_names_that_look_hyphenated_are_kept() -> None:
    query = build_alert_query(
        "QueueBacklog", labels={"app": "payments-worker-queue", "pod": "api-7d9f8c6b4-x2k4q"}
    )
    assert "payments-worker-queue" in query.text
