"""Which files under an ingested folder are not knowledge: built-in skips, `.opsagentignore`, `--exclude`.

Rules use gitignore syntax (matched by the `pathspec` library) and stack the way git's do, later layers
winning: the built-in skips, then `.opsagentignore` files from the root down to a file's own folder (their
patterns are relative to the folder they sit in), then `--exclude` patterns (relative to the root). So a
user can re-include what a built-in rule skips (`!/README.md`), and a path inside an ignored folder stays
ignored, as in git.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pathspec import GitIgnoreSpec

IGNORE_FILE = ".opsagentignore"

# Files that describe a repository rather than an incident: licences, changelogs, contribution guides,
# and templates for new runbooks (`template.md`, `runbook-template.md`, GitHub's issue templates).
# Matched case-insensitively: `LICENSE`, `License.md` and `license.txt` are the same file to a reader.
DEFAULT_SKIPS = (
    "license",
    "license.*",
    "licence",
    "licence.*",
    "copying",
    "copying.*",
    "changelog*",
    "contributing*",
    "code_of_conduct*",
    "code-of-conduct*",
    "pull_request_template*",
    "issue_template*",
    "template.*",
    "_template.*",
    "*[-_.]template.*",
    "templates/",
    "_templates/",
)
# All-caps names are GitHub's convention for repository files (SECURITY.md is a policy, not the
# `security.md` runbook a team may write), so these match case-sensitively.
DEFAULT_SKIPS_EXACT_CASE = ("SECURITY.md", "SUPPORT.md", "*TEMPLATE*")
# The README (or site index page) at the top of a folder that has sub-folders describes the collection,
# not one incident; READMEs inside sub-folders are runbooks (`docs/gitaly/README.md`). Matched
# case-insensitively; `!/README.md` in `.opsagentignore` takes it back.
ROOT_INDEX_SKIPS = ("/readme.*", "/index.*", "/_index.*")


@dataclass(frozen=True)
class _Layer:
    """Patterns relative to one folder (`base`, '' for the root)."""

    base: str
    spec: GitIgnoreSpec
    casefold: bool = False
    user: bool = True

    def check(self, path: str, is_dir: bool) -> bool | None:
        """True: ignored, False: re-included by a `!` pattern, None: no pattern here matched."""
        if self.base:
            if not path.startswith(self.base + "/"):
                return None
            path = path[len(self.base) + 1 :]
        if self.casefold:
            path = path.lower()
        return self.spec.check_file(path + "/" if is_dir else path).include


@dataclass(frozen=True)
class Verdict:
    """Whether a path is ignored, and whether a user rule (not a built-in one) decided it."""

    ignored: bool
    by_user: bool = False


def _layer(base: str, lines: Iterable[str], *, casefold: bool = False, user: bool = True) -> _Layer | None:
    patterns = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not patterns:
        return None
    return _Layer(base, GitIgnoreSpec.from_lines(patterns), casefold, user)


class IgnoreRules:
    """The ignore rules of one walked folder; `.opsagentignore` files are read once each."""

    def __init__(self, root: Path, excludes: Sequence[str] = ()) -> None:
        self.root = root
        has_subfolders = root.is_dir() and any(
            entry.is_dir() and not entry.name.startswith(".") for entry in _entries(root)
        )
        defaults = [
            _layer("", DEFAULT_SKIPS, casefold=True, user=False),
            _layer("", DEFAULT_SKIPS_EXACT_CASE, user=False),
            _layer("", ROOT_INDEX_SKIPS, casefold=True, user=False) if has_subfolders else None,
        ]
        self._defaults = [layer for layer in defaults if layer is not None]
        self._excludes = _layer("", excludes)
        self._files: dict[str, _Layer | None] = {}

    def verdict(self, source: str, is_dir: bool = False) -> Verdict:
        """The decision for one path relative to the root, checking only this path (not its folders)."""
        parent = PurePosixPath(source).parent.as_posix()
        folders = [] if parent == "." else _ancestors(parent)
        layers = [*self._defaults, *(self._file_layer(f) for f in ["", *folders]), self._excludes]
        decided = Verdict(False)
        for layer in layers:
            if layer is None:
                continue
            result = layer.check(source, is_dir)
            if result is not None:
                decided = Verdict(result, layer.user)
        return decided

    def ignored(self, source: str) -> Verdict:
        """The decision for a file, as git makes it: inside an ignored folder means ignored."""
        parts = PurePosixPath(source).parts
        for depth in range(1, len(parts)):
            folder = self.verdict("/".join(parts[:depth]), is_dir=True)
            if folder.ignored:
                return folder
        return self.verdict(source)

    def _file_layer(self, folder: str) -> _Layer | None:
        if folder not in self._files:
            path = self.root / folder / IGNORE_FILE if folder else self.root / IGNORE_FILE
            try:
                lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:  # no ignore file here (the common case), or unreadable: no rules
                lines = []
            self._files[folder] = _layer(folder, lines)
        return self._files[folder]


def _ancestors(folder: str) -> list[str]:
    """`a/b/c` -> [`a`, `a/b`, `a/b/c`]."""
    parts = PurePosixPath(folder).parts
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _entries(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except OSError:
        return []
