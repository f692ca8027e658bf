"""Property tests: arbitrary input never raises anything but the documented error type.

Every webhook parser and the source detection (AlertParseError), alert files (AlertParseError), the log
line parser and its record helpers (never raise), runbook front matter (RunbookError) and the action
catalog loader (ConfigError). Bounded (~200 examples per property) and derandomized, so CI reproduces.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from opsagent.actions.catalog import ActionCatalog, load_catalog
from opsagent.errors import ConfigError
from opsagent.incidents.models import Alert
from opsagent.integrations.alertmanager import parse_alertmanager
from opsagent.integrations.detect import PARSERS, detect_source, load_alert_file, parse_detected
from opsagent.integrations.errors import AlertParseError
from opsagent.integrations.generic import parse_alert_payload
from opsagent.integrations.grafana import parse_grafana
from opsagent.integrations.opsgenie import parse_opsgenie
from opsagent.integrations.pagerduty import parse_pagerduty
from opsagent.knowledge.logrecords import epoch_from_value, json_record, logfmt_record
from opsagent.knowledge.logs import LineParser, ParsedLine
from opsagent.knowledge.runbooks import RunbookError, split_front_matter

PROPERTY = settings(
    max_examples=200, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
SCRATCH = Path(tempfile.mkdtemp(prefix="opsagent-properties-"))

# --- strategies ------------------------------------------------------------------------------------------

text = st.text(max_size=30)
keys = (
    st.sampled_from(
        [
            "alerts",
            "labels",
            "annotations",
            "status",
            "startsAt",
            "endsAt",
            "fingerprint",
            "alertname",
            "event",
        ]
        + ["data", "alert", "action", "alertId", "message", "name", "severity", "service", "id", "event_type"]
    )
    | text
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats()  # NaN and infinities too: json.loads accepts them
    | text
    | st.sampled_from(["2026-11-20T03:15:00Z", "0001-01-01T00:00:00Z", "firing", "resolved", "1e400", ""])
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5),
    max_leaves=12,
)
labels = st.dictionaries(st.sampled_from(["alertname", "severity", "service", "namespace"]) | text, scalars)
alert_items = st.fixed_dictionaries(
    {"labels": labels},
    optional={
        "status": scalars,
        "annotations": labels | json_values,
        "startsAt": scalars,
        "endsAt": scalars,
        "fingerprint": scalars,
        "generatorURL": scalars,
    },
)
alertmanager_like = st.fixed_dictionaries(
    {"alerts": st.lists(alert_items, max_size=3) | json_values},
    optional={
        "status": scalars,
        "commonLabels": labels | json_values,
        "groupKey": scalars,
        "version": scalars,
    },
)
pagerduty_like = st.fixed_dictionaries(
    {
        "event": st.fixed_dictionaries(
            {"event_type": scalars, "data": json_values | st.dictionaries(keys, scalars)}
        )
    }
)
opsgenie_like = st.fixed_dictionaries(
    {"action": scalars, "alert": st.dictionaries(keys, scalars) | json_values},
    optional={"source": json_values},
)
payloads = json_values | alertmanager_like | pagerduty_like | opsgenie_like


def _check_parser(parse: Callable[[Any], list[Alert]], body: Any) -> None:
    try:
        alerts = parse(body)
    except AlertParseError:
        return
    assert isinstance(alerts, list) and all(isinstance(alert, Alert) for alert in alerts)
    for alert in alerts:
        json.dumps(alert.model_dump(mode="json"))  # what the store and the API will do with it


# --- webhook parsers ---------------------------------------------------------------------------------------

PARSER_FUNCTIONS: dict[str, Callable[[Any], list[Alert]]] = {
    "alertmanager": parse_alertmanager,
    "grafana": parse_grafana,
    "pagerduty": parse_pagerduty,
    "opsgenie": parse_opsgenie,
    "generic": parse_alert_payload,
}


@pytest.mark.parametrize("name", sorted(PARSER_FUNCTIONS))
def test_webhook_parsers_raise_only_alert_parse_errors(name: str) -> None:
    parse = PARSER_FUNCTIONS[name]

    @PROPERTY
    @given(body=payloads)
    def check(body: Any) -> None:
        _check_parser(parse, body)

    check()


@PROPERTY
@given(body=payloads)
def test_source_detection_raises_only_alert_parse_errors(body: Any) -> None:
    try:
        source = detect_source(body)
    except AlertParseError:
        return
    assert source in PARSERS
    _check_parser(lambda value: parse_detected(value)[1], body)


@PROPERTY
@given(content=st.binary(max_size=300) | payloads.map(lambda v: json.dumps(v).encode()))
def test_alert_files_raise_only_alert_parse_errors(content: bytes) -> None:
    path = SCRATCH / "alert.json"
    path.write_bytes(content)
    try:
        alerts = load_alert_file(path)
    except AlertParseError:
        return
    assert all(isinstance(alert, Alert) for alert in alerts)


# --- log lines --------------------------------------------------------------------------------------------

line_starts = st.sampled_from(
    ["", "{", '{"ts":', "2026-11-20T03:15:00Z ", "2026-11-20T03:15:00.123456789Z stdout F ", "<34>1 ", "<13>"]
    + ["Nov 20 03:15:00 host app[12]: ", "I1120 03:15:00.000000 1 x.go:1] ", "ts=", "level=error msg=", "["]
    + [
        "127.0.0.1 - - [20/Nov/2026:03:15:00 +0000] ",
        "2026-11-20 03:15:00.000 UTC [12] ",
        "__CURSOR=",
        "\t at ",
    ]
)
lines = st.builds(lambda start, rest: start + rest, line_starts, st.text(max_size=80))


@PROPERTY
@given(batch=st.lists(lines, min_size=1, max_size=8), year=st.none() | st.integers(1, 9999))
@example(batch=[""], year=None)  # an empty line: IndexError
def test_the_log_line_parser_never_raises(batch: list[str], year: int | None) -> None:
    parser = LineParser(default_service="svc", default_year=year, reference=1_763_600_000)
    for number, line in enumerate(batch, start=1):
        parsed = parser.parse(number, line)
        assert isinstance(parsed, ParsedLine)


@PROPERTY
@given(line=lines, value=json_values)
def test_log_record_helpers_never_raise(line: str, value: Any) -> None:
    json_record(line)
    logfmt_record(line)
    json_record(json.dumps(value))
    epoch_from_value(value)


# --- runbook front matter ---------------------------------------------------------------------------------

yaml_ish = st.text(alphabet=st.sampled_from(list("ab:- \n'\"[]{}#&*!|>%@`\t0.\\")), max_size=60)
front_matter = st.builds(
    lambda marker, body, closer, rest: f"{marker}\n{body}\n{closer}\n{rest}",
    st.sampled_from(["---", "+++", " --- "]),
    yaml_ish | st.text(max_size=60) | json_values.map(lambda v: yaml.safe_dump(v)),
    st.sampled_from(["---", "...", "+++", ""]),
    st.text(max_size=40),
)


@PROPERTY
@given(document=front_matter | st.text(max_size=100))
def test_front_matter_raises_only_runbook_errors(document: str) -> None:
    try:
        data, body, consumed = split_front_matter(document)
    except RunbookError:
        return
    assert isinstance(data, dict) and isinstance(body, str) and consumed >= 0


# --- the action catalog -----------------------------------------------------------------------------------

action = st.fixed_dictionaries(
    {"id": text | st.just("restart_pod"), "description": scalars, "risk": scalars, "command": json_values},
    optional={"parameters": json_values, "timeout_seconds": scalars, "mutating": scalars},
)
catalogs = (
    st.fixed_dictionaries({"actions": st.lists(action, max_size=3) | json_values}).map(yaml.safe_dump)
    | json_values.map(lambda v: yaml.safe_dump(v))
    | yaml_ish
    | st.binary(max_size=200)
)


@PROPERTY
@given(content=catalogs)
@example(content="actions:\n")  # actions: null -> TypeError
@example(content=b"\xff\xfe")  # not UTF-8 -> UnicodeDecodeError
def test_the_catalog_loader_raises_only_config_errors(content: str | bytes) -> None:
    path = SCRATCH / "catalog.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    try:
        catalog = load_catalog(path)
    except ConfigError:
        return
    assert isinstance(catalog, ActionCatalog)
