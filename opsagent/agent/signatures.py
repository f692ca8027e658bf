"""Failure signatures (declared in YAML) matched against log templates: evidence that names a cause."""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, Field, field_validator

from opsagent.errors import ConfigError

BUILTIN = Path(__file__).with_name("signatures.yaml")


class PatternSet(BaseModel):
    """Case-insensitive regexes declared as data (signatures, change patterns), checked when loaded."""

    patterns: list[str] = Field(min_length=1)

    @field_validator("patterns")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            re.compile(pattern)
        return patterns

    @cached_property
    def regex(self) -> re.Pattern[str]:
        return re.compile("|".join(f"(?:{p})" for p in self.patterns), re.IGNORECASE)

    def matches(self, text: str) -> bool:
        """Whether the text shows any of the patterns."""
        return self.regex.search(text) is not None


class Signature(PatternSet):
    """A named failure pattern and the root cause it points to."""

    id: str
    title: str
    root_cause: str
    query: str = Field(default="", description="Words that find the matching runbook.")
    symptom: bool = Field(default=False, description="An effect many causes share; ranks below causes.")
    shared_limit: bool = Field(
        default=False,
        description="A limit its clients share (connection slots, a rate quota): a client scaled up just "
        "before the onset is a suspect, and scaling it back the first fix.",
    )


_P = TypeVar("_P", bound=PatternSet)


def load_pattern_file(source: Path, key: str, model: type[_P], what: str) -> list[_P]:
    """The `key:` list of a YAML file of pattern sets, validated; one clear error for any problem."""
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
        return [model.model_validate(item) for item in data.get(key, [])]
    except (OSError, yaml.YAMLError, ValueError, AttributeError) as exc:
        raise ConfigError(f"Cannot load {what} from {source}: {exc}") from exc


def load_signatures(path: Path | None = None) -> list[Signature]:
    """The built-in signatures, or those of a file with the same shape."""
    return load_pattern_file(path or BUILTIN, "signatures", Signature, "failure signatures")
