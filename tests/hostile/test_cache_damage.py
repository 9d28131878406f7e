"""A damaged cache, or a batch changed by hand, can make a build slower, never different.

Each case builds a good batch (campaign A), damages its cache or one of its files, then builds
campaign B (A with one recipient renamed) or A again into the same folder, and compares every file
of the result (the cache aside) with a build from nothing. A cache that cannot be read must not
make every later build fail either. The first case of each kind runs the command line (exit code,
no traceback, what it says); the others call the library, where any exception fails the test.
"""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from faxbatch.build.pipeline import BuildOptions, build_batch
from faxbatch.campaign.loader import load_campaign
from tests.conftest import BASIC
from tests.hostile.conftest import Sandbox, snapshot

#: 2012-05-10: the campaign's date; with it the manifests and sheets are the same on every run
EPOCH = "1336608000"
HEAD = BASIC.split("recipients:")[0] + "recipients_file: offices.csv\n"
COUNT = 16
RENAMED = 9
CACHE = ".faxbatch-cache"


def write_campaign(folder: Path, renamed: bool) -> Path:
    """Campaign A (``renamed`` False) or B: the same, with one recipient's name changed."""
    with (folder / "offices.csv").open("w", encoding="utf-8", newline="") as handle:
        rows = csv.writer(handle)
        rows.writerow(["id", "name", "organization", "address", "fax"])
        for n in range(COUNT):
            name = f"Office {n}" + (" (renamed)" if renamed and n == RENAMED else "")
            fax = f"+7 7172 74 {n // 100 % 100:02d} {n % 100:02d}"
            rows.writerow([f"office-{n:03d}", name, f"Ministry {n % 5}", "Street 1 | Astana", fax])
    path = folder / "campaign.yaml"
    path.write_text(HEAD, encoding="utf-8")
    return path


def batch_files(folder: Path) -> dict[str, str]:
    """The batch's files and their hashes, the cache aside (it holds what earlier runs made)."""
    return {name: digest for name, digest in snapshot(folder).items() if CACHE not in name}


def build_in_process(folder: Path, renamed: bool, out: Path) -> None:
    build_batch(load_campaign(write_campaign(folder, renamed)), BuildOptions(out=out, jobs=1))


@pytest.fixture(scope="module", autouse=True)
def fixed_time() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", EPOCH)
        yield


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, dict[str, str]]:
    """What builds from nothing give, for A (False) and B (True)."""
    found = {}
    for renamed in (False, True):
        folder = tmp_path_factory.mktemp("reference")
        build_in_process(folder, renamed, folder / "out")
        found[renamed] = batch_files(folder / "out")
    return found


def rebuild(sandbox: Sandbox, renamed: bool, jobs: int = 1, cli: bool = True) -> str:
    """Build A or B into the sandbox's batch; returns what the command line printed (or the
    build's notes, when the library is called)."""
    path = write_campaign(sandbox.campaign_dir, renamed)
    if not cli:
        result = build_batch(load_campaign(path), BuildOptions(out=sandbox.out, jobs=jobs))
        assert result.exit_code == 0
        return "\n".join(result.notes)
    run = sandbox.run("build", path, "--out", sandbox.out, "--jobs", str(jobs))
    assert run.returncode == 0, run.stderr
    return run.stdout


def _zero_middle(path: Path) -> None:
    data = bytearray(path.read_bytes())
    third = len(data) // 3
    data[third : 2 * third] = bytes(third)
    path.write_bytes(bytes(data))


def _random_bytes(path: Path) -> None:
    path.write_bytes(random.Random(7).randbytes(path.stat().st_size))


def _sql(statement: str) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        with sqlite3.connect(path) as db:
            db.execute(statement)
            assert db.total_changes or not statement.startswith("UPDATE"), "nothing damaged"
        db.close()

    return damage


def _shift_a_stream(path: Path) -> None:
    """A document's record points 17 bytes off (its digest left as it was)."""
    with sqlite3.connect(path) as db:
        doc_id, pages = db.execute(
            "SELECT id, pages FROM documents WHERE id = 'fax:office-004'"
        ).fetchone()
        records = json.loads(pages)
        records[-1]["s"][0][0] += 17
        db.execute("UPDATE documents SET pages = ? WHERE id = ?", (json.dumps(records), doc_id))
    db.close()


def _as_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()


PAGES_DAMAGE: dict[str, Callable[[Path], None]] = {
    "truncated to half": lambda p: os.truncate(p, p.stat().st_size // 2),
    "middle third zeroed": _zero_middle,
    "overwritten with random bytes": _random_bytes,
    "deleted": Path.unlink,
}
DATABASE_DAMAGE: dict[str, Callable[[Path], None]] = {
    "garbage bytes": _random_bytes,
    "truncated": lambda p: os.truncate(p, 4096),
    "another schema": _sql("DROP TABLE documents"),
    "another format": _sql("PRAGMA user_version = 7"),
    "a stream record moved": _shift_a_stream,
    "a checksum changed": _sql("UPDATE documents SET sha256 = lower(hex(randomblob(32)))"),
    "a font subset changed": _sql("UPDATE fonts SET data = substr(data, 1, length(data) - 40)"),
    "a reading changed": _sql(
        'UPDATE readings SET readings = replace(readings, \'"verdict":"ok"\', '
        '\'"verdict":"refused"\')'
    ),
    "the volumes' record changed": _sql(
        "UPDATE meta SET value = replace(value, '\"pages\": ', '\"pages\": 1') "
        "WHERE name = 'volumes'"
    ),
    "a folder": _as_folder,
}


def _first(cases: dict[str, object]) -> list[tuple[str, bool]]:
    """Each case, the first one through the command line."""
    return [(name, index == 0) for index, name in enumerate(cases)]


@pytest.mark.parametrize(("damage", "cli"), _first(PAGES_DAMAGE))
def test_damaged_pages_are_made_anew(
    sandbox: Sandbox, reference: dict[bool, dict[str, str]], damage: str, cli: bool
) -> None:
    build_in_process(sandbox.campaign_dir, False, sandbox.out)
    PAGES_DAMAGE[damage](sandbox.out / CACHE / "pages.bin")
    rebuild(sandbox, True, jobs=2, cli=cli)  # the workers check what they reuse
    assert batch_files(sandbox.out) == reference[True]


@pytest.mark.parametrize(("damage", "cli"), _first(DATABASE_DAMAGE))
def test_a_damaged_cache_database_is_set_aside(
    sandbox: Sandbox, reference: dict[bool, dict[str, str]], damage: str, cli: bool
) -> None:
    build_in_process(sandbox.campaign_dir, False, sandbox.out)
    DATABASE_DAMAGE[damage](sandbox.out / CACHE / "cache.sqlite")
    rebuild(sandbox, True, cli=cli)
    assert batch_files(sandbox.out) == reference[True]


def test_the_build_after_a_damaged_cache_database_reuses_again(
    sandbox: Sandbox, reference: dict[bool, dict[str, str]]
) -> None:
    build_in_process(sandbox.campaign_dir, False, sandbox.out)
    _random_bytes(sandbox.out / CACHE / "cache.sqlite")
    assert "could not be read" in rebuild(sandbox, True)
    stdout = rebuild(sandbox, False)  # the new batch's cache is sound: all but one reused
    assert f"({COUNT - 1} unchanged, kept from the last build)" in stdout
    assert batch_files(sandbox.out) == reference[False]


def test_half_a_pages_file_never_gives_blank_pages_that_pass_preflight(
    sandbox: Sandbox, reference: dict[bool, dict[str, str]]
) -> None:
    """The case of the issue: pages.bin cut in half, one recipient changed, then preflight."""
    build_in_process(sandbox.campaign_dir, False, sandbox.out)
    pages = sandbox.out / CACHE / "pages.bin"
    os.truncate(pages, pages.stat().st_size // 2)
    stdout = rebuild(sandbox, True, jobs=2)
    assert "made anew" in stdout  # the command line says why it took longer
    assert batch_files(sandbox.out) == reference[True]
    run = sandbox.run("preflight", sandbox.out)
    assert run.returncode == 0, run.stderr


def test_a_cache_folder_that_is_a_link_is_not_read(
    sandbox: Sandbox,
    reference: dict[bool, dict[str, str]],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    build_in_process(sandbox.campaign_dir, False, sandbox.out)
    elsewhere = tmp_path_factory.mktemp("elsewhere") / CACHE
    shutil.move(sandbox.out / CACHE, elsewhere)
    (sandbox.out / CACHE).symlink_to(elsewhere, target_is_directory=True)
    before = snapshot(elsewhere)
    stdout = rebuild(sandbox, True)
    assert "unchanged" not in stdout  # nothing was reused through the link
    assert batch_files(sandbox.out) == reference[True]
    assert not (sandbox.out / CACHE).is_symlink()
    assert snapshot(elsewhere) == before


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x20
    path.write_bytes(bytes(data))


EDITS: dict[str, tuple[str, Callable[[Path], None]]] = {
    "a fax edited in place": ("faxes/office-004.pdf", _flip_a_byte),
    "a fax replaced by another": (
        "faxes/office-004.pdf",
        lambda p: (
            shutil.copyfile(p.with_name("office-005.pdf"), p.with_name("tmp.pdf"))
            or p.with_name("tmp.pdf").replace(p)
        ),
    ),
    "a volume edited": ("print/fax-volume-001.pdf", _flip_a_byte),
    "the manifest edited": ("manifest.json", lambda p: p.write_text(p.read_text() + " ")),
    "a fax turned into a link": (
        "faxes/office-004.pdf",
        lambda p: p.unlink() or p.symlink_to(p.with_name("office-005.pdf")),
    ),
}


@pytest.mark.parametrize(
    ("edit", "renamed", "cli"),
    [(edit, False, cli) for edit, cli in _first(EDITS)]
    + [("a fax edited in place", True, False), ("a fax turned into a link", True, False)],
)
def test_a_file_changed_by_hand_is_never_carried_over(
    sandbox: Sandbox, reference: dict[bool, dict[str, str]], edit: str, renamed: bool, cli: bool
) -> None:
    build_in_process(sandbox.campaign_dir, False, sandbox.out)
    name, change = EDITS[edit]
    change(sandbox.out / name)
    rebuild(sandbox, renamed, cli=cli)
    assert batch_files(sandbox.out) == reference[renamed]
    assert not (sandbox.out / name).is_symlink()
