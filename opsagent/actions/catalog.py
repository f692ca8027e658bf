"""The action catalog: the only remediations opsagent may propose, each with a parameter schema.

Loaded from YAML (`knowledge/actions/catalog.yaml` is the demo's). Parameters proposed for an action
are validated against its JSON schema; a command is an argv template, never a shell string.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

import jsonschema
import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator

from opsagent.errors import ConfigError

PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


class ActionSpec(BaseModel):
    """One declared action."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")
    description: str
    risk: Literal["low", "medium", "high"]
    mutating: bool = True
    parameters: dict[str, Any] = Field(default_factory=lambda: {"type": "object", "properties": {}})
    command: list[str] = Field(min_length=1)
    timeout_seconds: float = Field(default=60, gt=0, le=3600)
    reverts_release: bool | None = Field(
        default=None,
        description="Undoes a release (ranks first when one preceded the symptoms); unset: a `rollback` id.",
    )
    scale_to_zero: bool = Field(
        default=False,
        description="An LLM may propose 0 for a `replicas` parameter (off: such a proposal is refused, "
        "even when the schema's minimum is 0: scaling to zero takes the service down).",
    )

    @field_validator("parameters")
    @classmethod
    def _valid_schema(cls, schema: dict[str, Any]) -> dict[str, Any]:
        jsonschema.Draft202012Validator.check_schema(schema)
        return schema

    @property
    def required(self) -> list[str]:
        """Parameter names the schema requires."""
        return [str(name) for name in self.parameters.get("required", [])]

    def validate_parameters(self, parameters: dict[str, Any]) -> list[str]:
        """Problems with proposed parameters (empty when they satisfy the schema)."""
        validator = jsonschema.Draft202012Validator(self.parameters)
        return [
            f"{'.'.join(str(p) for p in error.absolute_path) or 'parameters'}: {error.message}"
            for error in validator.iter_errors(parameters)
        ]


class ActionCatalog(BaseModel):
    """All declared actions, by id."""

    actions: dict[str, ActionSpec] = Field(default_factory=dict)

    def get(self, action_id: str) -> ActionSpec | None:
        """The action with this id, if declared."""
        return self.actions.get(action_id)


def load_catalog(path: Path | None) -> ActionCatalog:
    """Read a catalog file; no path (or a missing default) gives an empty catalog."""
    if path is None or not path.is_file():
        return ActionCatalog()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"Cannot read the action catalog {path}: {exc}") from exc
    items = data.get("actions", []) if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ConfigError(f"The action catalog {path} must be a mapping with an 'actions:' list.")
    try:
        specs = [ActionSpec.model_validate(item) for item in items]
    except (ValidationError, jsonschema.SchemaError) as exc:
        first = str(exc).splitlines()[0]
        raise ConfigError(f"Invalid action in {path}: {first}") from exc
    catalog = ActionCatalog(actions={spec.id: spec for spec in specs})
    if len(catalog.actions) != len(specs):
        raise ConfigError(f"Duplicate action ids in {path}.")
    return catalog
