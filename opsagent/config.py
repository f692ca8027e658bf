"""Settings: built once (``Settings()``) and passed down; never a mutable global.

Sources, highest precedence first: keyword arguments, ``OPSAGENT_*`` environment variables, the YAML
file named by ``OPSAGENT_CONFIG`` (default ``./opsagent.yaml`` when it exists), then the defaults here.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlparse

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from opsagent.errors import ConfigError


def http_check_target(entry: str) -> tuple[str, int | None]:
    """`host`, `host:port`, `[v6]` or `[v6]:port` from http_check_hosts as (lower-case host, port)."""
    text = entry.strip().lower()
    if not text or any(c in text for c in "/@?#\\ \t") or any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise ValueError(f"http_check_hosts entry {entry!r}: write host or host:port, not a URL")
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") if rest.startswith(":") else None
        if rest and port is None:
            raise ValueError(f"http_check_hosts entry {entry!r}: write [address]:port")
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, None  # a name, or a bare IPv6 address
    if not host:
        raise ValueError(f"http_check_hosts entry {entry!r}: the host is empty")
    if port is None:
        return host, None
    if not (port.isascii() and port.isdigit()) or not 1 <= int(port) <= 65535:
        raise ValueError(f"http_check_hosts entry {entry!r}: the port must be a number from 1 to 65535")
    return host, int(port)


class Settings(BaseSettings):
    """Everything opsagent can be configured with."""

    # extra="forbid": a misspelled key in opsagent.yaml is an error, not silently ignored.
    model_config = SettingsConfigDict(env_prefix="OPSAGENT_", extra="forbid")

    data_dir: Path = Field(
        default=Path(".opsagent"),
        description="Where the embedded Chroma store, the log line index and caches live.",
    )
    chroma_url: str | None = Field(
        default=None,
        description="A Chroma server (e.g. http://127.0.0.1:8000) instead of the embedded on-disk store.",
    )
    collection_prefix: str = Field(
        default="opsagent",
        description="Prefix of the Chroma collection names, so several knowledge bases can share a server.",
    )
    embedding_model: str = Field(
        default="minilm-l6-int8", description="Bundled embedding model id (see `opsagent stats`)."
    )
    embedding_batch_size: int = Field(default=32, ge=1, le=1024)
    embedding_threads: int = Field(default=0, ge=0, description="onnxruntime threads; 0 = all cores.")
    max_runbook_bytes: int = Field(
        default=2 * 1024 * 1024, ge=1, description="Runbook files larger than this are skipped."
    )
    max_log_bytes: int = Field(
        default=20 * 1024**3, ge=1, description="Log files larger than this are skipped (logs stream)."
    )
    chunk_chars: int = Field(default=1000, ge=200, le=8000, description="Target runbook chunk size.")
    # Set from bench/retrieval.py on the k8s set: the best runbook of every alert that has one scored
    # >= 0.632; for the 27 alerts without one, the best (wrong) runbook scored <= 0.585.
    no_runbook_threshold: float = Field(
        default=0.6,
        ge=0.0,
        le=1.0,
        description="Below this confidence the best runbook is reported as 'no runbook found'.",
    )

    action_catalog: Path = Field(
        default=Path("knowledge/actions/catalog.yaml"),
        description="YAML catalog of the remediation actions opsagent may propose.",
    )
    signatures_file: Path | None = Field(
        default=None, description="Failure signatures (YAML); default: the built-in set."
    )
    log_window_before_minutes: float = Field(
        default=60, ge=1, description="Triage looks at logs from this long before the alert started..."
    )
    log_window_after_minutes: float = Field(default=15, ge=0, description="...to this long after.")
    change_lookback_hours: float = Field(
        default=6,
        ge=0,
        le=168,
        description="Deploys, restarts, config reloads and scaling this long before the onset are evidence.",
    )
    changes_file: Path | None = Field(
        default=None, description="Change patterns (YAML); default: the built-in set."
    )

    llm_base_url: str | None = Field(
        default=None, description="Any OpenAI-compatible endpoint (vLLM, Ollama, llama.cpp, Azure...)."
    )
    llm_model: str = Field(default="gpt-4o-mini", description="Model name sent to the endpoint.")
    llm_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("OPSAGENT_LLM_API_KEY", "OPENAI_API_KEY", "llm_api_key"),
        description="API key; OPENAI_API_KEY works too. With neither key nor base URL: offline mode.",
    )
    llm_timeout_seconds: float = Field(default=60, gt=0, le=600)
    llm_max_attempts: int = Field(
        default=4, ge=1, le=10, description="Tries per model call (429/5xx/timeouts)."
    )
    llm_retry_budget_seconds: float = Field(default=90, gt=0, description="Total time retries may take.")
    agent_max_steps: int = Field(default=8, ge=1, le=50, description="Model calls per agent run.")
    tool_timeout_seconds: float = Field(default=15, gt=0, le=300)
    tool_output_chars: int = Field(default=6000, ge=500, description="Tool results are bounded to this.")
    prometheus_url: str | None = Field(default=None, description="Enables the prometheus_query tool.")
    kubectl: str | None = Field(
        default=None,
        description="kubectl binary for the read-only kubectl tool (get/describe/logs); unset: not offered.",
    )
    kubectl_context: str | None = Field(default=None, description="kube context the kubectl tool uses.")
    kubectl_namespaces: list[str] = Field(
        default_factory=list,
        description="Namespaces the kubectl tool may read besides the incident's own (chat has no incident: "
        "only these); `*`: any namespace not in kubectl_denied_namespaces.",
    )
    kubectl_denied_namespaces: list[str] = Field(
        default_factory=lambda: [
            "kube-system", "kube-public", "kube-node-lease", "vault", "cert-manager", "external-secrets",
            "sealed-secrets",
        ],
        description="Namespaces that hold cluster credentials: the kubectl tool never reads them, even for "
        "an incident there, unless kubectl_namespaces names them explicitly.",
    )  # fmt: skip
    http_check_hosts: list[str] = Field(
        default_factory=list,
        description="What the http_check tool may call: `host` (ports 80 and 443) or `host:port` "
        "(`[::1]:8080` for IPv6); none: the tool is not offered.",
    )

    # --- the API server, the incident store and the triage queue -------------------------------------
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the incident store and queue (postgresql://...); "
        "default: SQLite in the data dir.",
    )
    api_host: str = Field(default="127.0.0.1", description="Where `opsagent serve` listens.")
    api_port: int = Field(default=8080, ge=1, le=65535)
    log_format: str = Field(default="json", pattern="^(json|text)$", description="Server log lines.")
    log_level: str = Field(default="info", pattern="^(debug|info|warning|error)$")
    worker_enabled: bool = Field(
        default=True, description="`opsagent serve` also runs a triage worker (off: run `opsagent worker`)."
    )
    # Slow clients (slowloris) are cut off: see opsagent/api/server.py and opsagent/api/limits.py.
    api_header_timeout_seconds: float = Field(
        default=10,
        gt=0,
        le=300,
        description="A request's headers must arrive within this long, or the connection is closed (also "
        "an idle connection's first request).",
    )
    api_body_timeout_seconds: float = Field(
        default=60,
        gt=0,
        le=3600,
        description="A request's whole body must arrive within this long after its headers (408 "
        "otherwise); raise it for large uploads over slow links.",
    )
    api_keep_alive_seconds: int = Field(default=5, ge=1, le=300, description="Idle keep-alive connections.")
    api_max_header_bytes: int = Field(
        default=64 * 1024, ge=4096, le=1024 * 1024, description="Request line and headers (431 beyond)."
    )
    api_max_concurrency: int = Field(
        default=1000, ge=1, description="Open connections and running requests per process (503 beyond)."
    )
    worker_poll_seconds: float = Field(default=0.5, gt=0, le=60, description="Idle worker poll interval.")
    job_lease_seconds: float = Field(
        default=120,
        ge=1,
        le=3600,
        description="A claimed job is reclaimed when its worker has not renewed the lease for this long.",
    )
    job_max_attempts: int = Field(default=3, ge=1, le=20, description="Tries per job before it fails.")
    webhook_max_bytes: int = Field(default=1024 * 1024, ge=1024, description="Larger webhook bodies: 413.")
    webhook_tolerance_seconds: int = Field(
        default=300, ge=1, description="Signed timestamps older or newer than this are rejected."
    )
    grafana_webhook_secret: SecretStr | None = Field(
        default=None, description="HMAC secret of the Grafana contact point (X-Grafana-Alerting-Signature)."
    )
    grafana_signature_header: str = Field(
        default="X-Grafana-Alerting-Signature", description="The contact point's HMAC signature header."
    )
    grafana_timestamp_header: str = Field(
        default="X-Grafana-Alerting-Signature-Timestamp",
        description="The contact point's HMAC timestamp header (when set there, replays are refused).",
    )
    grafana_require_timestamp: bool = Field(
        default=True,
        description="Refuse Grafana deliveries without the signed timestamp header (without it a captured "
        "delivery can be replayed at any time); false only for Grafana releases that cannot send it.",
    )
    pagerduty_webhook_secrets: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="PagerDuty V3 webhook signing secrets, comma-separated (several during rotation).",
    )
    generic_webhook_secrets: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Standard Webhooks secrets (whsec_<base64>), comma-separated, for /v1/webhooks/generic.",
    )
    upload_max_bytes: int = Field(
        default=50 * 1024 * 1024,
        ge=1024,
        description="Largest POST /v1/knowledge request (all its files together, as sent).",
    )
    upload_max_expanded_bytes: int = Field(
        default=100 * 1024 * 1024,
        ge=1024,
        description="An upload's files together after gzip decompression (a .gz that expands past it: 413).",
    )
    upload_max_files: int = Field(default=100, ge=1, le=10_000, description="Files per upload request.")
    upload_max_line_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Longest line of an uploaded file (after decompression)."
    )
    public_url: str | None = Field(
        default=None, description="Where users reach this server; incident links in notifications."
    )
    slack_webhook_url: SecretStr | None = Field(
        default=None, description="Slack incoming-webhook URL: triage summaries are posted there."
    )
    pagerduty_api_token: SecretStr | None = Field(
        default=None, description="PagerDuty REST API token: triage summaries become incident notes."
    )
    pagerduty_from_email: str | None = Field(
        default=None, description="The PagerDuty user email notes are added as (the From header)."
    )
    pagerduty_api_url: str = Field(default="https://api.pagerduty.com")
    notify_timeout_seconds: float = Field(default=10, gt=0, le=120)
    notify_max_attempts: int = Field(default=4, ge=1, le=10)

    @field_validator("pagerduty_webhook_secrets", "generic_webhook_secrets", mode="before")
    @classmethod
    def _split_secrets(cls, value: Any) -> Any:
        # Rotation means several secrets; in an environment variable they are comma-separated.
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def database(self) -> str:
        """The store's SQLAlchemy URL (SQLite in the data dir unless OPSAGENT_DATABASE_URL is set)."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'opsagent.sqlite3').resolve()}"

    @property
    def llm_enabled(self) -> bool:
        """An LLM is configured (key or endpoint); otherwise opsagent runs in offline mode."""
        return self.llm_api_key is not None or self.llm_base_url is not None

    @field_validator("http_check_hosts")
    @classmethod
    def _check_http_hosts(cls, value: list[str]) -> list[str]:
        for entry in value:
            http_check_target(entry)  # raises ValueError with what to write instead
        return value

    @field_validator("chroma_url")
    @classmethod
    def _check_chroma_url(cls, value: str | None) -> str | None:
        if value in (None, ""):
            return None
        assert value is not None
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"OPSAGENT_CHROMA_URL must look like http://host:port, got {value!r}")
        return value.rstrip("/")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("OPSAGENT_CONFIG")
        if config_file and not Path(config_file).is_file():
            raise ConfigError(f"OPSAGENT_CONFIG points at {config_file!r}, which is not a file.")
        path = Path(config_file) if config_file else Path("opsagent.yaml")
        if path.is_file():
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=path))
        return tuple(sources)

    @property
    def chroma_path(self) -> Path:
        """Directory of the embedded Chroma store."""
        return self.data_dir / "chroma"

    @property
    def log_index_path(self) -> Path:
        """SQLite file holding raw log lines for keyword and time-window search."""
        return self.data_dir / "logs.sqlite3"

    def describe(self) -> dict[str, Any]:
        """A JSON-friendly summary for `opsagent stats`."""
        return {
            "data_dir": str(self.data_dir),
            "vector_store": self.chroma_url or f"embedded ({self.chroma_path})",
            "embedding_model": self.embedding_model,
            "database": hide_password(self.database),
            "llm": f"{self.llm_model} at {self.llm_base_url or 'api.openai.com'}"
            if self.llm_enabled
            else "offline",
        }


def hide_password(url: str) -> str:
    """The URL with its password (if any) replaced by ***, for messages and `stats`."""
    parsed = urlparse(url)
    if parsed.password:
        return url.replace(f":{parsed.password}@", ":***@", 1)
    return url


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning any problem (a bad value, a broken YAML file) into one ConfigError."""
    import yaml
    from pydantic import ValidationError

    where = "OPSAGENT_* variables" + (
        f" and {os.environ.get('OPSAGENT_CONFIG', 'opsagent.yaml')}"
        if os.environ.get("OPSAGENT_CONFIG") or Path("opsagent.yaml").is_file()
        else ""
    )
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"Invalid settings ({problems}). Check your {where}.") from exc
    except yaml.YAMLError as exc:
        first = str(exc).replace("\n", " ")
        raise ConfigError(f"The config file is not valid YAML ({first}). Check your {where}.") from exc
    except (TypeError, ValueError) as exc:  # e.g. a YAML list where a mapping belongs
        raise ConfigError(
            f"The config file must be a mapping of settings ({exc}). Check your {where}."
        ) from exc
