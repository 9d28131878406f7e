"""``faxbatch send --watch`` against a real SMTP server: windows that open later, a kill -9."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from faxbatch.errors import ExitCode
from faxbatch.sending.batch import format_utc
from faxbatch.sending.send import SendRequest, WatchEvent, watch_batch

from .conftest import SmtpServer, faxbatch_process, journal_file, run_cli

DOMAIN = "fax.example.net"
OPTIONS = {"host": None, "port": None, "domain": DOMAIN, "sender": "campaign@example.org"}


def _set_window(batch: Path, rid: str, start: dt.datetime | None, end: dt.datetime | None) -> None:
    manifest = json.loads((batch / "manifest.json").read_text("utf-8"))
    for doc in manifest["documents"]:
        if doc["recipient_id"] == rid:
            doc["window_start_utc"], doc["window_end_utc"] = format_utc(start), format_utc(end)
    (batch / "manifest.json").write_text(json.dumps(manifest), "utf-8")


class FakeClock:
    """A clock that moves only when the watch sleeps."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> dt.datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += dt.timedelta(seconds=seconds)


def test_watch_sends_a_fax_when_its_window_opens_and_ends(
    build: Callable[..., Path], smtp_server: SmtpServer
) -> None:
    batch = build(windows=False)
    start = dt.datetime.now(dt.UTC).replace(microsecond=0)
    opens = start + dt.timedelta(seconds=5)
    _set_window(batch, "court", opens, opens + dt.timedelta(hours=8))
    clock = FakeClock(start)
    events: list[WatchEvent] = []
    options = dict(OPTIONS, host=smtp_server.host, port=smtp_server.port, starttls=False)
    request = SendRequest(gateway="email", overrides=options)

    result = watch_batch(batch, request, clock=clock, sleep=clock.sleep, on_event=events.append)
    assert result.exit_code == ExitCode.OK
    assert result.rounds == 2 and result.progress.done == 2
    assert clock.slept == [5.0]  # it slept exactly until the court's window opened
    assert [m.rcpt_tos for m in smtp_server.messages] == [
        [f"77172745524@{DOMAIN}"],  # the admin's, at once
        [f"77272715802@{DOMAIN}"],  # the court's, when its window opened
    ]
    court = next(e for e in events if e.text.startswith("court: submitted"))
    assert court.moment == opens


def test_kill_during_watch_then_send_again_sends_nothing_twice(
    build: Callable[..., Path], smtp_server: SmtpServer
) -> None:
    batch = build(windows=False)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    later = now + dt.timedelta(hours=1)  # the admin's office opens in an hour
    _set_window(batch, "admin", later, later + dt.timedelta(hours=8))
    args = [
        "send", batch, "--gateway", "email", "--host", smtp_server.host,
        "--port", str(smtp_server.port), "--no-starttls", "--email-domain", DOMAIN,
        "--from", "campaign@example.org", "--yes",
    ]  # fmt: skip
    proc = faxbatch_process(*args, "--watch")
    try:
        deadline = time.monotonic() + 60
        while not _court_submitted(batch) and proc.poll() is None:
            assert time.monotonic() < deadline, "the watch did not send the court's fax"
            time.sleep(0.1)
        assert proc.poll() is None  # it watches on, for the admin's window
        # a second send on the campaign is refused while one watches
        assert run_cli(*args) == ExitCode.SEND_FAILED
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert len(smtp_server.messages) == 1

    assert run_cli(*args) == 0  # the lock died with the watch; the court's fax is not sent again
    assert len(smtp_server.messages) == 1
    _set_window(batch, "admin", None, None)  # the admin's office opened
    assert run_cli(*args) == 0
    assert [m.rcpt_tos for m in smtp_server.messages] == [
        [f"77272715802@{DOMAIN}"],
        [f"77172745524@{DOMAIN}"],
    ]
    assert run_cli(*args, "--watch") == 0  # everything went: the watch ends at once
    assert len(smtp_server.messages) == 2


def _court_submitted(batch: Path) -> bool:
    path = journal_file(batch)
    if not path.exists():
        return False
    db = sqlite3.connect(path, timeout=5)
    try:
        rows = db.execute("SELECT state FROM submissions WHERE recipient_id = 'court'").fetchall()
    except sqlite3.Error:
        return False
    finally:
        db.close()
    return rows == [("submitted",)]
