"""`faxbatch send --gateway hylafax` and `faxbatch status` against a real HylaFAX server."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from faxbatch.errors import ExitCode
from faxbatch.sending.batch import load_batch
from faxbatch.sending.gateways import hylafax
from faxbatch.sending.journal import job_tag

from .conftest import SPOOL, Queue, faxbatch_process, free_port, journal_file, journal_rows, run_cli


def _send(batch: Path, server: str, *more: str) -> int:
    host, port = server.split(":")
    return run_cli("send", batch, "--gateway", "hylafax", "--host", host, "--port", port, *more)


def _spooled_sha256(job_id: str) -> str | None:
    """The SHA-256 of the document HylaFAX holds for a job (None if we may not read it)."""
    try:
        lines = (SPOOL / "sendq" / f"q{job_id}").read_text().splitlines()
        document = next(line.split(":", 3)[3] for line in lines if line.startswith("pdf:"))
        return hashlib.sha256((SPOOL / document).read_bytes()).hexdigest()
    except (OSError, StopIteration):
        return None


def _report(batch: Path) -> dict[str, dict[str, str]]:
    text = (batch / "report.csv").read_bytes().decode("utf-8")
    assert text.startswith("\ufeff")
    return {row["recipient_id"]: row for row in csv.DictReader(text[1:].splitlines())}


def test_plan_without_yes_sends_nothing(
    build: Callable[..., Path], queue: Queue, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = build()
    queue.watch(batch)
    assert _send(batch, queue.server) == 0
    out = capsys.readouterr().out
    pages = sum(fax.pages for fax in load_batch(batch).faxes)
    assert f"2 fax(es), {pages} page(s), to send via hylafax" in out
    assert "+77272715802" in out and "+77172745524" in out
    assert "Run again with --yes" in out
    assert queue.jobs(batch) == []
    assert not (journal_file(batch)).exists()


def test_send_queues_every_ready_fax_once(build: Callable[..., Path], queue: Queue) -> None:
    batch = build()
    queue.watch(batch)
    assert _send(batch, queue.server, "--yes") == 0

    faxes = {fax.key: fax for fax in load_batch(batch).faxes}
    jobs = queue.jobs(batch)
    assert sorted(job.tag for job in jobs) == sorted(faxes)  # one job per ready fax, no other
    for job in jobs:
        fax = faxes[job.tag]
        assert job.number == fax.e164  # canonical: the server's dial rules make the dial string
        assert fax.dial_string != fax.e164  # what people read in the manifest stays as it was
        assert job.state == "queued"
        spooled = _spooled_sha256(job.job_id)
        if spooled is not None:  # the very file of the manifest went to the server
            assert spooled == fax.sha256
    rows = journal_rows(batch)
    assert {row["job_id"] for row in rows} == {job.job_id for job in jobs}
    assert {row["state"] for row in rows} == {"submitted"}
    assert {row["number"] for row in rows} == {"+77272715802", "+77172745524"}

    # a second run queues nothing
    assert _send(batch, queue.server, "--yes") == 0
    assert len(queue.jobs(batch)) == 2
    assert len(journal_rows(batch)) == 2
    # and so does a run after the journal was lost: the jobs are found by their tags
    journal = journal_file(batch)
    journal.unlink()
    for extra in ("-wal", "-shm"):
        journal.with_name(journal.name + extra).unlink(missing_ok=True)
    assert _send(batch, queue.server, "--yes") == 0
    assert len(queue.jobs(batch)) == 2
    assert {row["job_id"] for row in journal_rows(batch)} == {job.job_id for job in jobs}


def test_crash_between_submit_and_journal_sends_no_duplicate(
    build: Callable[..., Path], queue: Queue, tmp_path: Path
) -> None:
    batch = build()
    queue.watch(batch)
    # a sendfax that queues the job for real, then kills faxbatch before it can record the job id
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "sendfax"
    real = subprocess.run(["sh", "-c", "command -v sendfax"], capture_output=True, text=True)
    wrapper.write_text(f'#!/bin/sh\n{real.stdout.strip()} "$@"\nkill -9 $PPID\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}")
    host, port = queue.server.split(":")
    args = ("send", batch, "--gateway", "hylafax", "--host", host, "--port", port, "--yes")

    proc = faxbatch_process(*args, env=env)
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    rows = journal_rows(batch)
    assert [row["state"] for row in rows] == ["intent"]  # queued, but not recorded
    assert len(queue.jobs(batch)) == 1

    proc = faxbatch_process(*args)  # the real sendfax again: continue where it stopped
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    jobs = queue.jobs(batch)
    assert sorted(job.tag for job in jobs) == sorted(fax.key for fax in load_batch(batch).faxes)
    rows = journal_rows(batch)
    assert len(rows) == 2
    assert {row["job_id"] for row in rows} == {job.job_id for job in jobs}
    assert "reconciled court" in out


def test_status_and_report_follow_the_queue(build: Callable[..., Path], queue: Queue) -> None:
    batch = build()
    queue.watch(batch)
    assert _send(batch, queue.server, "--yes") == 0
    assert run_cli("status", batch) == 0
    report = _report(batch)
    jobs = {job.tag: job for job in queue.jobs(batch)}
    faxes = {fax.recipient_id: fax for fax in load_batch(batch).faxes}
    assert set(report) == {"court", "admin", "ministry"}
    for rid in ("court", "admin"):
        job = jobs[faxes[rid].key]
        assert report[rid]["job_id"] == job.job_id
        assert report[rid]["state"] == "queued"
        assert report[rid]["gateway"] == "hylafax"
        assert report[rid]["pages"] == str(faxes[rid].pages)
        assert report[rid]["tries"] == "0"
        assert report[rid]["submitted"].endswith("Z")
    # written as a text formula, as every CSV cell that starts like a formula: text, even in Excel
    assert report["court"]["number"] == f'="{faxes["court"].international}"'

    assert report["ministry"]["state"] == "never sent"

    # the court's job is removed on the server by someone: status says so, and that it failed
    # for good (a job removed by hand is not tried again by itself)
    queue.remove([jobs[faxes["court"].key].job_id])
    assert run_cli("status", batch) == ExitCode.SEND_FAILED
    report = _report(batch)
    assert report["court"]["state"] == "failed"
    assert report["court"]["outcome"] == "failed for good"
    assert report["court"]["failure"] == "permanent"
    assert "aborted" in report["court"]["last_error"].lower()
    assert report["admin"]["state"] == "queued"
    assert report["admin"]["outcome"] == "waiting"
    assert report["admin"]["channel"] == "fax"


def test_resend_sends_one_fax_again_on_purpose(build: Callable[..., Path], queue: Queue) -> None:
    batch = build()
    queue.watch(batch)
    assert _send(batch, queue.server, "--yes") == 0
    court = load_batch(batch).fax("court")
    assert court is not None
    # still waiting in the queue: a resend would queue it twice
    assert _send(batch, queue.server, "--resend", "court", "--yes") == ExitCode.USAGE
    first = next(job for job in queue.jobs(batch) if job.tag == court.key)
    queue.remove([first.job_id])
    assert _send(batch, queue.server, "--resend", "court") == 0  # the plan only
    assert len(queue.jobs(batch)) == 2
    assert _send(batch, queue.server, "--resend", "court", "--yes") == 0
    tags = sorted(job.tag for job in queue.jobs(batch))
    assert job_tag(court.key, 2) in tags
    assert len(tags) == 3
    assert _send(batch, queue.server, "--resend", "ministry", "--yes") == ExitCode.USAGE
    assert _send(batch, queue.server, "--resend", "nobody", "--yes") == ExitCode.USAGE


def test_sending_window_becomes_time_to_send_and_kill_time(
    build: Callable[..., Path], queue: Queue
) -> None:
    batch = build()
    queue.watch(batch)
    manifest = json.loads((batch / "manifest.json").read_text("utf-8"))
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=2, seconds=30)
    end = start + dt.timedelta(hours=2)
    court, admin = manifest["documents"][0], manifest["documents"][1]
    court["window_start_utc"] = start.isoformat().replace("+00:00", "Z")
    court["window_end_utc"] = end.isoformat()
    admin["window_start_utc"] = "2001-01-01T08:00:00Z"  # long closed
    admin["window_end_utc"] = "2001-01-01T18:00:00Z"
    (batch / "manifest.json").write_text(json.dumps(manifest), "utf-8")

    assert _send(batch, queue.server, "--yes") == 0
    jobs = queue.jobs(batch)
    assert len(jobs) == 1  # the closed window is never sent
    assert jobs[0].tag == load_batch(batch).faxes[0].key
    assert jobs[0].time_to_send == int(hylafax.ceil_minute(start).timestamp())
    assert jobs[0].symbol == "P"  # pending: waits for its time


def test_exported_script_queues_with_a_real_client(
    build: Callable[..., Path], queue: Queue
) -> None:
    batch = build()
    queue.watch(batch)
    script = batch / "gateways" / "hylafax.sh"
    shutil.rmtree(batch / "gateways", ignore_errors=True)
    assert _send(batch, queue.server) == 0  # send writes missing exports, even for a plan
    assert script.is_file() and (batch / "gateways" / "jobs.jsonl").is_file()
    assert queue.jobs(batch) == []
    done = subprocess.run(["sh", str(script), queue.server], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert sorted(job.tag for job in queue.jobs(batch)) == sorted(
        fax.key for fax in load_batch(batch).faxes
    )


def test_unreachable_server_is_a_send_error(
    build: Callable[..., Path], capsys: pytest.CaptureFixture[str], hylafax_server: str
) -> None:
    batch = build()
    code = _send(batch, f"127.0.0.1:{free_port()}", "--yes")
    assert code == ExitCode.SEND_FAILED
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert "HylaFAX" in err
    assert not (journal_file(batch)).exists() or journal_rows(batch) == []


def test_missing_batch_is_unreadable_input(tmp_path: Path) -> None:
    assert run_cli("send", tmp_path / "nope", "--gateway", "hylafax") == ExitCode.INPUT_UNREADABLE
    assert run_cli("status", tmp_path) == ExitCode.INPUT_UNREADABLE
