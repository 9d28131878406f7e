"""Symbolic links planted in (or beside) a batch folder where send and status write.

``journal.sqlite`` (and its ``-wal``, ``-shm``), ``report.csv`` and the lock file beside DIR are
never followed: the command refuses with a clear error and exits 4 (the journal: the batch is not
as faxbatch made it) or 5 (the report, the lock: nothing can be written there), and the link's
target (the canary beside the campaign folder) is untouched, nothing appears beside it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostile.conftest import Sandbox
from tests.sending.conftest import SmtpServer, open_windows, smtp_on_loopback


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_on_loopback() as server:
        yield server


def _email(sandbox: Sandbox, smtp: SmtpServer, *more: str) -> tuple[str | Path, ...]:
    return (
        "send", sandbox.out, "--gateway", "email", "--host", smtp.host, "--port", str(smtp.port),
        "--no-starttls", "--email-domain", "fax.example.net", "--from", "ann@example.org", *more,
    )  # fmt: skip


def _plant(link: Path, target: Path) -> None:
    if link.exists() or link.is_symlink():
        link.unlink()
    link.symlink_to(target)


@pytest.mark.parametrize("name", ["journal.sqlite", "journal.sqlite-wal", "journal.sqlite-shm"])
def test_a_journal_link_is_never_followed(sandbox: Sandbox, smtp: SmtpServer, name: str) -> None:
    sandbox.build_good()
    open_windows(sandbox.out)
    if name != "journal.sqlite":  # a real journal first, then a link beside it
        assert sandbox.run(*_email(sandbox, smtp, "--yes")).returncode == 0
    sent = len(smtp.messages)
    secret = sandbox.secret.read_bytes()
    _plant(sandbox.out / name, sandbox.secret)
    for args in (_email(sandbox, smtp, "--yes"), _email(sandbox, smtp), ("status", sandbox.out)):
        run = sandbox.run(*args)
        assert run.returncode == 4, run.stderr
        assert f"{name} is a symbolic link" in run.stderr
    assert len(smtp.messages) == sent
    assert sandbox.secret.read_bytes() == secret
    assert (sandbox.out / name).is_symlink()


def test_a_journal_that_is_not_a_file_is_refused_without_hanging(sandbox: Sandbox) -> None:
    sandbox.build_good()
    os.mkfifo(sandbox.out / "journal.sqlite")
    run = sandbox.run("status", sandbox.out, timeout=30)
    assert run.returncode == 4 and "not a regular file" in run.stderr, run.stderr


def test_a_report_link_is_never_written_through(sandbox: Sandbox) -> None:
    sandbox.build_good()
    secret = sandbox.secret.read_bytes()
    _plant(sandbox.out / "report.csv", sandbox.secret)
    run = sandbox.run("status", sandbox.out)
    assert run.returncode == 5, run.stderr
    assert "report.csv is a symbolic link" in run.stderr
    assert sandbox.secret.read_bytes() == secret
    assert (sandbox.out / "report.csv").is_symlink()


def test_a_lock_link_beside_the_batch_is_never_followed(sandbox: Sandbox, smtp: SmtpServer) -> None:
    sandbox.build_good()
    open_windows(sandbox.out)
    secret = sandbox.secret.read_bytes()
    _plant(sandbox.campaign_dir / ".out.lock", sandbox.secret)
    for args in (_email(sandbox, smtp, "--yes"), ("status", sandbox.out)):
        run = sandbox.run(*args)
        assert run.returncode == 5, run.stderr
        assert ".out.lock is a symbolic link" in run.stderr
    assert smtp.messages == []
    assert sandbox.secret.read_bytes() == secret
