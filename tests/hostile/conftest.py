"""The harness of the hostile-input corpus: every test runs faxbatch as a user would, on a
campaign a stranger wrote, and asserts what must hold whatever the input.

- the exit code is a documented one, never 1 (an internal error), and no traceback is printed;
- nothing outside the test's own folder is read into an output or written (a canary file lies
  beside the campaign folder: its text must never reach a batch);
- a batch built before from a good campaign is still there, byte for byte, after a bad run.

Tests get a :class:`Sandbox`: ``sandbox.campaign_dir`` holds the campaign and its files,
``sandbox.outside`` lies beside it and holds ``secret.txt`` (the canary).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import BASIC

ROOT = Path(__file__).resolve().parents[2]
#: the exit codes README.md documents (1 is a bug, never an answer to bad input)
DOCUMENTED = {0, 2, 3, 4, 5, 6, 7, 8, 130}


@dataclass
class Run:
    """One finished faxbatch command."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Sandbox:
    """A test's folder: the campaign's folder, a folder beside it with a canary, a batch."""

    root: Path
    canary: str = field(default_factory=lambda: f"CANARY-{uuid.uuid4().hex}")

    def __post_init__(self) -> None:
        self.campaign_dir = self.root / "campaign"
        self.outside = self.root / "outside"
        self.campaign_dir.mkdir()
        self.outside.mkdir()
        self.secret = self.outside / "secret.txt"
        self.secret.write_text(f"{self.canary}\n", encoding="utf-8")
        self.out = self.campaign_dir / "out"

    def write(self, name: str, text: str | bytes) -> Path:
        """A file of the campaign folder (text is dedented)."""
        path = self.campaign_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    def campaign(self, text: str = BASIC, name: str = "campaign.yaml") -> Path:
        """Write the campaign file."""
        return self.write(name, text)

    def run(
        self, *args: str | Path, env: dict[str, str] | None = None, timeout: float = 120
    ) -> Run:
        """``faxbatch ARGS`` in a subprocess, in the campaign folder; checks the exit code is
        documented and that no traceback was printed."""
        words = tuple(str(arg) for arg in args)
        result = subprocess.run(
            [sys.executable, "-m", "faxbatch", *words],
            capture_output=True,
            text=True,
            cwd=self.campaign_dir,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})},
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        run = Run(words, result.returncode, result.stdout, result.stderr)
        assert run.returncode in DOCUMENTED, f"exit {run.returncode}: {run.stderr}"
        assert "Traceback" not in run.stderr + run.stdout, run.stderr
        return run

    def build_good(self) -> dict[str, str]:
        """Build a good batch into ``out`` (the one a bad run must leave alone)."""
        good = self.write("good.yaml", BASIC)
        run = self.run("build", good, "--out", self.out)
        assert run.returncode in (0, 6), run.stderr
        return snapshot(self.out)

    def assert_canary_kept(self) -> None:
        """The canary's text is in no file under the campaign folder (PDFs read as text)."""
        assert_nowhere(self.campaign_dir, self.canary)


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` by relative path, with its SHA-256."""
    found: dict[str, str] = {}
    if not folder.exists():
        return found
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink():
            found[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def tree(folder: Path) -> dict[str, tuple[int, int]]:
    """Every entry under ``folder`` (symlinks as themselves) with its size and mtime."""
    found: dict[str, tuple[int, int]] = {}
    for path in sorted(folder.rglob("*")):
        info = path.lstat()
        found[str(path.relative_to(folder))] = (info.st_size, info.st_mtime_ns)
    return found


def assert_nowhere(folder: Path, text: str) -> None:
    """``text`` appears in no file under ``folder``, PDFs included (their text extracted)."""
    needle = text.encode()
    for path in folder.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        data = path.read_bytes()
        assert needle not in data, f"{text} leaked into {path}"
        if path.suffix == ".pdf":
            result = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=False)
            assert needle not in result.stdout, f"{text} leaked into {path}"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    """A sandbox; at the end, nothing beside the campaign folder was written."""
    box = Sandbox(tmp_path)
    outside_before = tree(box.outside)
    parent_before = {p.name for p in tmp_path.iterdir()}
    yield box
    assert tree(box.outside) == outside_before, "something was written outside the campaign folder"
    assert {p.name for p in tmp_path.iterdir()} == parent_before, "files appeared beside it"
