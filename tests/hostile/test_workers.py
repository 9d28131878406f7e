"""Worker processes end with their build, however it ends, and never hold its lock.

A build with ``--jobs 2`` is killed (``kill -9``) at seeded random moments, and stopped with
SIGTERM: within a second no faxbatch process is left (processes are found by the test's unique
folder in their command line), the previous batch is there byte for byte, and the next run
completes with the same bytes as a build from nothing.
"""

from __future__ import annotations

import contextlib
import csv
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from faxbatch.build import render
from faxbatch.build.pipeline import BuildOptions, build_batch
from faxbatch.campaign.loader import load_campaign
from faxbatch.errors import ExitCode, WorkerDiedError
from faxbatch.printshop import preflight
from tests.conftest import BASIC
from tests.hostile.conftest import ROOT, Sandbox, snapshot

EPOCH = "1336608000"  # 2012-05-10, the campaign's date
RECIPIENTS = 240
PARAGRAPH = (
    "We write to protest against the treatment of the activists who took part in the May Day "
    "march, and to ask that the charges against them be dropped without delay. "
)
CACHE = ".faxbatch-cache"
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "SOURCE_DATE_EPOCH": EPOCH}
TWO_CORES = render.available_cores() >= 2
JOBS = ("--jobs", "2")


def write_campaign(folder: Path, letter: str) -> Path:
    """A campaign of RECIPIENTS offices with a two-page letter; ``letter`` varies its text."""
    head, _ = BASIC.split("recipients:")
    body = "\n\n".join(f"{letter} {PARAGRAPH * 3}" for _ in range(6))
    head = head.replace("We protest against the trial.", textwrap.indent(body, "    ").strip())
    with (folder / "offices.csv").open("w", encoding="utf-8", newline="") as handle:
        rows = csv.writer(handle)
        rows.writerow(["id", "name", "organization", "fax"])
        for n in range(RECIPIENTS):
            fax = f"+7 7172 {70 + n % 30} {n // 100 % 100:02d} {n % 100:02d}"
            rows.writerow([f"office-{n:04d}", f"Office {n}", f"Ministry {n % 7}", fax])
    path = folder / f"campaign-{letter.lower()}.yaml"
    path.write_text(head + "recipients_file: offices.csv\n", encoding="utf-8")
    return path


def faxbatch_processes(marker: Path) -> list[int]:
    """Live processes whose command line holds ``marker`` (zombies are dead already)."""
    found = []
    needle = os.fsencode(marker)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle not in (entry / "cmdline").read_bytes():
                continue
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue  # gone meanwhile
        if state not in ("Z", "X"):
            found.append(int(entry.name))
    return found


def assert_none_left(marker: Path, within: float = 1.0) -> None:
    deadline = time.monotonic() + within
    while (left := faxbatch_processes(marker)) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not left, f"processes outlived their build: {left}"


def start_build(sandbox: Sandbox, campaign: Path, out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "faxbatch", "build", str(campaign), "--out", str(out), *JOBS],
        cwd=sandbox.campaign_dir,
        env=ENV,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def batch_files(folder: Path) -> dict[str, str]:
    return {name: digest for name, digest in snapshot(folder).items() if CACHE not in name}


def build_previous(sandbox: Sandbox) -> dict[str, str]:
    """The batch a killed run must leave as it is (another letter: nothing can be reused)."""
    campaign = write_campaign(sandbox.campaign_dir, "Before")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", EPOCH)
        build_batch(load_campaign(campaign), BuildOptions(out=sandbox.out, jobs=2))
    return snapshot(sandbox.out)


def wait_for_workers(sandbox: Sandbox, proc: subprocess.Popen[bytes]) -> list[int]:
    """The build's worker processes, once they run (its children with its command line)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        workers = [pid for pid in faxbatch_processes(sandbox.root) if _parent(pid) == proc.pid]
        if len(workers) >= 2:
            return workers
        time.sleep(0.01)
    pytest.fail("the build's workers never appeared")


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _holds(pid: int, path: Path) -> bool:
    """Whether process ``pid`` has ``path`` open (a process that has ended has nothing open)."""
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                if fd.readlink() == path:
                    return True
    return False


def test_kill_9_at_random_moments(sandbox: Sandbox) -> None:
    before = build_previous(sandbox)
    campaign = write_campaign(sandbox.campaign_dir, "After")
    started = time.monotonic()
    clean = sandbox.run("build", campaign, "--out", sandbox.campaign_dir / "clean", env=ENV)
    duration = time.monotonic() - started
    assert clean.returncode == 0, clean.stderr
    expected = batch_files(sandbox.campaign_dir / "clean")
    rng = random.Random(20120510)
    # moments counted from the start (any phase: reading, making, writing, the swap), and
    # moments counted from when the workers appear, so that some kill finds the build with its
    # two workers however slow the shared machine is today
    moments = [("start", duration * rng.uniform(0.15, 0.85)) for _ in range(3)]
    if TWO_CORES:
        moments += [("workers", rng.uniform(0.0, 0.05)) for _ in range(3)]
    killed, with_workers = 0, 0
    for anchor, delay in moments:
        proc = start_build(sandbox, campaign, sandbox.out)
        if anchor == "workers":
            wait_for_workers(sandbox, proc)
        time.sleep(delay)
        alive = len(faxbatch_processes(sandbox.root))
        finished = proc.poll() is not None
        proc.kill()
        proc.communicate()
        assert_none_left(sandbox.root)
        with_workers += alive >= 3 and not finished
        after = snapshot(sandbox.out)
        if after == before:
            killed += not finished
            continue
        # killed after the swap, or done before the kill: then it is the complete new batch
        assert batch_files(sandbox.out) == expected
        before = build_previous(sandbox)
    assert killed >= 3, "the kills did not land during the builds"
    if TWO_CORES:
        assert with_workers >= 1, "no kill caught the build with its two workers"
    run = sandbox.run("build", campaign, "--out", sandbox.out, "--jobs", "2", env=ENV)
    assert run.returncode == 0, run.stderr  # no lock left behind, no leftover in the way
    assert batch_files(sandbox.out) == expected
    assert not (sandbox.campaign_dir / ".out.staging").exists()


def test_sigterm_stops_a_build_like_ctrl_c(sandbox: Sandbox) -> None:
    before = build_previous(sandbox)
    campaign = write_campaign(sandbox.campaign_dir, "After")
    proc = start_build(sandbox, campaign, sandbox.out)
    if TWO_CORES:
        workers = wait_for_workers(sandbox, proc)
        lock = sandbox.campaign_dir / ".out.lock"
        time.sleep(0.3)  # a worker closes its copy of the lock right after the fork
        holding = [pid for pid in workers if _holds(pid, lock)]
        assert not holding, f"workers {holding} hold the build's lock"
    else:
        time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    _stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert b"interrupted" in stderr and b"Traceback" not in stderr
    assert_none_left(sandbox.root)
    assert snapshot(sandbox.out) == before
    assert not (sandbox.campaign_dir / ".out.staging").exists()


_WORKERS_SCRIPT = """
import os, sys, time
from faxbatch.build import render
render.USE_PDEATHSIG = {pdeathsig}

class Slow:
    def __init__(self, argument):
        pass

    def __call__(self, item):
        time.sleep(0.02)
        return os.getpid()

seen = set()
for pid in render.in_order(Slow, None, iter(range(10**6)), 2, chunk=1):
    if pid not in seen:
        seen.add(pid)
        print(pid, flush=True)
"""


@pytest.mark.skipif(not TWO_CORES, reason="one core: --jobs is capped at 1, no workers to watch")
@pytest.mark.parametrize("pdeathsig", [True, False], ids=["prctl", "watching the parent"])
def test_workers_die_with_their_parent(tmp_path: Path, pdeathsig: bool) -> None:
    marker = tmp_path / f"workers-{pdeathsig}"
    script = _WORKERS_SCRIPT.format(pdeathsig=pdeathsig)
    with subprocess.Popen(
        [sys.executable, "-c", script, str(marker)], env=ENV, stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None
        workers = {int(proc.stdout.readline()), int(proc.stdout.readline())}
        assert len(workers) == 2 and proc.pid not in workers
        proc.kill()
    assert_none_left(marker)


def test_jobs_are_capped_at_the_cores(tmp_path: Path) -> None:
    cores = render.available_cores()
    assert render.capped_jobs(10_000) == cores
    assert render.capped_jobs(0) == 1

    class Pid:
        def __init__(self, argument: object) -> None:
            pass

        def __call__(self, item: int) -> int:
            time.sleep(0.002)
            return os.getpid()

    pids = set(render.in_order(Pid, None, range(400), 64, chunk=1))
    assert 1 <= len(pids) <= cores
    (tmp_path / "campaign.yaml").write_text(BASIC, encoding="utf-8")
    result = build_batch(
        load_campaign(tmp_path / "campaign.yaml"), BuildOptions(out=tmp_path / "out", jobs=64)
    )
    assert f"64 jobs asked for, {cores} used" in " ".join(result.notes)


class _DiesAtThree:
    """A worker's job that kills its process (as the system's out-of-memory killer would)."""

    def __init__(self, argument: object) -> None:
        pass

    def __call__(self, item: int) -> int:
        if item == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        return item


@pytest.mark.skipif(not TWO_CORES, reason="one core: --jobs is capped at 1, no workers to kill")
def test_a_worker_killed_is_an_error_that_says_so_not_a_bug() -> None:
    with pytest.raises(WorkerDiedError) as info:
        list(render.in_order(_DiesAtThree, None, range(40), 2, chunk=1))
    assert "a worker process died before it was done" in str(info.value)
    assert "--jobs 1" in str(info.value)
    assert info.value.exit_code == ExitCode.INTERNAL


@pytest.mark.skipif(not TWO_CORES, reason="one core: --jobs is capped at 1, no workers to kill")
def test_a_worker_killed_while_the_build_is_busy_elsewhere_is_the_same_error() -> None:
    # the pool breaks while the generator waits for its caller; the next submit() sees it
    results = render.in_order(_DiesAtThree, None, range(40), 2, chunk=1)
    assert next(results) == 0
    time.sleep(1.5)
    with pytest.raises(WorkerDiedError) as info:
        list(results)
    assert "a worker process died before it was done" in str(info.value)
    assert info.value.exit_code == ExitCode.INTERNAL


_PARENT = os.getpid()


def _dies_in_a_worker(*args: object) -> object:
    """preflight's file checks, but a worker process running them is killed."""
    if os.getpid() != _PARENT:
        os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("the files were to be checked by the workers")


@pytest.mark.skipif(not TWO_CORES, reason="one core: preflight checks in one process")
def test_a_preflight_worker_killed_is_an_error_that_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a volume per letter: files in two groups, for two processes to check
    campaign = BASIC.replace(
        "page: {size: A4}", "page: {size: A4}\nprint: {max_pages_per_volume: 3}"
    )
    (tmp_path / "campaign.yaml").write_text(campaign, encoding="utf-8")
    build_batch(load_campaign(tmp_path / "campaign.yaml"), BuildOptions(out=tmp_path / "out"))
    assert len(list((tmp_path / "out/print").glob("fax-volume-*.pdf"))) >= 2
    monkeypatch.setattr(preflight, "_check_files", _dies_in_a_worker)
    with pytest.raises(WorkerDiedError) as info:
        preflight.run_preflight(tmp_path / "out", workers=2)
    assert "the batch was not checked" in str(info.value)


def test_a_lock_left_by_a_dead_run_does_not_block(sandbox: Sandbox) -> None:
    """A lock file (even one a killed process held) blocks nobody once its holders are gone."""
    sandbox.campaign()
    with subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, os, sys, time\n"
            "fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "print('locked', flush=True)\n"
            "time.sleep(60)\n",
            str(sandbox.campaign_dir / ".out.lock"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        busy = sandbox.run("build", "campaign.yaml", "--out", "out")
        assert busy.returncode == 5 and "another faxbatch run" in busy.stderr
        holder.kill()
    run = sandbox.run("build", "campaign.yaml", "--out", "out")
    assert run.returncode == 6, run.stderr  # built (one recipient has no fax number)
