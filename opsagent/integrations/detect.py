"""Which sender wrote an alert body, told from its shape, so a saved webhook body can be triaged as it is.

The API knows the sender from the URL (`/v1/webhooks/<source>`); a file has no URL, so `triage FILE` and
`eval` look at the keys instead and hand the body to the same parser the webhook uses. The shapes do not
overlap: PagerDuty V3 wraps everything in `event`, Opsgenie sends `action` + `alert`, Alertmanager and
Grafana send an `alerts` list (Grafana adds `orgId` and per-alert links/values), and the generic form is
one flat alert with `alertname`/`name`/`labels`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opsagent.incidents.models import Alert
from opsagent.integrations.alertmanager import parse_alertmanager
from opsagent.integrations.errors import AlertParseError
from opsagent.integrations.generic import GenericAlert, parse_generic
from opsagent.integrations.grafana import GrafanaAlert, parse_grafana
from opsagent.integrations.opsgenie import parse_opsgenie
from opsagent.integrations.pagerduty import EVENT_STATUS, parse_pagerduty

EXPECTED = (
    "an Alertmanager or Grafana webhook (an 'alerts' list), a PagerDuty V3 webhook ('event' with "
    "'event_type'), an Opsgenie webhook ('action' and 'alert') or a generic alert ('alertname' or 'name', "
    "'labels', 'annotations')"
)
# Fields only Grafana puts on an alert (Alertmanager has none of them), and its top-level additions.
_GRAFANA_ALERT_FIELDS = frozenset(GrafanaAlert.model_fields) - {
    "status",
    "labels",
    "annotations",
    "startsAt",
    "endsAt",
    "generatorURL",
    "fingerprint",
}
_GRAFANA_BODY_FIELDS = frozenset({"orgId", "title", "state", "message"})
_GENERIC_FIELDS = frozenset(GenericAlert.model_fields)
_MAX_KEYS_SHOWN = 12

PARSERS: dict[str, Callable[[Any], list[Alert]]] = {
    "alertmanager": parse_alertmanager,
    "grafana": parse_grafana,
    "pagerduty": parse_pagerduty,
    "opsgenie": parse_opsgenie,
    "generic": lambda body: [parse_generic(body)],
}


def detect_source(body: Any) -> str:
    """The sender whose shape `body` has (a key of PARSERS); AlertParseError naming the keys if none fits."""
    if not isinstance(body, dict):
        raise AlertParseError(f"Expected a JSON object: {EXPECTED}; found {_json_type(body)}.")
    if isinstance(body.get("event"), dict) and "event_type" in body["event"]:
        return "pagerduty"
    if "action" in body and isinstance(body.get("alert"), dict):
        return "opsgenie"
    if isinstance(body.get("alerts"), list):
        items = [item for item in body["alerts"] if isinstance(item, dict)]
        if _GRAFANA_BODY_FIELDS & body.keys() or any(_GRAFANA_ALERT_FIELDS & item.keys() for item in items):
            return "grafana"
        return "alertmanager"
    if _GENERIC_FIELDS & body.keys():
        return "generic"
    raise AlertParseError(f"Not an alert payload: expected {EXPECTED}; found keys {_keys(body)}.")


def parse_detected(body: Any) -> tuple[str, list[Alert]]:
    """(source, alerts) of a body from any sender the API accepts, parsed by that sender's parser."""
    source = detect_source(body)
    return source, PARSERS[source](body)


def load_alert_file(path: Path) -> list[Alert]:
    """The alerts of a JSON file holding any body the API accepts; one clear error for anything else."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AlertParseError(f"Cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise AlertParseError(f"{path} is not UTF-8 text ({exc.reason}); expected JSON.") from None
    if not text.strip():
        raise AlertParseError(f"{path} is empty: expected {EXPECTED}, as JSON.")
    try:
        body = json.loads(text)
    except ValueError as exc:
        raise AlertParseError(f"{path} is not valid JSON: {exc}") from None
    try:
        source, alerts = parse_detected(body)
    except AlertParseError as exc:
        raise AlertParseError(f"{path}: {exc}") from None
    if not alerts:
        raise AlertParseError(f"{path}: nothing to triage: {nothing_to_triage(source, body)}.")
    return alerts


def nothing_to_triage(source: str, body: Any) -> str:
    """Why a valid body of `source` gave no alert (an acknowledgement, a priority change, ...)."""
    if source == "pagerduty":
        event_type = body["event"].get("event_type")
        wanted = ", ".join(EVENT_STATUS)
        return f"a PagerDuty {event_type!r} event is not an alert to triage (only {wanted} are)"
    if source == "opsgenie":
        return (
            f"an Opsgenie {body.get('action')!r} action is not an alert to triage (only Create and Close are)"
        )
    return f"the {source} webhook has an empty 'alerts' list"


def _keys(body: dict[str, Any]) -> str:
    keys = sorted(str(key) for key in body)
    if not keys:
        return "none (an empty object)"
    shown = ", ".join(repr(key) for key in keys[:_MAX_KEYS_SHOWN])
    return shown + (f" and {len(keys) - _MAX_KEYS_SHOWN} more" if len(keys) > _MAX_KEYS_SHOWN else "")


def _json_type(body: Any) -> str:
    if isinstance(body, list):
        return f"a JSON list of {len(body)} item(s)"
    if body is None:
        return "null"
    return f"a JSON {type(body).__name__}"
