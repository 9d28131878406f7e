"""Header values with line breaks, and a failure between the journal's intent and the hand-over.

A campaign title with a newline is valid YAML; it used to crash ``send`` after the intent was
recorded, and the fax was then "uncertain" and skipped for ever. Now every header value is made
safe before the intent is recorded, and if anything still fails before the fax reaches the gateway,
the intent becomes ``not_submitted``: the next send sends it, once.
"""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from faxbatch.cli import main
from faxbatch.sending.gateways import emailfax, hylafax
from tests.conftest import BASIC
from tests.hostile.conftest import Sandbox
from tests.sending.conftest import (
    HYLAFAX_SERVER,
    SmtpServer,
    journal_file,
    open_windows,
    smtp_on_loopback,
    unavailable,
)

BROKEN = BASIC.replace(
    "campaign: {title: Free the activists, reference: T-1, date: 2012-05-10}",
    'campaign:\n  title: "Free the\\nactivists\\nX-Injected: yes"\n'
    '  reference: "T-1\\u2028of many"\n  date: 2012-05-10',
)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_on_loopback() as server:
        yield server


def _email(sandbox: Sandbox, smtp: SmtpServer) -> tuple[str | Path, ...]:
    return (
        "send", sandbox.out, "--gateway", "email", "--host", smtp.host, "--port", str(smtp.port),
        "--no-starttls", "--email-domain", "fax.example.net", "--from", "ann@example.org",
        "--yes",
    )  # fmt: skip


def _states(batch: Path) -> list[tuple[str, str]]:
    db = sqlite3.connect(journal_file(batch))
    try:
        return list(db.execute("SELECT recipient_id, state FROM submissions ORDER BY id"))
    finally:
        db.close()


def _build(sandbox: Sandbox, text: str = BROKEN) -> None:
    run = sandbox.run("build", sandbox.campaign(text), "--out", sandbox.out)
    assert run.returncode == 6, run.stderr  # "ministry" has no fax number
    open_windows(sandbox.out)


def test_a_title_with_line_breaks_is_sent_once(sandbox: Sandbox, smtp: SmtpServer) -> None:
    _build(sandbox)
    run = sandbox.run(*_email(sandbox, smtp))
    assert run.returncode == 0, run.stderr
    assert len(smtp.messages) == 2
    for received in smtp.messages:
        message = received.message
        subject = str(message["Subject"])
        assert subject == "T-1 of many: Free the activists X-Injected: yes"
        assert message["X-Injected"] is None  # the line break did not start a header
    assert _states(sandbox.out) == [("court", "submitted"), ("admin", "submitted")]
    run = sandbox.run(*_email(sandbox, smtp))  # not blocked, and nothing twice
    assert run.returncode == 0, run.stderr
    assert len(smtp.messages) == 2


def test_a_title_with_line_breaks_is_queued_on_hylafax(sandbox: Sandbox) -> None:
    try:
        hylafax.check_scheduler(HYLAFAX_SERVER)
    except hylafax.HylafaxUnreachable as exc:
        unavailable(f"no HylaFAX server on {HYLAFAX_SERVER}: {exc.message}")
    _build(sandbox, BROKEN.replace("T-1", f"H-{sandbox.canary[-12:]}"))
    args = ("send", sandbox.out, "--gateway", "hylafax", "--host", HYLAFAX_SERVER, "--yes")
    try:
        run = sandbox.run(*args)
        assert run.returncode == 0, run.stderr
        assert [state for _, state in _states(sandbox.out)] == ["submitted", "submitted"]
        run = sandbox.run(*args)
        assert run.returncode == 0 and "already handed over" in run.stdout, run.stderr
    finally:
        db = sqlite3.connect(journal_file(sandbox.out))
        jobs = [row[0] for row in db.execute("SELECT job_id FROM submissions") if row[0]]
        db.close()
        if jobs:
            subprocess.run(["faxrm", "-h", HYLAFAX_SERVER, *jobs], capture_output=True)
    assert len(jobs) == 2


def test_a_failure_before_the_hand_over_blocks_nothing(
    sandbox: Sandbox, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _build(sandbox)
    real = emailfax.tag_message

    def broken(*args: Any) -> str:  # a fault after the intent, before anything is sent
        raise RuntimeError("fault injected between the intent and the hand-over")

    monkeypatch.setattr(emailfax, "tag_message", broken)
    args = [str(arg) for arg in _email(sandbox, smtp)]
    assert main(args) == 1  # the injected fault is a bug by definition: reported as one
    assert smtp.messages == []
    assert _states(sandbox.out) == [("court", "not_submitted")]  # not left as an intent

    monkeypatch.setattr(emailfax, "tag_message", real)
    assert main(args) == 0
    assert [m.rcpt_tos for m in smtp.messages] == [
        ["77272715802@fax.example.net"],
        ["77172745524@fax.example.net"],
    ]
    states = _states(sandbox.out)
    assert states == [("court", "not_submitted"), ("court", "submitted"), ("admin", "submitted")]
