"""Re-runs: only what changed is rebuilt, and the result is byte-identical to a full build."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

from faxbatch.build.pipeline import BuildOptions, build_batch
from faxbatch.campaign.loader import load_campaign
from tests.conftest import BASIC

ROOT = Path(__file__).resolve().parents[2]
HEAD = BASIC.split("recipients:")[0] + "recipients_file: offices.csv\n"


def write_offices(folder: Path, count: int, renamed: int | None = None) -> None:
    with (folder / "offices.csv").open("w", encoding="utf-8", newline="") as handle:
        rows = csv.writer(handle)
        rows.writerow(["id", "name", "organization", "address", "fax"])
        for n in range(count):
            name = f"Office {n}" + (" (renamed)" if n == renamed else "")
            rows.writerow(
                [
                    f"office-{n:03d}",
                    name,
                    f"Ministry {n % 5}",
                    "Street 1 | Astana",
                    f"+7 7172 74 {n // 100 % 100:02d} {n % 100:02d}",
                ]
            )


def files(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".faxbatch-cache" not in p.parts
    }


def build(path: Path, out: Path, jobs: int = 1):  # type: ignore[no-untyped-def]
    return build_batch(load_campaign(path), BuildOptions(out=out, jobs=jobs))


def test_unchanged_rerun_keeps_everything(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_campaign(HEAD)
    write_offices(tmp_path, 12)
    first = build(path, tmp_path / "out")
    before = files(tmp_path / "out")
    again = build(path, tmp_path / "out")
    assert again.reused == again.ready == first.ready == 12
    assert files(tmp_path / "out") == before


def test_one_changed_recipient_rebuilds_only_it_and_the_volume(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_campaign(HEAD)
    write_offices(tmp_path, 12)
    build(path, tmp_path / "out")
    before = files(tmp_path / "out")
    inode = (tmp_path / "out/faxes/office-003.pdf").stat().st_ino

    write_offices(tmp_path, 12, renamed=7)
    result = build(path, tmp_path / "out", jobs=2)
    assert result.reused == 11
    after = files(tmp_path / "out")
    changed = {name for name in after if after[name] != before.get(name)}
    sheet = {"numbers.csv", "numbers.html", "numbers.xlsx"}  # the volunteers' sheet shows names
    assert changed - sheet == {
        "faxes/office-007.pdf",
        "print/fax-volume-001.pdf",
        "print/job.json",
        "print/job.txt",
        "gateways/hylafax.sh",
        "gateways/jobs.jsonl",
        "manifest.json",
        "manifest.csv",
    }
    # an unchanged document is the previous file itself, not a copy
    assert (tmp_path / "out/faxes/office-003.pdf").stat().st_ino == inode

    # and the result is byte for byte what a build from nothing gives
    full = build(path, tmp_path / "full")
    assert full.reused == 0
    assert files(tmp_path / "full") == after


def test_changed_letter_rebuilds_every_document(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_campaign(HEAD)
    write_offices(tmp_path, 4)
    build(path, tmp_path / "out")
    path.write_text(HEAD.replace("We protest against the trial.", "We protest again."), "utf-8")
    result = build(path, tmp_path / "out")
    assert result.reused == 0
    assert build(path, tmp_path / "full").ready == 4
    assert files(tmp_path / "out") == files(tmp_path / "full")


def test_damaged_cache_only_costs_time(write_campaign: Callable[..., Path], tmp_path: Path) -> None:
    path = write_campaign(HEAD)
    write_offices(tmp_path, 4)
    build(path, tmp_path / "out")
    before = files(tmp_path / "out")
    (tmp_path / "out/.faxbatch-cache/cache.sqlite").write_bytes(b"not a database")
    result = build(path, tmp_path / "out")
    assert result.reused == 0
    assert files(tmp_path / "out") == before


def test_a_missing_file_of_the_previous_batch_means_a_fresh_build(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_campaign(HEAD)
    write_offices(tmp_path, 4)
    build(path, tmp_path / "out")
    before = files(tmp_path / "out")
    (tmp_path / "out/faxes/office-002.pdf").unlink()
    result = build(path, tmp_path / "out")
    assert result.ready == 4
    assert files(tmp_path / "out") == before
