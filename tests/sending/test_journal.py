"""The send journal and reconciliation of interrupted hand-overs; no servers."""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from faxbatch.cli import main
from faxbatch.errors import ExitCode, InputUnreadableError, SendError
from faxbatch.sending.batch import load_batch
from faxbatch.sending.gateways.hylafax import QueueJob
from faxbatch.sending.journal import (
    INTENT,
    MERGED_NAME,
    NOT_SUBMITTED,
    UNCERTAIN,
    Journal,
    Submission,
    job_tag,
    locate_journal,
)
from faxbatch.sending.recheck import sheet_of
from faxbatch.sending.reconcile import reconcile

from .conftest import journal_file

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
    path = journal_file(batch)
    assert path == batch.parent / "batch.journal.sqlite"  # beside the campaign file batch.yaml
    with Journal(path, batch=batch) as journal:
        sub = _intent(journal)
        # another connection (another process) sees the intent at once: it is committed
        db = sqlite3.connect(path)
        assert db.execute("SELECT state, job_tag FROM submissions").fetchall() == [
            (INTENT, "k" * 64)
        ]
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        db.close()
        done = journal.update(sub, "submitted", now=NOW, job_id="12", submitted=True)
        assert done.job_id == "12" and done.submitted_at == "2012-05-14T03:00:00Z"
        again = _intent(journal)
        assert again.attempt == 2 and again.job_tag == job_tag("k" * 64, 2) == "k" * 64 + ".2"
    with Journal(path, batch=batch, create=False) as journal:
        assert journal.latest()["k" * 64].attempt == 2
        assert [row.state for row in journal.all()] == ["submitted", INTENT]


def test_no_journal_is_written_by_reading(build: Callable[..., Path]) -> None:
    batch = build()
    with Journal(journal_file(batch), batch=batch, create=False) as journal:
        assert journal.latest() == {}
    assert not journal_file(batch).exists()


def test_two_runs_on_one_campaign_do_not_interleave(
    build: Callable[..., Path], tmp_path: Path
) -> None:
    batch = build()
    other = tmp_path / "other"  # a second batch folder of the same campaign
    assert main(["build", str(tmp_path / "batch.yaml"), "--out", str(other)]) == 6
    path = journal_file(batch)
    assert journal_file(other) == path
    busy = pytest.raises(SendError, match="another faxbatch send")
    with Journal(path, batch=batch), busy, Journal(path, batch=other):
        pass
    # the folder's own lock too
    busy = pytest.raises(SendError, match="another faxbatch run")
    with Journal(path, batch=batch), busy, Journal(path.with_name("x.sqlite"), batch=batch):
        pass


def test_no_build_replaces_a_batch_while_it_is_being_sent(build: Callable[..., Path]) -> None:
    batch = build()
    campaign = batch.parent / "batch.yaml"
    with Journal(journal_file(batch), batch=batch):
        assert main(["build", str(campaign), "--out", str(batch)]) == ExitCode.OUTPUT_NOT_WRITABLE
    assert main(["build", str(campaign), "--out", str(batch)]) == ExitCode.REJECTED_RECIPIENTS


def test_reconcile_decides_each_intent(build: Callable[..., Path]) -> None:
    batch = build()
    with Journal(journal_file(batch), batch=batch) as journal:
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


_V1_SCHEMA = """
CREATE TABLE submissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, recipient_id TEXT NOT NULL,
    idempotency_key TEXT NOT NULL, attempt INTEGER NOT NULL, gateway TEXT NOT NULL,
    server TEXT NOT NULL, job_tag TEXT NOT NULL UNIQUE, destination TEXT NOT NULL,
    number TEXT NOT NULL, file TEXT NOT NULL, sha256 TEXT NOT NULL, pages INTEGER NOT NULL,
    state TEXT NOT NULL, job_id TEXT, intent_at TEXT NOT NULL, submitted_at TEXT,
    updated_at TEXT NOT NULL, tries INTEGER, dials INTEGER, pages_sent INTEGER,
    last_error TEXT, UNIQUE (idempotency_key, attempt))
"""


def _old_journal(folder: Path, key: str, state: str = "submitted") -> None:
    """A journal as faxbatch kept it in a batch folder before (schema version 1)."""
    db = sqlite3.connect(folder / "journal.sqlite")
    db.execute(_V1_SCHEMA)
    db.execute(
        "INSERT INTO submissions (recipient_id, idempotency_key, attempt, gateway, server, "
        "job_tag, destination, number, file, sha256, pages, state, job_id, intent_at, "
        "submitted_at, updated_at) VALUES ('court', ?, 1, 'hylafax', '127.0.0.1:4559', ?, "
        "'011 7 7272 71 58 02', '+77272715802', 'faxes/court.pdf', ?, 2, ?, '17', "
        "'2012-05-14T03:00:00Z', '2012-05-14T03:00:01Z', '2012-05-14T03:00:01Z')",
        (key, key, "0" * 64, state),
    )
    db.execute("PRAGMA user_version=1")
    db.commit()
    db.close()


def test_an_old_batch_folder_journal_is_merged_once(
    build: Callable[..., Path], tmp_path: Path
) -> None:
    batch = build()
    other = tmp_path / "other"
    assert main(["build", str(tmp_path / "batch.yaml"), "--out", str(other)]) == 6
    _old_journal(batch, "a" * 64)
    _old_journal(other, "a" * 64)  # the same attempt, recorded in both folders: taken once
    path = journal_file(batch)
    with Journal(path, batch=batch) as journal:
        assert journal.merged == 1
        assert [(r.recipient_id, r.state, r.job_id) for r in journal.all()] == [
            ("court", "submitted", "17")
        ]
        assert journal.all()[0].batch == str(batch)
    assert not (batch / "journal.sqlite").exists()
    assert (batch / MERGED_NAME).is_file()  # kept for people, under a name no run reads
    with Journal(path, batch=other) as journal:
        assert journal.merged == 0 and len(journal.all()) == 1
    with Journal(path, batch=batch) as journal:  # nothing is merged twice
        assert len(journal.all()) == 1


def test_a_journal_outside_the_campaign_folder_is_refused(
    build: Callable[..., Path], tmp_path: Path
) -> None:
    batch = build()
    campaign = {"campaign_file": str(tmp_path / "batch.yaml")}
    inside = locate_journal({**campaign, "journal": str(tmp_path / "x.journal.sqlite")}, "m", batch)
    assert inside == tmp_path / "x.journal.sqlite"
    # as a build writes them: relative to the batch folder
    relative = {
        "campaign_file": os.path.relpath(tmp_path / "batch.yaml", batch),
        "journal": os.path.relpath(tmp_path / "x.journal.sqlite", batch),
    }
    assert locate_journal(relative, "m", batch).resolve() == (tmp_path / "x.journal.sqlite")
    escaping = os.path.relpath(tmp_path.parent / "r.sqlite", batch)
    for journal in ("/tmp/elsewhere.sqlite", str(tmp_path.parent / "j.sqlite"), escaping):
        with pytest.raises(InputUnreadableError):
            locate_journal({**campaign, "journal": journal}, "m", batch)
    with pytest.raises(InputUnreadableError, match=r"not a \.sqlite"):
        locate_journal({**campaign, "journal": str(tmp_path / "journal.txt")}, "m", batch)
    (tmp_path / "out").symlink_to("/tmp")
    with pytest.raises(InputUnreadableError, match="outside the campaign"):
        locate_journal({**campaign, "journal": str(tmp_path / "out" / "j.sqlite")}, "m", batch)
    with pytest.raises(InputUnreadableError, match="older faxbatch"):
        locate_journal({}, "m", batch)
    # gateway.journal names a file inside the campaign's folder; a path out is a campaign error
    text = (tmp_path / "batch.yaml").read_text("utf-8")
    (tmp_path / "batch.yaml").write_text(text + "gateway: {journal: ../out.sqlite}\n", "utf-8")
    assert main(["build", str(tmp_path / "batch.yaml"), "--out", str(batch)]) == 3
    text += "gateway: {journal: records/kz.sqlite, max_attempts: 5}\n"
    (tmp_path / "batch.yaml").write_text(text, "utf-8")
    assert main(["build", str(tmp_path / "batch.yaml"), "--out", str(batch)]) == 6
    assert journal_file(batch) == tmp_path / "records" / "kz.sqlite"


def test_the_sheet_is_read_only_beside_a_real_campaign_file(
    build: Callable[..., Path], tmp_path: Path
) -> None:
    batch = build(windows=False)
    (tmp_path / "verification.csv").write_text("not,a,sheet\n", "utf-8")
    loaded = load_batch(batch)
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "folder.yaml").mkdir(parents=True)
    (elsewhere / "verification.csv").write_text("number,result\n", "utf-8")
    for named in (str(elsewhere / "folder.yaml"), str(elsewhere / "missing.yaml"), "a\x00b"):
        loaded.campaign["campaign_file"] = named
        with pytest.raises(InputUnreadableError, match="campaign"):
            sheet_of(loaded)
    loaded.campaign["campaign_file"] = None  # an older build: no sheet to read again
    assert sheet_of(loaded).latest("+77272715802") is None


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_status_of_a_batch_never_sent_needs_no_lock_in_the_campaign_folder(
    build: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = build(windows=False)  # tmp_path/batch.yaml, built into tmp_path/batch
    records = tmp_path / "records"  # the campaign's journal lives in a folder we may only read
    records.mkdir()
    text = (tmp_path / "batch.yaml").read_text("utf-8")
    (tmp_path / "batch.yaml").write_text(text + "gateway: {journal: records/kz.sqlite}\n", "utf-8")
    assert main(["build", str(tmp_path / "batch.yaml"), "--out", str(batch)]) == 6
    records.chmod(0o555)
    try:
        assert main(["status", str(batch)]) == 0
        assert "3 fax(es): 2 not sent, 1 never sent" in capsys.readouterr().out
        assert main(["send", str(batch), "--gateway", "hylafax", "--port", "9"]) == 0  # the plan
        args = ["send", str(batch), "--gateway", "hylafax", "--port", "9", "--yes"]
        assert main(args) == 5  # sending must write the journal: it says so
        assert "cannot create the lock file" in capsys.readouterr().err
    finally:
        records.chmod(0o755)
