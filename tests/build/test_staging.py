from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from faxbatch.build import render
from faxbatch.build import staging as staging_module
from faxbatch.build.pipeline import BuildOptions, build_batch
from faxbatch.build.staging import MARKER, Staging, is_batch_folder
from faxbatch.campaign.loader import load_campaign
from faxbatch.errors import OutputNotWritableError
from faxbatch.files import write_atomic
from tests.conftest import BASIC
from tests.pdfcheck import page_texts

ROOT = Path(__file__).resolve().parents[2]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def changed_campaign(write_campaign: Callable[..., Path]) -> Path:
    """The basic campaign with another letter: a build that cannot reuse the previous batch."""
    text = BASIC.replace("We protest against the trial.", "We protest, once more.")
    return write_campaign(text, name="changed.yaml")


def test_failed_run_leaves_previous_batch_intact(
    basic_campaign: Path,
    write_campaign: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = tmp_path / "out"
    build_batch(load_campaign(basic_campaign), BuildOptions(out=out))
    before = snapshot(out)
    calls = {"n": 0}
    real = render.pdf_bytes

    def failing(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # the user pressed Ctrl-C halfway
        return real(*args, **kwargs)

    monkeypatch.setattr(render, "pdf_bytes", failing)
    changed = changed_campaign(write_campaign)
    with pytest.raises(KeyboardInterrupt):
        build_batch(load_campaign(changed), BuildOptions(out=out, jobs=1))
    assert snapshot(out) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.staging")] == []


def test_killed_run_leaves_previous_batch_and_rerun_completes(
    basic_campaign: Path, write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    out = tmp_path / "out"
    build_batch(load_campaign(basic_campaign), BuildOptions(out=out))
    before = snapshot(out)
    changed = changed_campaign(write_campaign)
    # a run killed with SIGKILL while it writes: no clean-up code gets to run
    script = (
        "import os, signal, faxbatch.build.render as p\n"
        "real = p.pdf_bytes\n"
        "def die(*a, **k):\n"
        "    real(*a, **k); os.kill(os.getpid(), signal.SIGKILL)\n"
        "p.pdf_bytes = die\n"
        "from faxbatch.cli import main\n"
        f"main(['build', {str(changed)!r}, '--out', {str(out)!r}, '--jobs', '1'])\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL
    assert snapshot(out) == before
    assert (tmp_path / ".out.staging").exists()  # the half-built batch, beside, not in place
    build_batch(load_campaign(changed), BuildOptions(out=out))
    assert not (tmp_path / ".out.staging").exists()
    assert "once more" in "".join(page_texts(out / "faxes/court.pdf"))


def test_interrupted_swap_is_repaired(basic_campaign: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build_batch(load_campaign(basic_campaign), BuildOptions(out=out))
    before = snapshot(out)
    out.rename(tmp_path / ".out.old")  # a crash between the two renames of the fallback swap
    with Staging(out):
        pass
    assert snapshot(out) == before


def test_staging_refuses_a_second_run(tmp_path: Path) -> None:
    with Staging(tmp_path / "out"), pytest.raises(OutputNotWritableError):
        Staging(tmp_path / "out").__enter__()


def test_batch_folder_marker(basic_campaign: Path, tmp_path: Path) -> None:
    build_batch(load_campaign(basic_campaign), BuildOptions(out=tmp_path / "out"))
    assert (tmp_path / "out" / MARKER).exists()
    assert is_batch_folder(tmp_path / "out")
    assert not is_batch_folder(tmp_path)


def test_write_atomic_replaces_whole_files(tmp_path: Path) -> None:
    target = tmp_path / "a" / "file.txt"
    write_atomic(target, b"one")
    write_atomic(target, b"two")
    assert target.read_bytes() == b"two"
    assert [p.name for p in target.parent.iterdir()] == ["file.txt"]


def test_rebuild_into_the_same_folder_replaces_it(basic_campaign: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build_batch(load_campaign(basic_campaign), BuildOptions(out=out))
    (out / "faxes" / "stale.pdf").write_bytes(b"old")
    time.sleep(0.01)
    build_batch(load_campaign(basic_campaign), BuildOptions(out=out))
    assert not (out / "faxes" / "stale.pdf").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.lock", "campaign.yaml", "out"]


class _Stopped(Exception):
    """What this test's SIGTERM handler raises (so that a broken hold cannot kill pytest)."""


def _stop(signum: int, frame: object) -> None:
    raise _Stopped(signum)


def _signal_and_wait(signum: int) -> None:
    """Send this process ``signum`` and return once it has landed, in whichever thread.

    The kernel may hand it to any thread that does not block it, and on a busy machine that
    thread may run only a while later: a fixed pause proved too short under load. The wakeup
    file gets the signal's number as soon as it lands; the main thread runs the Python handler
    at its next step.
    """
    read, write = os.pipe()
    os.set_blocking(write, False)
    before = signal.set_wakeup_fd(write)
    try:
        os.kill(os.getpid(), signum)
        landed, _, _ = select.select([read], [], [], 10)
        assert landed, "the signal did not land within 10 s"
    finally:
        signal.set_wakeup_fd(before)
        os.close(read)
        os.close(write)


@pytest.mark.parametrize("exchange", [True, False], ids=["exchange", "two-renames"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("thread", [False, True], ids=["alone", "beside-a-thread"])
def test_a_signal_during_the_swap_is_handled_after_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exchange: bool, signum: int, thread: bool
) -> None:
    # the signal is sent by the swap's first step itself, so it lands between the steps. With
    # another thread alive (a library user's) the kernel gives that thread a signal the swapping
    # thread blocks, and Python runs the handler in the main thread all the same: masking the
    # signal is not enough, the handler itself must wait
    out = tmp_path / "out"
    with Staging(out) as staging:
        staging.write("letter.txt", b"previous")
        staging.commit()
    real_exchange, real_rename = staging_module._exchange, os.rename
    sent: list[str] = []

    def send(step: str) -> None:
        if not sent:
            sent.append(step)
            _signal_and_wait(signum)

    def exchanging(a: Path, b: Path) -> bool:
        if not exchange:
            return False  # a file system without RENAME_EXCHANGE: the two renames
        done = real_exchange(a, b)
        send("exchange")
        return done

    def renaming(src: object, dst: object) -> None:
        real_rename(src, dst)  # type: ignore[arg-type]
        if Path(str(dst)) == tmp_path / ".out.old":
            send("first rename")

    monkeypatch.setattr(staging_module, "_exchange", exchanging)
    monkeypatch.setattr(os, "rename", renaming)
    idle = threading.Event()
    helper = threading.Thread(target=idle.wait, daemon=True)
    if thread:
        helper.start()
    before = signal.signal(signal.SIGTERM, _stop)
    try:
        stopped = _Stopped if signum == signal.SIGTERM else KeyboardInterrupt
        with pytest.raises(stopped), Staging(out) as staging:
            staging.write("letter.txt", b"new")
            staging.commit()
    finally:
        signal.signal(signal.SIGTERM, before)
        idle.set()
    monkeypatch.undo()
    assert sent == ["exchange" if exchange else "first rename"]
    assert (out / "letter.txt").read_bytes() == b"new"  # the swap was finished, then stopped
    assert is_batch_folder(out)
    # the previous batch, beside and marked, goes with the next run
    with Staging(out):
        pass
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.lock", "out"]
    assert (out / "letter.txt").read_bytes() == b"new"


def test_sigterm_during_the_swap_of_a_build(
    basic_campaign: Path,
    write_campaign: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a build stops on SIGTERM as on Ctrl-C; one arriving between the two renames of the
    # fallback swap waits for the second: the new batch is in place, whole
    out = tmp_path / "out"
    build_batch(load_campaign(basic_campaign), BuildOptions(out=out, jobs=1))
    real_rename = os.rename

    def renaming(src: object, dst: object) -> None:
        real_rename(src, dst)  # type: ignore[arg-type]
        if Path(str(dst)) == tmp_path / ".out.old":
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(staging_module, "_exchange", lambda a, b: False)
    monkeypatch.setattr(os, "rename", renaming)
    changed = changed_campaign(write_campaign)
    with pytest.raises(KeyboardInterrupt):
        build_batch(load_campaign(changed), BuildOptions(out=out, jobs=1))
    monkeypatch.undo()
    assert "once more" in "".join(page_texts(out / "faxes/court.pdf"))
    fresh = tmp_path / "fresh"
    build_batch(load_campaign(changed), BuildOptions(out=fresh, jobs=1))

    def batch(folder: Path) -> dict[str, bytes]:  # the cache records how it was built: not compared
        return {k: v for k, v in snapshot(folder).items() if not k.startswith(".faxbatch-cache")}

    assert batch(out) == batch(fresh)
    assert (tmp_path / ".out.old").is_dir()  # the previous batch, removed by the next build
    build_batch(load_campaign(changed), BuildOptions(out=out, jobs=1))
    assert not (tmp_path / ".out.old").exists()
    assert batch(out) == batch(fresh)
