"""Structured log records: JSON lines and logfmt -> (timestamp, level, service, component, message).

JSON covers ECS (``@timestamp``, ``log.level``, ``service.name``), Docker's json-file (``log`` holding
the real line), Bunyan/pino (numeric levels), ``journalctl -o json`` / journald export fields
(``MESSAGE``, ``PRIORITY``, ``_SYSTEMD_UNIT``, ``__REALTIME_TIMESTAMP``) and generic ``ts/level/msg``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any, TypeVar

from opsagent.knowledge.logformats import ISO, Fields, iso_epoch, normalize_level, split_level

_json_loads: Callable[[str], Any]
try:  # orjson parses ~4x faster than json; chromadb already depends on it, but work without it
    from orjson import loads as _json_loads
except ImportError:  # pragma: no cover - only without orjson
    _json_loads = json.loads

LOGFMT_HEAD = re.compile(r"[A-Za-z_][\w.\-]*=")
_LOGFMT_PAIR = re.compile(r'([\w.\-@]+)=("(?:[^"\\]|\\.)*"|\S*)')
_TS_KEYS = (
    "ts", "time", "timestamp", "@timestamp", "t", "date", "datetime", "eventTime", "__REALTIME_TIMESTAMP",
    "lastTimestamp", "firstTimestamp",  # Kubernetes Event objects (kubectl get events -o json, exporters)
)  # fmt: skip
# `type` last: a Kubernetes Event's Normal/Warning (other values of `type` are no level and are skipped)
_LEVEL_KEYS = ("level", "lvl", "severity", "levelname", "log.level", "loglevel", "@l", "type")
# journald: PRIORITY is the syslog severity (0 emerg .. 7 debug), as a string
_SYSLOG_SEVERITY = ("fatal", "critical", "critical", "error", "warn", "info", "info", "debug")
_MSG_KEYS = ("msg", "message", "log", "event", "MESSAGE", "@m", "text")
_SERVICE_KEYS = (
    "service", "service.name", "app", "application", "component", "SYSLOG_IDENTIFIER", "_SYSTEMD_UNIT",
)  # fmt: skip
# A logger's name (`invoice_api.billing`, `c.e.checkout.web.RequestLog`) is a part of a service, never
# the service: it is the line's component, and the file (or another key) says whose it is.
_COMPONENT_KEYS = ("logger", "logger_name", "loggerName", "log.logger")
# Other keys worth keeping next to the message: they carry the "why" of an error line.
_EXTRA_KEYS = ("error", "err", "exception", "exc_info", "reason", "status", "status_code")
_BOOKKEEPING = frozenset(_TS_KEYS + _LEVEL_KEYS + _SERVICE_KEYS + _COMPONENT_KEYS)

_T = TypeVar("_T")


def epoch_from_value(value: Any) -> float | None:
    """A JSON timestamp: an ISO string or epoch seconds / milliseconds / micro- / nanoseconds."""
    if isinstance(value, str):
        m = ISO.match(value)
        if m is not None:
            return iso_epoch(m.group(1), m.group(2))
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            v = float(value)
        except OverflowError:  # a JSON integer beyond float range
            return None
        if not math.isfinite(v):
            return None
        while v > 1e11:  # milliseconds, microseconds, nanoseconds since the epoch
            v /= 1000.0
        return v
    return None


def _first(obj: dict[str, Any], keys: tuple[str, ...], convert: Callable[[Any], _T | None]) -> _T | None:
    """The first of `keys` in `obj` whose value converts to something."""
    for key in keys:
        if key in obj:
            value = convert(obj[key])
            if value is not None:
                return value
    return None


def _compact(value: Any, limit: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str, separators=(",", ":"))
    return text if len(text) <= limit else text[:limit] + "…"


def json_record(text: str) -> Fields | None:
    """A JSON object line (ECS, Docker json-file, Bunyan/pino, journalctl -o json), or None."""
    try:
        obj = _json_loads(text)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    return structured(obj)


def logfmt_record(text: str) -> Fields | None:
    """A logfmt line (`ts=.. level=.. msg=".."`), or None when it has fewer than two pairs."""
    pairs = _LOGFMT_PAIR.findall(text)
    if len(pairs) < 2:
        return None
    obj = {k: (v[1:-1].replace('\\"', '"') if v[:1] == '"' and len(v) > 1 else v) for k, v in pairs}
    ts, level, service, component, message = structured(obj)
    if not any(k in obj for k in _MSG_KEYS):
        message = text  # key=value only: the whole line is the message
    return ts, level, service, component, message


def structured(obj: dict[str, Any]) -> Fields:
    """Fields of a decoded record: well-known keys for time, level, service and message."""
    ts = _first(obj, _TS_KEYS, epoch_from_value)
    level = _first(obj, _LEVEL_KEYS, normalize_level)
    if level is None and isinstance(obj.get("log"), dict):  # ECS: {"log": {"level": "error"}}
        level = normalize_level(obj["log"].get("level"))
    priority = obj.get("PRIORITY")
    if level is None and isinstance(priority, str) and priority.isdigit() and int(priority) < 8:
        level = _SYSLOG_SEVERITY[int(priority)]
    service = None
    for key in _SERVICE_KEYS:
        value = obj.get(key)
        if isinstance(value, dict):  # ECS: {"service": {"name": ...}}
            value = value.get("name")
        if isinstance(value, str) and value:
            service = value.removesuffix(".service")  # journald's unit `kubelet.service`
            break
    if service is None:
        k8s = obj.get("kubernetes")
        if isinstance(k8s, dict) and isinstance(k8s.get("container_name"), str):
            service = k8s["container_name"]
        elif isinstance(obj.get("kubernetes.container_name"), str):
            service = obj["kubernetes.container_name"]
    message = ""
    for key in _MSG_KEYS:
        value = obj.get(key)
        if isinstance(value, str):
            message = value
            if key == "log":  # docker json-file: the payload is itself a log line
                message = value.rstrip("\n")
                if level is None:
                    level = split_level(message)[0]
            break
    extras = [f"{k}={_compact(obj[k])}" for k in _EXTRA_KEYS if k in obj and obj[k] not in (None, "")]
    if extras:
        message = f"{message} {' '.join(extras)}" if message else " ".join(extras)
    if not message:  # no message key at all: the remaining fields are the message
        message = " ".join(f"{k}={_compact(v, 80)}" for k, v in obj.items() if k not in _BOOKKEEPING)[:2000]
    component = next((str(obj[k]) for k in _COMPONENT_KEYS if isinstance(obj.get(k), str) and obj[k]), None)
    return ts, level, service, component, message
