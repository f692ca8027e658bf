"""Evidence tied to the incident: entities, linked logs, dependencies, what changed, honest confidence.

One small knowledge base with a busy window: every service logs its own problems at the same time, so a
diagnosis that takes evidence from the wrong service shows up as a wrong cause.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from opsagent.agent.dependencies import hosts_named
from opsagent.agent.entities import alert_entities, host_aliases, parameter_values
from opsagent.agent.linking import Tier
from opsagent.agent.triage import Triage
from opsagent.incidents.models import Alert
from opsagent.integrations.generic import parse_alert_payload
from tests.triage_support import triage_over

REPO = Path(__file__).resolve().parents[1]
RUNBOOK = """---
title: Database connections exhausted
alerts: [DatabaseConnectionsExhausted]
actions: [terminate_idle_db_connections, scale_deployment]
---
# Database connections exhausted

Postgres answers "too many clients already"; find who holds the connections and scale it down.
"""
DEPLOY_RUNBOOK = """---
title: Web errors after a deploy
alerts: [WebErrorRate]
actions: [restart_deployment, rollback_deployment]
---
# Web error rate

## Mitigation
1. Restart with `restart_deployment` when pods are wedged.
2. If a release went out, run `rollback_deployment`.
"""


def _ts(minute: int, second: int = 0) -> str:
    return f"2026-11-27T03:{minute:02d}:{second:02d}Z"


def _write_busy_night(root: Path) -> None:
    logs = root / "logs"
    (logs / "nodes" / "ip-10-0-7-21").mkdir(parents=True)
    (root / "runbooks").mkdir()
    (root / "runbooks" / "db-connections.md").write_text(RUNBOOK)
    (root / "runbooks" / "web-deploy.md").write_text(DEPLOY_RUNBOOK)
    orders_db = [
        f"{_ts(m, s)} LOG:  connection received: host=10.42.1.{s}" for m in range(60) for s in (0, 30)
    ]
    orders_db += [f"{_ts(m, 5)} FATAL:  sorry, too many clients already" for m in range(30, 60)]
    (logs / "orders-db.log").write_text("\n".join(sorted(orders_db)) + "\n")
    api = [f"{_ts(m)} INFO checkout-api request ok id={m}" for m in range(60)]
    api += [
        f"{_ts(m, 7)} ERROR checkout-api dial tcp orders-db:5432: i/o timeout while opening a connection"
        for m in range(31, 60)
    ]
    (logs / "checkout-api.log").write_text("\n".join(sorted(api)) + "\n")
    web = [f"{_ts(m)} INFO web request ok id={m}" for m in range(60)]
    web += [
        f"{_ts(20, 0)} INFO web shutting down web version v2.4.0",
        f"{_ts(20, 1)} INFO web Started web version v2.4.1",
    ]
    web += [f"{_ts(m, 9)} ERROR web NullPointerException in PriceFormatter.render" for m in range(22, 60)]
    (logs / "web.log").write_text("\n".join(sorted(web)) + "\n")
    host = "ip-10-0-7-21"
    syslog = [
        f"Nov 27 03:{m:02d}:11 {host} kubelet[812]: I1127 03:{m:02d}:11.1 812 ok.go:1] sync"
        for m in range(60)
    ]
    syslog += [
        f"Nov 27 03:{m:02d}:40 {host} containerd[640]: write /var/lib/containerd/tmp: no space left on device"
        for m in range(40, 60)
    ]
    (logs / "nodes" / "ip-10-0-7-21" / "syslog.log").write_text("\n".join(sorted(syslog)) + "\n")


@pytest.fixture(scope="module")
def triage(tmp_path_factory: pytest.TempPathFactory) -> Triage:
    root = tmp_path_factory.mktemp("kb")
    _write_busy_night(root)
    with triage_over(root) as built:
        yield built


def _alert(name: str, labels: dict[str, str], minute: int = 55) -> Alert:
    payload = {"alertname": name, "labels": labels, "startsAt": _ts(minute)}
    return parse_alert_payload(payload)[0]


def test_job_instance_and_endpoint_never_name_the_workload() -> None:
    alert = _alert(
        "ProbeFailed", {"job": "blackbox", "instance": "https://shop.example.com", "endpoint": "http"}
    )
    entities = alert_entities(alert)
    assert entities.workload_names == [] and entities.nodes == []
    values = parameter_values(entities, alert.labels)
    assert values["deployment"] is None and values["pod"] is None


def test_exporter_pod_labels_are_the_scrapers_not_the_workload() -> None:
    labels = {"job": "node-exporter", "instance": "ip-10-0-7-21", "pod": "node-exporter-7m4qz",
              "container": "kube-rbac-proxy", "namespace": "monitoring"}  # fmt: skip
    entities = alert_entities(_alert("NodeFilesystemAlmostOutOfSpace", labels))
    assert entities.is_node_alert and entities.nodes[0] == "ip-10-0-7-21"
    assert entities.pod is None and entities.namespace is None


def test_workload_labels_and_pod_owner() -> None:
    labels = {"pod": "payments-api-7d4b9c6f8-x2lqp", "namespace": "payments", "job": "kube-state-metrics"}
    entities = alert_entities(_alert("KubePodCrashLooping", labels))
    assert entities.deployment == "payments-api" and entities.pod == "payments-api-7d4b9c6f8-x2lqp"
    assert host_aliases("10.0.3.17:9100") == ["10.0.3.17", "ip-10-0-3-17"]


def test_hosts_named_in_error_lines() -> None:
    assert "orders-db" in hosts_named("dial tcp orders-db.data.svc.cluster.local:5432: connect: refused")
    assert "payments-api" in hosts_named('Post "http://payments-api:8080/v1/charges": EOF')
    assert "inventory-db" in hosts_named("could not connect to server host=inventory-db port=5432")


def test_no_logs_of_the_service_means_unknown_and_low_confidence(triage: Triage) -> None:
    diagnosis = triage.diagnose(_alert("SearchLatencyHigh", {"service": "search-api", "namespace": "search"}))
    assert diagnosis.confidence.value <= 0.5
    assert diagnosis.probable_root_cause.startswith("Unknown")
    assert "too many clients" not in diagnosis.probable_root_cause.lower()
    assert diagnosis.next_steps, "next steps are never empty"
    assert any("No logs of search-api" in step for step in diagnosis.next_steps)
    # Other services' errors are context, never a cause.
    assert {e.kind for e in diagnosis.evidence} <= {"elsewhere", "runbook"}


def test_no_entity_at_all_is_unknown(triage: Triage) -> None:
    diagnosis = triage.diagnose(_alert("SomethingIsWrong", {"severity": "critical"}))
    assert diagnosis.confidence.value <= 0.5 and diagnosis.probable_root_cause.startswith("Unknown")
    assert diagnosis.next_steps


def test_cause_in_a_dependency_named_by_the_services_own_errors(triage: Triage) -> None:
    found = triage.pipeline.gather(_alert("CheckoutApi5xx", {"service": "checkout-api"}))
    assert "orders-db" in found.links.dependencies
    cause = found.cause
    assert cause is not None and cause.signature.id == "db_too_many_connections"
    assert cause.tier == Tier.DEPENDENCY
    diagnosis = triage.diagnose(_alert("CheckoutApi5xx", {"service": "checkout-api"}))
    assert diagnosis.runbook is not None and diagnosis.runbook.source == "db-connections.md"


def test_declared_dependency_links_logs(tmp_path: Path, triage: Triage) -> None:
    from opsagent.agent.dependencies import DeclaredDependencies

    (tmp_path / "services.yaml").write_text("services:\n  web:\n    depends_on: [orders-db]\n")
    assert DeclaredDependencies([tmp_path]).of(["web"]) == ["orders-db"]
    (tmp_path / "services.yaml").write_text("services: [not, a, mapping]\n")
    broken = DeclaredDependencies([tmp_path])
    assert broken.graph == {} and broken.problems  # reported, never a crash


def test_node_alert_reads_the_nodes_own_logs(triage: Triage) -> None:
    labels = {"job": "node-exporter", "instance": "ip-10-0-7-21:9100", "mountpoint": "/"}
    found = triage.pipeline.gather(_alert("NodeDiskFull", labels))
    cause = found.cause
    assert cause is not None and cause.signature.id == "disk_full" and cause.tier == Tier.OWN
    assert all("orders-db" not in f.source for f in found.findings)


def test_release_before_the_symptoms_is_evidence_and_rollback_ranks_first(triage: Triage) -> None:
    diagnosis = triage.diagnose(_alert("WebErrorRate", {"service": "web", "namespace": "shop"}))
    assert "v2.4.1" in diagnosis.probable_root_cause
    assert [e for e in diagnosis.evidence if e.kind == "change"]
    assert diagnosis.proposed_actions[0].action_id == "rollback_deployment"
    assert diagnosis.proposed_actions[0].parameters == {"namespace": "shop", "deployment": "web"}
    assert diagnosis.confidence.value <= 0.5  # a release is a suspect, not a confirmed cause


def test_without_a_release_the_runbooks_order_stands(triage: Triage) -> None:
    diagnosis = triage.diagnose(_alert("WebErrorRate", {"service": "web"}, minute=15))
    ids = [a.action_id for a in diagnosis.proposed_actions]
    assert ids.index("restart_deployment") < ids.index("rollback_deployment")


def test_versions_are_read_from_log_lines_not_from_clocks() -> None:
    from opsagent.agent.changes import version_in

    assert (
        version_in('{"ts": "2026-11-20T00:05:01.900Z", "msg": "Pulling image \\"r.io/pay/api:v3.8.0\\""}')
        == "3.8.0"
    )
    assert version_in('{"msg": "starting payments-api", "version": "3.8.0"}') == "3.8.0"
    assert version_in("Started web version=v2.4.1") == "2.4.1"
    assert version_in("03:12:01.123 request took 12.5 ms") is None


def test_a_stop_is_not_a_release_and_another_workloads_pull_is_not_ours() -> None:
    from opsagent.agent.changes import ChangeEvent, _foreign, _previous_versions

    events = [
        ChangeEvent("restart", "Process (re)started", 10.0, "a.log", "/r", 1, "starting v2", None, "2.0.0"),
        ChangeEvent("stop", "Process stopped", 20.0, "a.log", "/r", 2, "stopping v1", None, "1.0.0"),
    ]
    _previous_versions(events)
    assert events[0].previous_version == "1.0.0" and events[0].is_release
    assert not events[1].is_release
    assert _foreign("deploy", 'Pulling image "video-transcoder:2.32.2"', ["payments-api"])
    assert _foreign("deploy", 'Pulling image "video-transcoder:2.32.2"', [])  # a node alert: no workload
    assert not _foreign("deploy", 'Pulling image "payments-api:v3.8.0"', ["payments-api"])


def test_a_signature_that_restates_the_alert_is_not_an_explanation(triage: Triage) -> None:
    labels = {"job": "node-exporter", "instance": "ip-10-0-7-21:9100"}
    found = triage.pipeline.gather(_alert("NodeNoSpaceLeftOnDevice", labels))
    assert found.cause is not None and found.cause.restates_alert
    diagnosis = triage.diagnose(_alert("NodeNoSpaceLeftOnDevice", labels))
    assert diagnosis.confidence.value <= 0.5 and "not why" in diagnosis.confidence.reason


def test_exporter_service_labels_and_statefulset_volumes() -> None:
    labels = {"job": "kubelet", "service": "kubelet", "instance": "10.1.6.33:10250", "namespace": "data",
              "persistentvolumeclaim": "data-orders-db-0"}  # fmt: skip
    entities = alert_entities(_alert("KubePersistentVolumeFillingUp", labels))
    assert "kubelet" not in entities.workload_names
    assert entities.pod == "orders-db-0" and entities.deployment == "orders-db"
    app = alert_entities(_alert("ErrorRate", {"job": "payments-api", "service": "payments-api"}))
    assert app.workload_names == ["payments-api"]  # an app's own job and service name the app
