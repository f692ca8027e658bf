"""Leads when no signature names the cause: new trouble in the run-up, scale-ups of the clients of a shared
limit, the service of a runbook the alert links.

One small knowledge base for one hour; every expectation below comes from the story of its log lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from opsagent.agent.changes import _WORD, scaling_in
from opsagent.agent.linking import Tier
from opsagent.agent.proposals import propose_actions
from opsagent.agent.triage import Triage
from opsagent.incidents.models import Alert
from opsagent.integrations.generic import parse_alert_payload
from tests.triage_support import triage_over

REPO = Path(__file__).resolve().parents[1]
UID = "3f1c2a9e-7b44-4c1d-9e8a-5d0b6c7f2e11"
DB_RUNBOOK = """---
title: Database connections exhausted
service: orders-db
alerts: [DatabaseConnectionsExhausted]
actions: [terminate_idle_db_connections, scale_deployment]
---
# Database connections exhausted

Postgres answers "too many clients already". Find who holds the connections and scale it back.
"""
EVENT = (
    '{{"metadata":{{"name":"{name}.17f","namespace":"{ns}"}},"reason":"ScalingReplicaSet",'
    '"message":"Scaled up replica set {name}-7c9d8f6b5 to 24 from 2","type":"Normal",'
    '"lastTimestamp":"{ts}","involvedObject":{{"kind":"Deployment","namespace":"{ns}","name":"{name}"}}}}'
)


def _epoch(minute: int, second: int = 0) -> float:
    from datetime import UTC, datetime

    return datetime(2026, 11, 27, 3, minute, second, tzinfo=UTC).timestamp()


def _ts(minute: int, second: int = 0) -> str:
    return f"2026-11-27T03:{minute:02d}:{second:02d}Z"


def _pg(minute: int, second: int, text: str) -> str:
    return f"2026-11-27 03:{minute:02d}:{second:02d}.000 UTC [61] {text}"


def _write(root: Path) -> None:
    logs = root / "logs"
    (logs / "nodes" / "ip-10-0-5-42").mkdir(parents=True)
    (root / "runbooks").mkdir()
    (root / "runbooks" / "db-connections.md").write_text(DB_RUNBOOK)

    # session-cache: a background warning all hour; from 03:40 a new one every 30 s, each followed by its
    # generic consequence. The new one says why.
    cache = [
        f"1:M 27 Nov 2026 03:{m:02d}:05.000 # Client closed for overcoming output buffer limits"
        for m in range(0, 60, 3)
    ]
    cache += [f"1:M 27 Nov 2026 03:{m:02d}:20.000 * DB saved on disk" for m in range(60)]
    for m in range(40, 60):
        for s in (10, 40):
            cache.append(
                f"1:C 27 Nov 2026 03:{m:02d}:{s}.000 # Failed opening the temp RDB file temp-{m}{s}.rdb "
                "(in server root dir /data) for saving: Permission denied"
            )
            cache.append(f"1:C 27 Nov 2026 03:{m:02d}:{s}.001 # Background saving error")
    (logs / "session-cache.log").write_text("\n".join(sorted(cache, key=lambda line: line[23:35])) + "\n")

    # A node: I/O timeouts from 03:44, the kubelet's PLEG complaints (what NotReady says) from 03:47.
    host = "ip-10-0-5-42"
    node = [
        f"Nov 27 03:{m:02d}:11 {host} kubelet[812]: I1127 03:{m:02d}:11.1 812 ok.go:1] sync"
        for m in range(60)
    ]
    node += [
        f"Nov 27 03:{m:02d}:30 {host} kernel: nvme nvme1: I/O 17 QID 3 timeout, reset controller"
        for m in range(44, 60)
    ]
    node += [
        f"Nov 27 03:{m:02d}:41 {host} kubelet[812]: E1127 03:{m:02d}:41.1 812 kubelet.go:2] "
        '"Skipping pod synchronization" err="PLEG is not healthy"'
        for m in range(47, 60)
    ]
    (logs / "nodes" / host / "syslog.log").write_text(
        "\n".join(sorted(node, key=lambda line: line[:15])) + "\n"
    )

    # orders-db: steady clients all hour; batch-job is scaled up at 03:30 and opens many connections;
    # the database runs out of slots from 03:31. Unrelated: web is scaled up at 03:29 and never connects.
    db = [
        _pg(m, 0, "LOG:  connection authorized: user=app database=orders application_name=checkout-api")
        for m in range(60)
    ]
    db += [
        _pg(m, s, "LOG:  connection authorized: user=batch database=orders application_name=batch-job")
        for m in range(30, 60)
        for s in (2, 3)
    ]
    db += [_pg(m, 5, "FATAL:  sorry, too many clients already") for m in range(31, 60)]
    (logs / "orders-db.log").write_text("\n".join(sorted(db)) + "\n")
    events = [
        EVENT.format(name="batch-job", ns="batch", ts=_ts(30)),
        EVENT.format(name="web", ns="shop", ts=_ts(29)),
    ]
    events += [
        EVENT.replace("Scaled up", "Started").format(name=f"pod-{m}", ns="x", ts=_ts(m))
        for m in range(0, 60, 5)
    ]
    (logs / "kube-events.log").write_text("\n".join(sorted(events, key=lambda e: e[-80:])) + "\n")
    # A consumer whose lag grows while its autoscaler adds replicas: an effect, never the suspect.
    worker = [f"{_ts(m)} INFO worker batch done records=500" for m in range(60)]
    worker += [
        f"{_ts(m, 30)} WARN worker consumer lag above threshold total_lag={m * 1000}" for m in range(35, 60)
    ]
    worker += [f"{_ts(34, 0)} INFO worker Scaled up replica set worker-5d8f7c9b6 to 12 from 6"]
    (logs / "worker.log").write_text("\n".join(sorted(worker)) + "\n")
    db_kafka = [
        _pg(m, 0, f"LOG:  connection authorized: user=worker application_name=worker n={m}")
        for m in range(60)
    ]
    (logs / "kafka-db.log").write_text("\n".join(db_kafka) + "\n")  # names worker: a client, not a limit
    # invoice-api's errors name billing-gateway only by its cluster address; the gateway's own log says why.
    invoice = [
        f'{{"timestamp": "{_ts(m)}", "level": "info", "logger": "invoice_api.billing", '
        '"event": "charge captured"}'
        for m in range(60)
    ]
    invoice += [
        f'{{"timestamp": "{_ts(m, 30)}", "level": "error", "logger": "invoice_api.billing", '
        '"event": "billing call failed", "url": "http://billing-gateway.billing.svc:8080/v1/charges", '
        '"status": 502}'
        for m in range(36, 60)
    ]
    (logs / "invoice-api.log").write_text("\n".join(sorted(invoice)) + "\n")
    gateway = [f"{_ts(m)} INFO billing-gateway charge ok" for m in range(60)]
    gateway += [
        f'{_ts(m, 29)} ERROR billing-gateway FATAL: password authentication failed for user "billing_app"'
        for m in range(35, 60)
    ]
    (logs / "billing-gateway.log").write_text("\n".join(sorted(gateway)) + "\n")
    # A pod killed by the kernel: only the cgroup path of the node's kernel line names it, by its UID.
    oom = [f"Nov 27 03:{m:02d}:11 ip-10-0-9-9 kubelet[812]: I1127 ok.go:1] sync" for m in range(60)]
    oom += [
        f"Nov 27 03:{m:02d}:50 ip-10-0-9-9 kernel: oom-kill:constraint=CONSTRAINT_MEMCG,"
        "oom_memcg=/kubepods.slice/"
        f"kubepods-burstable-pod{UID.replace('-', '_')}.slice,task=python,pid=4{m},uid=10001"
        for m in range(40, 60)
    ]
    (logs / "nodes" / "ip-10-0-9-9").mkdir(parents=True)
    (logs / "nodes" / "ip-10-0-9-9" / "syslog.log").write_text(
        "\n".join(sorted(oom, key=lambda x: x[:15])) + "\n"
    )


@pytest.fixture(scope="module")
def triage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Triage]:
    root = tmp_path_factory.mktemp("kb")
    _write(root)
    with triage_over(root) as built:
        yield built


def _alert(name: str, labels: dict[str, str], minute: int = 52, **extra: object) -> Alert:
    payload: dict[str, object] = {"alertname": name, "labels": labels, "startsAt": _ts(minute), **extra}
    return parse_alert_payload(payload)[0]


def test_without_a_signature_the_first_new_trouble_is_read_first(triage: Triage) -> None:
    diagnosis = triage.diagnose(_alert("RedisLastBgsaveFailed", {"service": "session-cache"}))
    cause = diagnosis.probable_root_cause
    assert cause.startswith("Unknown") and diagnosis.confidence.value <= 0.5
    lead = cause.split("Read first: ", 1)[1]
    # The new warning comes first, not the older, steadier background one.
    assert lead.index("Permission denied") < lead.find("output buffer") if "output buffer" in lead else True
    assert "Permission denied" in lead.split(";")[0] and "before the alert" in lead


def test_new_means_absent_earlier_in_the_window(triage: Triage) -> None:
    found = triage.pipeline.gather(_alert("RedisLastBgsaveFailed", {"service": "session-cache"}))
    novel = {f.template for f in found.findings if f.appeared}
    assert any("Permission denied" in t for t in novel)
    assert not any("output buffer" in t for t in novel)  # there all along


def test_a_restated_alert_points_at_what_began_before_it(triage: Triage) -> None:
    diagnosis = triage.diagnose(_alert("KubeNodeNotReady", {"node": "ip-10-0-5-42"}))
    cause = diagnosis.probable_root_cause
    assert "PLEG" in cause and "not why" in cause
    assert "nvme" in cause.split("New just before it:", 1)[1]
    assert diagnosis.confidence.value <= 0.5


def test_a_client_scaled_up_before_a_shared_limit_ran_out_is_the_suspect(triage: Triage) -> None:
    diagnosis = triage.diagnose(
        _alert("DatabaseConnectionsExhausted", {"service": "orders-db", "namespace": "data"}, minute=40)
    )
    cause = diagnosis.probable_root_cause
    assert "batch-job was scaled from 2 to 24" in cause
    assert "web" not in cause.replace("batch-job", "")  # scaled too, but never talks to the database
    first = diagnosis.proposed_actions[0]
    assert first.action_id == "scale_deployment"
    assert first.parameters == {"namespace": "batch", "deployment": "batch-job", "replicas": 2}


def test_an_autoscaler_reacting_to_lag_is_not_a_suspect(triage: Triage) -> None:
    found = triage.pipeline.gather(_alert("KafkaConsumerLagHigh", {"service": "worker"}, minute=45))
    assert found.scale_ups == []  # consumer lag is no shared limit: scaling back would make it worse


def test_the_service_of_a_runbook_the_alert_links_is_a_dependency(triage: Triage) -> None:
    alert = _alert(
        "CheckoutErrors",
        {"service": "checkout-api"},
        minute=40,
        annotations={"runbook_url": "https://github.com/acme/runbooks/blob/main/runbooks/db-connections.md"},
    )
    found = triage.pipeline.gather(alert)
    assert found.runbook is not None and found.runbook_reason.startswith("linked by the alert")
    assert found.links.dependencies.get("orders-db") == "the service of the runbook the alert links"
    unlinked = triage.pipeline.gather(_alert("CheckoutErrors", {"service": "checkout-api"}, minute=40))
    assert "orders-db" not in unlinked.links.dependencies


def test_scale_lines_name_the_workload_and_counts() -> None:
    event = EVENT.format(name="ledger-export", ns="ledger", ts=_ts(5))
    scaled = scaling_in(event)
    assert scaled is not None and (scaled.workload, scaled.namespace) == ("ledger-export", "ledger")
    assert (scaled.from_replicas, scaled.to_replicas, scaled.up) == (2, 24, True)
    keda = scaling_in("Scaled checkout-frontend from 24 to 2, triggered by rabbitMQScaler")
    assert keda is not None and keda.workload == "checkout-frontend" and not keda.up  # `frontend` is no hash
    hpa = scaling_in(
        "Event: HorizontalPodAutoscaler checkout/checkout-web SuccessfulRescale: New size: 16; reason: cpu "
        "resource utilization (percentage of request) above target"
    )
    assert hpa is not None and (hpa.workload, hpa.namespace, hpa.to_replicas, hpa.up) == (
        "checkout-web", "checkout", 16, True
    )  # fmt: skip
    assert scaling_in("Started container web") is None


def test_change_words_are_whole_tokens() -> None:
    # The full-text index has `k8sevents` as one token: searching `sevents` found nothing.
    assert _WORD.findall("k8sevents/watch.go:88 Event: HorizontalPodAutoscaler") == [
        "watch",
        "Event",
        "HorizontalPodAutoscaler",
    ]


def test_labels_that_name_the_workload_in_real_rules() -> None:
    from opsagent.agent.entities import alert_entities, owner_of_pod

    kafka = alert_entities(
        _alert(
            "KafkaConsumerGroupLagHigh",
            {"consumergroup": "orders-worker", "job": "kafka-exporter", "instance": "10.42.3.9:9308",
             "pod": "kafka-exporter-7f9d8b6c5-zx2lq", "namespace": "kafka", "container": "kafka-exporter"},
        )
    )  # fmt: skip
    assert kafka.workload_names == ["orders-worker"] and kafka.nodes == []  # the exporter's IP is no node
    sloth = alert_entities(_alert("ReviewsAPIHighErrorRate", {"sloth_service": "reviews-api"}))
    assert sloth.workload_names == ["reviews-api"]
    ksm = alert_entities(
        _alert(
            "KubePodCrashLooping",
            {"job": "kube-state-metrics", "service": "kube-prometheus-stack-kube-state-metrics",
             "pod": "notifier-6d8f7c9b54-qk2xz", "container": "notifier", "namespace": "notifications",
             "uid": "3f1c2a9e-7b44-4c1d-9e8a-5d0b6c7f2e11"},
        )
    )  # fmt: skip
    assert ksm.pod_uid == "3f1c2a9e-7b44-4c1d-9e8a-5d0b6c7f2e11" and ksm.deployment == "notifier"
    statefulset = alert_entities(
        _alert("KubeStatefulSetReplicasMismatch", {"job": "kube-state-metrics", "statefulset": "zookeeper",
                                                    "container": "kube-state-metrics"})
    )  # fmt: skip
    assert statefulset.workload_names == ["zookeeper"]
    assert owner_of_pod("etcd-ip-10-0-1-10.us-west-2.compute.internal") == "etcd"  # a static pod
    assert owner_of_pod("kube-apiserver-master-1.example.com") == "kube-apiserver"
    assert owner_of_pod("orders-db-0") == "orders-db"


def test_a_client_pool_timeout_is_a_symptom_not_the_servers_limit() -> None:
    from opsagent.agent.signatures import load_signatures

    signatures = {s.id: s for s in load_signatures()}
    line = "HikariPool-1 - Connection is not available, request timed out after 30000ms."
    assert signatures["connection_pool_exhausted"].matches(line)
    assert signatures["connection_pool_exhausted"].symptom
    assert not signatures["db_too_many_connections"].matches(line)
    assert signatures["db_too_many_connections"].matches("FATAL:  sorry, too many clients already")


def test_a_logger_name_is_a_component_not_the_service() -> None:
    from opsagent.knowledge.logrecords import structured

    _, level, service, component, message = structured(
        {"timestamp": "2026-12-11T01:07:05Z", "level": "error", "logger": "invoice_api.billing",
         "event": "billing call failed"}
    )  # fmt: skip
    assert (level, service, component, message) == (
        "error",
        None,
        "invoice_api.billing",
        "billing call failed",
    )


def test_a_stopped_counter_is_found_and_a_lull_is_not() -> None:
    from opsagent.agent.log_metrics import stopped_counters
    from opsagent.knowledge.models import LogLine

    def lines(values: list[int]) -> list[LogLine]:
        return [
            LogLine(source="w.log", root="/r", line_no=i + 1, ts=60.0 * i,
                    text=f'{{"msg": "consumer stats", "prefetch": 20, "delivered_last_min": {v}}}')
            for i, v in enumerate(values)
        ]  # fmt: skip

    stopped = stopped_counters(lines([250, 240, 260, 230, 255, 0, 0, 0, 0]), "consumer stats", until=1e9)
    assert [(c.field, c.typical, c.zeros, c.line_no) for c in stopped] == [
        ("delivered_last_min", 250.0, 4, 6)
    ]
    assert stopped_counters(lines([250, 240, 260, 230, 255, 0, 250]), "x", until=1e9) == []  # a lull
    assert stopped_counters(lines([0, 3, 0, 0, 2, 0, 0, 0, 0]), "x", until=1e9) == []  # often 0 anyway
    assert (
        stopped_counters(lines([250, 240, 260, 230, 255, 0, 0, 0]), "x", until=200.0) == []
    )  # after the alert


def test_dependency_links_carry_the_name_and_namespace() -> None:
    from opsagent.agent.linking import dependency_link, dependency_named, dependency_namespace

    why = "named by the affected service's errors: 'billing call failed url=http://billing-gateway.billing.svc:8080/'"
    assert dependency_named(dependency_link("billing-gateway", why)) == "billing-gateway"
    assert dependency_namespace("billing-gateway", why) == "billing"
    assert dependency_namespace("orders-db", "declared dependency") is None


def test_a_dependency_named_by_its_cluster_address_is_where_the_fix_acts(triage: Triage) -> None:
    found = triage.pipeline.gather(
        _alert("InvoiceApiErrors", {"service": "invoice-api", "namespace": "invoicing"})
    )
    assert "billing-gateway" in found.links.dependencies  # "billing call failed" names no connection
    cause = found.cause
    assert cause is not None and cause.signature.id == "auth_failed" and cause.tier == Tier.DEPENDENCY
    # The cause's first line sets the onset, not the service's own first 5xx.
    assert found.onset is not None and found.onset == pytest.approx(_epoch(35, 29))
    restart = next(
        a
        for a in propose_actions(["restart_deployment"], found, triage.catalog)
        if a.action_id == "restart_deployment"
    )
    assert restart.parameters == {"namespace": "billing", "deployment": "billing-gateway"}


def test_a_kernel_line_names_the_pod_by_its_uid(triage: Triage) -> None:
    labels = {"job": "kube-state-metrics", "pod": "notifier-6d8f7c9b54-qk2xz", "container": "notifier",
              "namespace": "notifications", "uid": UID}  # fmt: skip
    found = triage.pipeline.gather(_alert("KubePodCrashLooping", labels))
    cause = found.cause
    assert cause is not None and cause.signature.id == "oom_killed" and cause.tier == Tier.MENTION
    assert "names notifier-6d8f7c9b54-qk2xz" in cause.findings[0].link
