"""The send journal and reconciliation of interrupted hand-overs; no servers."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from faxbatch.cli import main
from faxbatch.errors import ExitCode, SendError
from faxbatch.sending.gateways.hylafax import QueueJob
from faxbatch.sending.journal import INTENT, NOT_SUBMITTED, UNCERTAIN, Journal, Submission, job_tag
from faxbatch.sending.reconcile import reconcile

NOW = dt.datetime(2012, 5, 14, 3, 0, tzinfo=dt.UTC)


def _intent(journal: Journal, key: str = "k" * 64, gateway: str = "hylafax") -> Submission:
    return journal.record_intent(
        recipient_id="court",
        key=key,
        gateway=gateway,
        server="127.0.0.1:4559",
        destination="011 7 7272 71 58 02",
        number="+77272715802",
        file="faxes/court.pdf",
        sha256="0" * 64,
        pages=2,
        now=NOW,
    )


def _job(tag: str, job_id: str = "12", symbol: str = "W") -> QueueJob:
    return QueueJob(job_id, tag, symbol, "+77272715802", 0, 3, 0, 12, 0, 2, 0, "root", "")


def test_intent_is_on_disk_before_anything_else(build: Callable[..., Path]) -> None:
    batch = build()
    with Journal(batch) as journal:
        sub = _intent(journal)
        # another connection (another process) sees the intent at once: it is committed
        db = sqlite3.connect(batch / "journal.sqlite")
        assert db.execute("SELECT state, job_tag FROM submissions").fetchall() == [
            (INTENT, "k" * 64)
        ]
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        db.close()
        done = journal.update(sub, "submitted", now=NOW, job_id="12", submitted=True)
        assert done.job_id == "12" and done.submitted_at == "2012-05-14T03:00:00Z"
        again = _intent(journal)
        assert again.attempt == 2 and again.job_tag == job_tag("k" * 64, 2) == "k" * 64 + ".2"
    with Journal(batch, create=False) as journal:
        assert journal.latest()["k" * 64].attempt == 2
        assert [row.state for row in journal.all()] == ["submitted", INTENT]


def test_no_journal_is_written_by_reading(build: Callable[..., Path]) -> None:
    batch = build()
    with Journal(batch, create=False) as journal:
        assert journal.latest() == {}
    assert not (batch / "journal.sqlite").exists()


def test_two_runs_on_one_batch_do_not_interleave(build: Callable[..., Path]) -> None:
    batch = build()
    with Journal(batch), pytest.raises(SendError, match="another faxbatch"), Journal(batch):
        pass


def test_no_build_replaces_a_batch_while_it_is_being_sent(build: Callable[..., Path]) -> None:
    batch = build()
    campaign = batch.parent / "batch.yaml"
    with Journal(batch):
        assert main(["build", str(campaign), "--out", str(batch)]) == ExitCode.OUTPUT_NOT_WRITABLE
    assert main(["build", str(campaign), "--out", str(batch)]) == ExitCode.REJECTED_RECIPIENTS


def test_reconcile_decides_each_intent(build: Callable[..., Path]) -> None:
    batch = build()
    with Journal(batch) as journal:
        found = _intent(journal, key="a" * 64)
        lost = _intent(journal, key="b" * 64)
        mailed = _intent(journal, key="c" * 64, gateway="email")
    on_server = {"a" * 64: _job("a" * 64, "31")}
    found_on = {"127.0.0.1:4559": on_server}
    decided = {
        r.submission.idempotency_key: r for r in reconcile([found, lost, mailed], found_on, NOW)
    }
    assert decided["a" * 64].state == "queued" and decided["a" * 64].job is not None
    assert decided["a" * 64].job.job_id == "31"
    assert decided["b" * 64].state == NOT_SUBMITTED  # never queued: the next run sends it
    assert decided["c" * 64].state == UNCERTAIN  # email cannot be asked
    # a server that cannot be asked decides nothing: the intent stays
    assert reconcile([found], {"127.0.0.1:4559": None}, NOW) == []
    # an old intent without a job: the job may have finished and been cleaned away
    later = NOW + dt.timedelta(hours=1)
    assert [r.state for r in reconcile([lost], found_on, later)] == [UNCERTAIN]
