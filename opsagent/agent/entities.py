"""What an alert is about: the workload and node entities its labels name.

Evidence counts only when it is linked to these entities (or their dependencies), and action parameters
are filled only from them. Labels that name the *scraper* rather than the workload — Prometheus `job`,
`instance` and `endpoint` — never name a service, deployment or pod: `job="blackbox"` or
`job="kube-state-metrics"` is the thing that measured the problem, not the thing that has it. An
`instance` names a host only for alerts about hosts (no workload labels), as node-exporter alerts do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from pydantic import BaseModel, Field

from opsagent.incidents.models import Alert

# Labels that name the affected workload, most specific first. Not `job`: see the module docstring.
SERVICE_LABELS = ("service", "app", "app_kubernetes_io_name", "k8s_app", "app_kubernetes_io_instance",
                  "sloth_service")  # fmt: skip
# Labels that name the consumer of a queue or topic: by convention the consuming workload's name
# (kafka-exporter's `consumergroup`), a weaker hint than a service label, used when nothing else names one.
CONSUMER_LABELS = ("consumergroup", "consumer_group", "group")
WORKLOAD_LABELS = ("deployment", "statefulset", "daemonset", "job_name", "cronjob", "replicaset")
NODE_LABELS = ("node", "kubernetes_node", "nodename", "node_name", "hostname", "host")
# The scraper's view of a target: never a workload.
SCRAPER_LABELS = ("job", "instance", "endpoint")
EXPORTED_LABELS = ("namespace", "pod", "container", "service")
# Scrape jobs of the monitoring stack (kube-prometheus names); any `*-exporter` job too.
EXPORTER_JOBS = frozenset(
    {"kubelet", "kube-state-metrics", "node-exporter", "blackbox", "cadvisor", "apiserver", "kube-proxy",
     "prometheus", "prometheus-k8s", "alertmanager", "alertmanager-main", "pushgateway", "coredns"}
)  # fmt: skip
# A StatefulSet's PVC: <claim template>-<statefulset>-<ordinal> (data-orders-db-0 -> pod orders-db-0).
_STATEFULSET_PVC = re.compile(r"^[a-z0-9]+-(?P<pod>[a-z0-9-]+-\d{1,4})$")
# Kubernetes pod names: <deployment>-<replicaset hash>-<pod suffix>, both from a vowel-free alphabet;
# StatefulSet pods: <name>-<ordinal>.
_POD_OF_DEPLOYMENT = re.compile(
    r"^(?P<owner>[a-z0-9-]+?)-[bcdfghjklmnpqrstvwxz2-9]{6,10}-[bcdfghjklmnpqrstvwxz2-9]{5}$"
)
_POD_OF_DAEMONSET = re.compile(r"^(?P<owner>[a-z0-9-]+?)-[bcdfghjklmnpqrstvwxz2-9]{5}$")
_POD_OF_STATEFULSET = re.compile(r"^(?P<owner>[a-z0-9-]+?)-\d{1,4}$")
# Static (mirror) pods are named <name>-<node name>: etcd-ip-10-0-1-10.us-west-2.compute.internal.
# Only where the node part is unmistakable: an EC2 name, or a control-plane component's known name.
_STATIC_POD = re.compile(
    r"^(?P<owner>etcd|kube-apiserver|kube-controller-manager|kube-scheduler)-.+$"
    r"|^(?P<owner2>[a-z0-9-]+?)-ip-\d{1,3}-\d{1,3}-\d{1,3}-\d{1,3}(?:\..*)?$"
)
_UID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_IPV4 = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$")
_AWS_HOST = re.compile(r"^ip-(\d{1,3})-(\d{1,3})-(\d{1,3})-(\d{1,3})(?:\..*)?$")
# Values too generic to link logs by (they would match every file).
_TOO_GENERIC = frozenset(
    {"default", "prod", "production", "staging", "localhost", "kubernetes", "node", "app"}
)


class AlertEntities(BaseModel):
    """The entities one alert names, normalised to lower case."""

    services: list[str] = Field(default_factory=list, description="Workload names: service, app, ...")
    namespace: str | None = None
    pod: str | None = None
    container: str | None = None
    deployment: str | None = None
    nodes: list[str] = Field(default_factory=list, description="Node names and their address aliases.")
    pod_uid: str | None = Field(
        default=None,
        description="The pod's UID (kube-state-metrics' `uid`): cgroup paths in kernel lines name it.",
    )
    scraper: dict[str, str] = Field(
        default_factory=dict, description="job/instance/endpoint, never workloads."
    )

    @property
    def workload_names(self) -> list[str]:
        """Every name the affected workload may go by in logs (service, container, deployment)."""
        names = [*self.services, self.container, self.deployment]
        return [n for n in dict.fromkeys(n for n in names if n) if n not in _TOO_GENERIC]

    @property
    def is_node_alert(self) -> bool:
        """An alert about a host, with no workload named."""
        return bool(self.nodes) and not self.workload_names and self.pod is None

    @property
    def empty(self) -> bool:
        """Nothing to link evidence to."""
        return not self.workload_names and not self.nodes and self.pod is None

    def describe(self) -> str:
        """A short human description, e.g. `service payments-api, pod payments/payments-api-7d...`."""
        parts = []
        if self.workload_names:
            parts.append("service " + "/".join(self.workload_names[:2]))
        if self.pod:
            parts.append(f"pod {self.namespace + '/' if self.namespace else ''}{self.pod}")
        if self.nodes:
            parts.append(f"node {self.nodes[0]}")
        return ", ".join(parts) or "no service, pod or node"


def alert_entities(alert: Alert) -> AlertEntities:
    """Entities from the alert's labels (and its service, unless that came from a scraper label)."""
    labels = {k.lower(): str(v).strip() for k, v in alert.labels.items() if str(v).strip()}
    scraper = {k: labels[k] for k in SCRAPER_LABELS if k in labels}
    for key in EXPORTED_LABELS:
        # Prometheus renames a target's own label to `exported_<key>` when the scrape sets the same key:
        # the exported one names the thing measured, the plain one the exporter (cert-manager, ksm).
        if f"exported_{key}" in labels:
            if key in labels:
                scraper[key] = labels.pop(key)
            labels[key] = labels.pop(f"exported_{key}")
    for key in _scraper_identity(labels):
        # kube-prometheus relabels the scrape target's own namespace/pod/container/service onto every
        # series: on an exporter's alert (node-exporter, kube-state-metrics, kubelet) they name the exporter.
        scraper[key] = labels.pop(key)
    services = [labels[k].lower() for k in SERVICE_LABELS if k in labels]
    if alert.service and alert.service not in scraper.values():
        services.append(alert.service.strip().lower())
    if not services:
        services = [labels[k].lower() for k in CONSUMER_LABELS if k in labels][:1]
    pod = labels.get("pod") or labels.get("pod_name")
    pvc = labels.get("persistentvolumeclaim")
    if pod is None and pvc and (claim := _STATEFULSET_PVC.match(pvc.lower())) is not None:
        pod = claim.group("pod")  # the volume's pod: its workload's logs are the ones that fill it
    container = labels.get("container") or labels.get("container_name")
    if container in ("POD", ""):  # the pause container of cAdvisor metrics
        container = None
    deployment = next((labels[k] for k in WORKLOAD_LABELS if k in labels), None) or owner_of_pod(pod)
    nodes = [labels[k].lower() for k in NODE_LABELS if k in labels]
    workload_named = bool(services or container or deployment or pod)
    instance = labels.get("instance", "")
    # An instance is a host only on a host's metrics: a URL is a probe target, and another exporter's
    # instance (kafka-exporter, kube-state-metrics) is the exporter's own pod.
    job = scraper.get("job", "").lower()
    hosts_metrics = not job or not is_exporter_job(job) or "node" in job
    if not nodes and not workload_named and instance and "/" not in instance and hosts_metrics:
        nodes.append(_strip_port(instance).lower())
    return AlertEntities(
        services=_unique(s for s in services if s and s not in _TOO_GENERIC),
        namespace=labels.get("namespace"),
        pod=pod.lower() if pod else None,
        container=container.lower() if container else None,
        deployment=deployment.lower() if deployment else None,
        nodes=_unique(alias for node in nodes for alias in host_aliases(node)),
        scraper=scraper,
        pod_uid=uid.lower() if pod and (uid := labels.get("uid")) and _UID.match(uid) else None,
    )


def _scraper_identity(labels: dict[str, str]) -> list[str]:
    """The labels that are the scrape target's (the exporter's) own, not a workload's: `service` when it
    is the exporter's job (service="kubelet" on a PVC alert); the pod when it belongs to the job, and
    then its container and namespace too."""
    job = labels.get("job", "").lower()
    if not job:
        return []
    if not is_exporter_job(job):
        return []  # an app scraped by its own ServiceMonitor: job = service = the app itself
    keys = []
    service = labels.get("service", "").lower()
    if service == job or service.endswith("-" + job):  # kube-prometheus-stack-kube-state-metrics
        keys.append("service")
    pod_key = "pod" if "pod" in labels else "pod_name" if "pod_name" in labels else None
    pod = labels[pod_key].lower() if pod_key else ""
    container_key = (
        "container" if "container" in labels else "container_name" if "container_name" in labels else None
    )
    container = labels[container_key].lower() if container_key else ""
    if pod and (owner_of_pod(pod) == job or pod.startswith(job + "-") or container == job):
        keys += [k for k in (pod_key, container_key, "namespace") if k and k in labels]
        if "service" in labels and "service" not in keys:
            keys.append("service")
    elif container_key and container == job:  # the exporter's own container, no pod label
        keys.append(container_key)
    return keys


def is_exporter_job(job: str) -> bool:
    """A scrape job of the monitoring stack itself (never the workload an alert is about)."""
    return job in EXPORTER_JOBS or job.endswith("-exporter")


def owner_of_pod(pod: str | None) -> str | None:
    """The Deployment / DaemonSet / StatefulSet a pod name belongs to, when its shape says so."""
    if not pod:
        return None
    for pattern in (_STATIC_POD, _POD_OF_DEPLOYMENT, _POD_OF_STATEFULSET, _POD_OF_DAEMONSET):
        match = pattern.match(pod)
        if match:
            return match.group("owner") or match.group("owner2")
    return None


def host_aliases(host: str) -> list[str]:
    """A host and the names it commonly also goes by: `10.0.3.17` <-> `ip-10-0-3-17` (EC2), short name."""
    host = _strip_port(host.strip().lower())
    out = [host]
    if (m := _IPV4.match(host)) is not None:
        out.append("ip-" + "-".join(m.groups()))
    elif (m := _AWS_HOST.match(host)) is not None:
        out.append(".".join(m.groups()))
        out.append("ip-" + "-".join(m.groups()))
    elif "." in host and not host[0].isdigit():
        out.append(host.split(".", 1)[0])
    # A name that is empty, a bare number or a stray token (`[::1]`, `:9100`, `1`) would match every log.
    return _unique(a for a in out if _usable_host(a))


def _usable_host(name: str) -> bool:
    return bool(_IPV4.match(name)) or (len(name) >= 4 and any(c.isalpha() for c in name))


def _strip_port(value: str) -> str:
    if value.startswith("["):  # [::1]:9100
        return value[1:].split("]", 1)[0]
    head, sep, port = value.rpartition(":")
    return head if sep and port.isdigit() and head.count(":") == 0 else value


def _unique(items: object) -> list[str]:
    return list(dict.fromkeys(items))  # type: ignore[call-overload]


def parameter_values(entities: AlertEntities, labels: Mapping[str, str]) -> dict[str, str | None]:
    """Values for catalog action parameters, from entities only (never job/instance/endpoint)."""
    lower = {k.lower(): v for k, v in labels.items()}
    return {
        "namespace": entities.namespace,
        "pod": entities.pod,
        "node": entities.nodes[0] if entities.nodes else None,
        "container": entities.container or (entities.services[0] if entities.services else None),
        "deployment": entities.deployment or (entities.services[0] if entities.services else None),
        # cert-manager's mixin names the Certificate in `name`; only a certificate alert's `name` is one.
        "certificate": lower.get("certificate")
        or (lower.get("name") if "cert" in lower.get("alertname", "").lower() else None),
        "pvc": lower.get("persistentvolumeclaim") or lower.get("pvc"),
        "group": lower.get("consumergroup") or lower.get("group"),
        "database": lower.get("datname") or lower.get("database"),
        "externalsecret": lower.get("externalsecret"),
    }
