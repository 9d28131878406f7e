"""Sending over days against the real HylaFAX and SMTP servers: one journal per campaign, jobs
cancelled when they became wrong, retries, failures for good, the deadline."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from faxbatch.errors import ExitCode
from faxbatch.sending.batch import load_batch
from faxbatch.sending.gateways import hylafax
from faxbatch.sending.journal import FAILED, TRANSIENT, Journal, job_tag

from .conftest import (
    Collector,
    Queue,
    SmtpServer,
    journal_file,
    journal_rows,
    run_cli,
    smtp_on_loopback,
)

DOMAIN = "fax.example.net"


def _hylafax(batch: Path, server: str, *more: str) -> int:
    host, port = server.split(":")
    return run_cli("send", batch, "--gateway", "hylafax", "--host", host, "--port", port, *more)


def _email(batch: Path, smtp: SmtpServer, *more: str) -> int:
    return run_cli(
        "send", batch, "--gateway", "email", "--host", smtp.host, "--port", str(smtp.port),
        "--no-starttls", "--email-domain", DOMAIN, "--from", "campaign@example.org", *more,
    )  # fmt: skip


def _report(batch: Path) -> dict[str, dict[str, str]]:
    text = (batch / "report.csv").read_bytes().decode("utf-8-sig")
    return {row["recipient_id"]: row for row in csv.DictReader(text.splitlines())}


def _waiting(queue: Queue, batch: Path) -> dict[str, hylafax.QueueJob]:
    """The batch's jobs in the send queue (faxstat -s), by tag."""
    keys = {fax.key for fax in load_batch(batch).faxes} | {
        row["idempotency_key"] for row in journal_rows(batch)
    }
    return {
        job.tag: job
        for job in hylafax.faxstat(queue.server, "-s")
        if job.tag.split(".")[0] in keys and job.state in ("queued", "sending")
    }


def test_a_queued_job_whose_number_was_found_wrong_is_cancelled(
    build: Callable[..., Path], queue: Queue, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = build()
    queue.watch(batch)
    assert _hylafax(batch, queue.server, "--yes") == 0
    court = load_batch(batch).fax("court")
    assert court is not None and court.key in _waiting(queue, batch)
    capsys.readouterr()

    # a volunteer calls the court's number after the faxes were queued: a private flat now
    sheet = batch.parent / "verification.csv"
    sheet.write_text("number,result,date,by,note\n+7 727 271 58 02,wrong,2012-05-09,Boris,a flat\n")
    assert _hylafax(batch, queue.server) == 0  # the plan: what would be cancelled, and why
    out = capsys.readouterr().out
    assert "to cancel" in out and "found wrong by Boris on 2012-05-09" in out
    assert court.key in _waiting(queue, batch)  # nothing removed without --yes

    assert _hylafax(batch, queue.server, "--yes") == 0
    out = capsys.readouterr().out
    assert court.key not in _waiting(queue, batch)  # gone from faxstat -s
    assert len(_waiting(queue, batch)) == 1  # the admin's job stays
    rows = {row["recipient_id"]: row for row in journal_rows(batch)}
    assert rows["court"]["state"] == "cancelled"
    assert "found wrong by Boris" in rows["court"]["last_error"]
    assert "refused court" in out  # and it is not queued again
    assert _hylafax(batch, queue.server, "--yes") == 0
    assert len(journal_rows(batch)) == 2  # nothing new: the court's fax stays refused


def test_a_changed_document_is_cancelled_and_queued_anew(
    build: Callable[..., Path], queue: Queue, tmp_path: Path
) -> None:
    batch = build()
    queue.watch(batch)
    assert _hylafax(batch, queue.server, "--yes") == 0
    before = {fax.recipient_id: fax for fax in load_batch(batch).faxes}
    campaign = tmp_path / "batch.yaml"
    text = campaign.read_text("utf-8").replace("We protest", "We protest, again,")
    campaign.write_text(text, "utf-8")
    assert run_cli("build", campaign, "--out", batch) == 6
    queue.watch(batch)
    after = {fax.recipient_id: fax for fax in load_batch(batch).faxes}
    assert after["court"].key != before["court"].key  # the letter was corrected

    assert _hylafax(batch, queue.server, "--yes") == 0
    waiting = _waiting(queue, batch)
    assert set(waiting) == {after["court"].key, after["admin"].key}  # only the new versions
    states = [
        (row["recipient_id"], row["state"], row["idempotency_key"]) for row in journal_rows(batch)
    ]
    assert ("court", "cancelled", before["court"].key) in states
    assert ("admin", "cancelled", before["admin"].key) in states
    cancelled = [row for row in journal_rows(batch) if row["state"] == "cancelled"]
    assert all("document changed" in row["last_error"] for row in cancelled)


def test_two_folders_and_two_gateways_hand_each_fax_over_once(
    build: Callable[..., Path], queue: Queue, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    first = build(windows=False)
    queue.watch(first)
    second = tmp_path / "second"  # the same campaign, built again into another folder
    assert run_cli("build", tmp_path / "batch.yaml", "--out", second) == 6
    assert journal_file(first) == journal_file(second) == tmp_path / "batch.journal.sqlite"

    assert _hylafax(first, queue.server, "--yes") == 0
    assert len(_waiting(queue, first)) == 2
    assert _email(second, smtp_server, "--yes") == 0  # already handed over, from the first
    assert smtp_server.messages == []
    assert _hylafax(second, queue.server, "--yes") == 0
    assert len(_waiting(queue, first)) == 2
    assert len(journal_rows(first)) == 2
    assert {row["batch"] for row in journal_rows(first)} == {str(first)}


def test_an_old_folder_journal_is_merged_and_nothing_goes_twice(
    build: Callable[..., Path], smtp_server: SmtpServer, tmp_path: Path
) -> None:
    batch = build(windows=False)
    assert _email(batch, smtp_server, "--yes") == 0
    assert len(smtp_server.messages) == 2
    # as an older faxbatch kept it: the journal in the batch folder
    journal = journal_file(batch)
    journal.rename(batch / "journal.sqlite")
    db = sqlite3.connect(batch / "journal.sqlite")
    db.execute("PRAGMA user_version=1")
    db.commit()
    db.close()
    assert _email(batch, smtp_server, "--yes") == 0
    assert len(smtp_server.messages) == 2  # merged before anything was planned
    assert (batch / "journal.merged.sqlite").is_file()
    assert len(journal_rows(batch)) == 2


def test_a_failure_that_can_pass_is_tried_again_up_to_max_attempts(
    build: Callable[..., Path], queue: Queue, tmp_path: Path
) -> None:
    campaign = tmp_path / "batch.yaml"
    batch = build()
    text = campaign.read_text("utf-8") + "gateway: {max_attempts: 2}\n"
    campaign.write_text(text, "utf-8")
    assert run_cli("build", campaign, "--out", batch) == 6
    queue.watch(batch)
    assert _hylafax(batch, queue.server, "--yes") == 0
    court = load_batch(batch).fax("court")
    assert court is not None

    def busy() -> None:  # as HylaFAX reports a job that ran out of tries on a busy line
        job = _waiting(queue, batch).get(job_tag(court.key, len(_court_rows())))
        assert job is not None
        queue.remove([job.job_id])
        with Journal(journal_file(batch)) as journal:
            latest = journal.latest()[court.key]
            journal.update(latest, FAILED, now=dt.datetime.now(dt.UTC),
                           last_error="Busy signal detected", failure=TRANSIENT)  # fmt: skip

    def _court_rows() -> list[sqlite3.Row]:
        return [row for row in journal_rows(batch) if row["recipient_id"] == "court"]

    busy()
    assert _hylafax(batch, queue.server, "--yes") == 0  # the next send tries again
    assert job_tag(court.key, 2) in _waiting(queue, batch)
    assert [row["attempt"] for row in _court_rows()] == [1, 2]
    busy()
    assert _hylafax(batch, queue.server, "--yes") == 0  # two attempts made: no third
    assert [row["attempt"] for row in _court_rows()] == [1, 2]
    assert run_cli("status", batch) == ExitCode.SEND_FAILED
    report = _report(batch)
    assert report["court"]["outcome"] == "failed for good"
    assert report["court"]["failure"] == "transient"
    assert _hylafax(batch, queue.server, "--resend", "court", "--resend", "admin") == ExitCode.USAGE
    assert _hylafax(batch, queue.server, "--resend", "all-failed", "--yes") == 0
    assert job_tag(court.key, 3) in _waiting(queue, batch)


class Replies(Collector):
    """An aiosmtpd handler that answers DATA with the codes it is given, then 250."""

    def __init__(self, *replies: str) -> None:
        super().__init__()
        self.replies = list(replies)

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        if self.replies:
            return self.replies.pop(0)
        return await super().handle_DATA(server, session, envelope)


def test_smtp_451_then_250_goes_on_the_next_send(build: Callable[..., Path]) -> None:
    batch = build(windows=False)
    with smtp_on_loopback(Replies("451 4.3.0 try again later")) as smtp:
        assert _email(batch, smtp, "--yes") == ExitCode.SEND_FAILED
        assert [m.rcpt_tos for m in smtp.messages] == [[f"77172745524@{DOMAIN}"]]  # admin went
        court = [row for row in journal_rows(batch) if row["recipient_id"] == "court"]
        assert [(r["state"], r["failure"]) for r in court] == [("failed", "transient")]
        assert "451" in court[0]["last_error"]
        assert _email(batch, smtp, "--yes") == 0  # tried again: taken this time
        assert [m.rcpt_tos for m in smtp.messages][-1] == [f"77272715802@{DOMAIN}"]
        assert len(smtp.messages) == 2
        assert _email(batch, smtp, "--yes") == 0
        assert len(smtp.messages) == 2
    assert run_cli("status", batch) == 0


def test_smtp_550_fails_for_good(
    build: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    batch = build(windows=False)
    with smtp_on_loopback(Replies("550 5.1.1 no such fax number")) as smtp:
        assert _email(batch, smtp, "--yes") == ExitCode.SEND_FAILED
        assert _email(batch, smtp, "--yes") == 0  # not retried: nothing to do
        assert len(smtp.messages) == 1  # only the admin's
        capsys.readouterr()
        assert run_cli("status", batch) == ExitCode.SEND_FAILED
        out = capsys.readouterr().out
        assert "court: failed for good" in out and "550" in out
        court = _report(batch)["court"]
        assert court["outcome"] == "failed for good" and court["failure"] == "permanent"
        assert _email(batch, smtp, "--resend", "court", "--yes") == 0  # on purpose, it goes
        assert len(smtp.messages) == 2


def test_nothing_is_handed_over_after_the_deadline(
    build: Callable[..., Path], smtp_server: SmtpServer, tmp_path: Path
) -> None:
    campaign = tmp_path / "batch.yaml"
    batch = build(windows=False)
    text = campaign.read_text("utf-8").replace(
        "date: 2012-05-10}", "date: 2012-05-10, deadline: 2012-05-14T18:00:00+06:00}"
    )
    campaign.write_text(text, "utf-8")
    assert run_cli("build", campaign, "--out", batch) == 6
    manifest = json.loads((batch / "manifest.json").read_text("utf-8"))
    assert manifest["campaign"]["deadline"] == "2012-05-14T18:00:00+06:00"
    assert _email(batch, smtp_server, "--yes") == 0
    assert smtp_server.messages == []
    assert not journal_file(batch).exists() or journal_rows(batch) == []
