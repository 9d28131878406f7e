"""Enclosures are inputs like the others: read only from the campaign's folder, never a FIFO or a
device, at most 20 MB; a PDF that is not one is refused. A previous batch survives every refusal.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.conftest import BASIC
from tests.hostile.conftest import Sandbox, snapshot
from tests.hostile.test_file_reads import refused


def with_enclosure(name: str) -> str:
    return BASIC.replace("cover: {", f"enclosures: ['{name}']\ncover: {{")


@pytest.fixture
def built(sandbox: Sandbox) -> Iterator[Sandbox]:
    before = sandbox.build_good()
    yield sandbox
    assert snapshot(sandbox.out) == before


def test_an_enclosure_outside_the_folder_is_refused(built: Sandbox) -> None:
    sandbox = built
    (sandbox.campaign_dir / "inside-link.pdf").symlink_to(sandbox.secret)
    for number, name in enumerate(
        [str(sandbox.secret), "../outside/secret.txt", "inside-link.pdf", "/dev/zero"]
    ):
        path = sandbox.campaign(with_enclosure(name), name=f"bad-{number}.yaml")
        run = sandbox.run("build", path, "--out", sandbox.out)
        refused(sandbox, run, 3, f"bad-{number}.yaml:", "enclosures[0]", "outside")


def test_fifos_folders_big_files_and_text_are_refused(built: Sandbox) -> None:
    sandbox = built
    folder = sandbox.campaign_dir
    os.mkfifo(folder / "fifo.pdf")
    (folder / "folder.pdf").mkdir()
    with (folder / "big.pdf").open("wb") as handle:
        handle.truncate(20_000_001)  # sparse: refused before a byte is read
    (folder / "letter.pdf").write_text("Dear judge, this is no PDF.\n", encoding="utf-8")
    cases = [
        ("fifo.pdf", "a FIFO"),
        ("folder.pdf", "a folder"),
        ("big.pdf", "more than the 20.0 MB"),
        ("letter.pdf", "it is not a PDF, or it is damaged"),
        ("missing.pdf", "no such file"),
    ]
    for number, (name, what) in enumerate(cases):
        path = sandbox.campaign(with_enclosure(name), name=f"bad-{number}.yaml")
        run = sandbox.run("build", path, "--out", sandbox.out, timeout=30)
        refused(sandbox, run, 4, f"bad-{number}.yaml:", name, what)
    (folder / "big.pdf").unlink()
