from __future__ import annotations

from pathlib import Path

import pytest

from opsagent.config import load_settings
from opsagent.errors import ConfigError


def test_defaults_env_and_yaml(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings().data_dir == Path(".opsagent")
    (tmp_path / "opsagent.yaml").write_text("chunk_chars: 500\ndata_dir: /srv/ops\n")
    monkeypatch.setenv("OPSAGENT_DATA_DIR", "/env/wins")
    settings = load_settings()
    assert settings.chunk_chars == 500 and settings.data_dir == Path("/env/wins")


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("chunk_chars: [", "not valid YAML"),
        ("- a\n", "mapping"),
        ("chunk_chars: 5\n", "chunk_chars"),
        ("chunk_charz: 500\n", "chunk_charz"),
    ],
)
def test_bad_config_files_are_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, yaml_text: str, message: str
) -> None:
    config = tmp_path / "custom.yaml"
    config.write_text(yaml_text)
    monkeypatch.setenv("OPSAGENT_CONFIG", str(config))
    with pytest.raises(ConfigError, match=message) as caught:
        load_settings()
    assert "\n" not in str(caught.value)


def test_bad_env_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSAGENT_CHROMA_URL", "localhost:8000")
    with pytest.raises(ConfigError, match="OPSAGENT_CHROMA_URL"):
        load_settings()
    monkeypatch.delenv("OPSAGENT_CHROMA_URL")
    monkeypatch.setenv("OPSAGENT_CONFIG", "/nope.yaml")
    with pytest.raises(ConfigError, match="not a file"):
        load_settings()
