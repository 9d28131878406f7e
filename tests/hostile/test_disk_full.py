"""A disk that fills up while the batch or its cache is written: exit 5, the previous batch kept.

Without root tricks: the build runs with a file-size limit (``RLIMIT_FSIZE``, SIGXFSZ ignored),
so the first write past it fails with EFBIG, exactly where a full disk would fail. The campaigns
and limits are chosen so that the failure lands in a different writer each time (the cache
database, the page streams, a fax, a print volume, the plans spilled to disk, the manifest); the
message names the file. Then the real thing, ENOSPC on a 2 MB tmpfs, where mounting is allowed.
"""

from __future__ import annotations

import csv
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from faxbatch.build.pipeline import BuildOptions, build_batch
from faxbatch.campaign.loader import load_campaign
from tests.conftest import BASIC
from tests.hostile.conftest import DOCUMENTED, ROOT, Sandbox, snapshot

JOBS = ("--jobs", "2")
WORDS = ("court", "trial", "charges", "activists", "release", "protest", "letter", "justice")


@dataclass(frozen=True)
class Campaign:
    """What to build: ``ready`` offices with a fax number, ``rejected`` without one."""

    ready: int
    rejected: int = 0
    paragraphs: int = 2
    title: str = "Free the activists"

    def write(self, folder: Path) -> Path:
        rng = random.Random(5)  # words that do not compress away: pages of a real size
        body = "\n\n".join(
            " ".join(rng.choice(WORDS) for _ in range(120)) + "." for _ in range(self.paragraphs)
        )
        head = BASIC.split("recipients:")[0]
        head = head.replace("We protest against the trial.", textwrap.indent(body, "    ").strip())
        head = head.replace("Free the activists", self.title)
        with (folder / "offices.csv").open("w", encoding="utf-8", newline="") as handle:
            rows = csv.writer(handle)
            rows.writerow(["id", "name", "organization", "fax"])
            for n in range(self.ready):
                fax = f"+7 7172 {70 + n % 30} {n // 100 % 100:02d} {n % 100:02d}"
                rows.writerow([f"office-{n:04d}", f"Office {n}", f"Ministry {n % 7}", fax])
            for n in range(self.rejected):
                rows.writerow([f"nofax-{n:04d}", f"Office number {n} of a long list", "", ""])
        path = folder / "campaign.yaml"
        path.write_text(head + "recipients_file: offices.csv\n", encoding="utf-8")
        return path


@dataclass(frozen=True)
class Case:
    previous: Campaign
    keep_cache: bool  # the previous batch's cache (its files are copied into the new one)
    new: Campaign
    limit: int  # bytes a file may reach
    writer: str  # what the message must name


CASES = {
    "the cache database": Case(
        Campaign(2), True, Campaign(8, title="Changed"), 16_384, "cache.sqlite"
    ),
    "the page streams": Case(
        Campaign(60), True, Campaign(60, title="Changed"), 65_536, "pages.bin"
    ),
    "a fax": Case(Campaign(2), False, Campaign(3, paragraphs=150), 65_536, "faxes/office-"),
    "a print volume": Case(Campaign(2), False, Campaign(14, paragraphs=12), 45_000, "volume-001"),
    "the plans spilled to disk": Case(
        Campaign(2), False, Campaign(2, rejected=300), 60_000, "plans.spill"
    ),
    "the manifest": Case(Campaign(2), False, Campaign(2, rejected=300), 200_000, "manifest.json"),
}


def run_limited(sandbox: Sandbox, campaign: Path, limit: int) -> subprocess.CompletedProcess[str]:
    """``faxbatch build`` with files limited to ``limit`` bytes (a disk full at that size)."""

    def limit_files() -> None:  # in the child, before it runs faxbatch
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "faxbatch",
            "build",
            str(campaign),
            "--out",
            str(sandbox.out),
            *JOBS,
        ],
        capture_output=True,
        text=True,
        cwd=sandbox.campaign_dir,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        preexec_fn=limit_files,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode in DOCUMENTED, result.stderr
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    return result


def build_previous(sandbox: Sandbox, case: Case) -> dict[str, str]:
    campaign = case.previous.write(sandbox.campaign_dir)
    build_batch(load_campaign(campaign), BuildOptions(out=sandbox.out, jobs=1))
    if not case.keep_cache:
        shutil.rmtree(sandbox.out / ".faxbatch-cache")
    return snapshot(sandbox.out)


@pytest.mark.parametrize("name", list(CASES))
def test_a_full_disk_stops_the_build_and_keeps_the_previous_batch(
    sandbox: Sandbox, name: str
) -> None:
    case = CASES[name]
    before = build_previous(sandbox, case)
    result = run_limited(sandbox, case.new.write(sandbox.campaign_dir), case.limit)
    assert result.returncode == 5, result.stderr
    assert "cannot write the batch" in result.stderr, result.stderr
    assert "previous batch is unchanged" in result.stderr
    assert case.writer in result.stderr, f"the failure landed elsewhere: {result.stderr}"
    assert snapshot(sandbox.out) == before
    assert not (sandbox.campaign_dir / ".out.staging").exists()
    if name == "the cache database":  # with room again, the same build completes
        again = run_limited(sandbox, sandbox.campaign_dir / "campaign.yaml", resource.RLIM_INFINITY)
        assert again.returncode == 0, again.stderr


@pytest.fixture
def small_disk(sandbox: Sandbox) -> Iterator[Path]:
    """A 2 MB tmpfs inside the campaign folder (skipped where mounting is not allowed)."""
    mount = sandbox.campaign_dir / "disk"
    mount.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command here")
    tried = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if tried.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({tried.stderr.strip() or 'not permitted'})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
        mount.rmdir()


def test_no_space_left_on_a_real_file_system(sandbox: Sandbox, small_disk: Path) -> None:
    out = small_disk / "out"
    sandbox.campaign()
    good = sandbox.run("build", "campaign.yaml", "--out", out)
    assert good.returncode == 6, good.stderr  # one recipient without a fax number
    before = snapshot(out)
    campaign = Campaign(160, title="Changed").write(sandbox.campaign_dir)  # about 3 MB of faxes
    run = sandbox.run("build", campaign, "--out", out, "--jobs", "2")
    assert run.returncode == 5, run.stderr
    assert "No space left on device" in run.stderr
    assert snapshot(out) == before
    assert not (small_disk / ".out.staging").exists()
