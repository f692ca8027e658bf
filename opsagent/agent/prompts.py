"""Versioned prompt templates from `prompts/`: the version id lands in every Diagnosis that used one."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from opsagent.errors import ConfigError


@dataclass(frozen=True)
class Prompt:
    """A prompt template and the version id recorded with its results."""

    name: str
    version: str
    template: str

    def render(self, **values: Any) -> str:
        """The text with `{placeholders}` filled (`{{`/`}}` for literal braces)."""
        return self.template.format(**values)


def prompts_dir() -> Path:
    """OPSAGENT_PROMPTS_DIR, else the `prompts/` folder of the source tree."""
    configured = os.environ.get("OPSAGENT_PROMPTS_DIR")
    return Path(configured) if configured else Path(__file__).resolve().parents[2] / "prompts"


def load_prompt(name: str, directory: Path | None = None) -> Prompt:
    """Load `<name>.md` (front matter with `version`, then the template)."""
    path = (directory or prompts_dir()) / f"{name}.md"
    try:
        text = path.read_text(encoding="utf-8")
        _, front, body = text.split("---\n", 2)
        meta = yaml.safe_load(front) or {}
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ConfigError(
            f"Cannot load prompt {path}: {exc}. Set OPSAGENT_PROMPTS_DIR to the prompts folder."
        ) from exc
    version = str(meta.get("version", "")).strip()
    if not version:
        raise ConfigError(f"Prompt {path} has no 'version' in its front matter.")
    return Prompt(name=name, version=version, template=body.strip())
