"""Copies to the organizers (``copies_to``), emailed by ``faxbatch send`` to a real SMTP server.

The faxes go by the email gateway (the same aiosmtpd server) or by a real HylaFAX server; each
fax handed over is copied once to every address, never again: not on a second send, not after
``--no-copies`` (the next send catches up), not after the sender is killed while emailing one.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import json
import os
import signal
import sqlite3
import textwrap
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from faxbatch.errors import ExitCode
from faxbatch.sending.batch import load_batch
from faxbatch.sending.send import SendRequest, WatchEvent, watch_batch

from .conftest import (
    Collector,
    Queue,
    Received,
    SmtpServer,
    faxbatch_process,
    journal_file,
    run_cli,
    smtp_on_loopback,
)

DOMAIN = "fax.example.net"
COPIES = """\
copies_to:
  - {name: Campaign office, email: organizers@example.org}
  - {email: press@example.org}
"""
ADDRESSES = ["organizers@example.org", "press@example.org"]


def _email(batch: Path, smtp: SmtpServer, *more: str) -> list[str | Path]:
    return [
        "send", batch, "--gateway", "email", "--host", smtp.host, "--port", str(smtp.port),
        "--no-starttls", "--email-domain", DOMAIN, "--from", "campaign@example.org", *more,
    ]  # fmt: skip


def _copies(smtp: SmtpServer) -> list[Received]:
    return [m for m in smtp.messages if not m.rcpt_tos[0].endswith("@" + DOMAIN)]


def _faxes(smtp: SmtpServer) -> list[Received]:
    return [m for m in smtp.messages if m.rcpt_tos[0].endswith("@" + DOMAIN)]


def _parsed(received: Received) -> EmailMessage:
    msg = email.message_from_bytes(received.data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def _copy_rows(batch: Path) -> list[tuple[str, str, str, int]]:
    db = sqlite3.connect(journal_file(batch))
    try:
        query = "SELECT recipient_id, address, state, attempts FROM copies ORDER BY id"
        return list(db.execute(query))
    finally:
        db.close()


def _pdf(received: Received) -> tuple[str, bytes]:
    parts = [p for p in _parsed(received).walk() if p.get_content_type() == "application/pdf"]
    assert len(parts) == 1
    payload = parts[0].get_payload(decode=True)
    assert isinstance(payload, bytes)
    return str(parts[0].get_filename()), payload


def test_each_fax_is_copied_once_to_every_address(
    build: Callable[..., Path], smtp_server: SmtpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = build(windows=False, extra=COPIES)
    assert run_cli(*_email(batch, smtp_server)) == 0
    out = capsys.readouterr().out
    assert "copies: 4 copy(ies) to email to Campaign office <organizers@example.org>, " in out
    assert smtp_server.messages == []  # the plan only

    assert run_cli(*_email(batch, smtp_server, "--yes")) == 0
    out = capsys.readouterr().out
    assert "4 copy(ies) emailed to copies_to." in out
    faxes = {fax.key: fax for fax in load_batch(batch).faxes}
    assert len(_faxes(smtp_server)) == 2
    copies = _copies(smtp_server)
    assert sorted((_parsed(m)["X-Faxbatch-Copy-Of"], m.rcpt_tos[0]) for m in copies) == [
        ("admin", "organizers@example.org"),
        ("admin", "press@example.org"),
        ("court", "organizers@example.org"),
        ("court", "press@example.org"),
    ]
    reference = json.loads((batch / "manifest.json").read_text("utf-8"))["campaign"]["reference"]
    for received in copies:
        msg = _parsed(received)
        fax = faxes[msg["X-Faxbatch-Key"].strip()]
        assert received.mail_from == "campaign@example.org"
        assert received.rcpt_tos == [a for a in ADDRESSES if a in msg["To"]]  # one, as addressed
        assert fax.recipient_name in msg["Subject"] and reference in msg["Subject"]
        name, pdf = _pdf(received)
        assert name == Path(fax.file).name
        assert hashlib.sha256(pdf).hexdigest() == fax.sha256  # the very fax
        body = msg.get_body(preferencelist=("plain",))
        assert body is not None and fax.e164 in body.get_content()
    assert "Campaign office <organizers@example.org>" in {_parsed(m)["To"] for m in copies}
    assert sorted(r[2] for r in _copy_rows(batch)) == ["sent"] * 4

    assert run_cli(*_email(batch, smtp_server, "--yes")) == 0  # nothing new: no copy again
    assert len(smtp_server.messages) == 6
    assert "copies: none due" in capsys.readouterr().out


def test_no_copies_skips_them_and_the_next_send_catches_up(
    build: Callable[..., Path], smtp_server: SmtpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = build(windows=False, extra=COPIES)
    assert run_cli(*_email(batch, smtp_server, "--yes", "--no-copies")) == 0
    assert "Copies not emailed (--no-copies); 4 due" in capsys.readouterr().out
    assert len(_faxes(smtp_server)) == 2 and _copies(smtp_server) == []
    assert _copy_rows(batch) == []

    assert run_cli(*_email(batch, smtp_server)) == 0  # the plan: the faxes went, 4 copies due
    out = capsys.readouterr().out
    assert "Nothing to send" in out and "copies: 4 copy(ies) to email" in out
    assert run_cli(*_email(batch, smtp_server, "--yes")) == 0
    assert len(_faxes(smtp_server)) == 2  # the faxes are not sent again
    assert len(_copies(smtp_server)) == 4
    assert run_cli(*_email(batch, smtp_server, "--resend", "court", "--yes")) == 0
    assert len(_faxes(smtp_server)) == 3  # the court's fax again, on purpose ...
    assert len(_copies(smtp_server)) == 4  # ... but the same document: no second copy


def test_a_kill_while_emailing_a_copy_never_sends_it_twice(
    build: Callable[..., Path], smtp_server: SmtpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = build(windows=False, extra=COPIES)
    proc = faxbatch_process(*_email(batch, smtp_server, "--yes"))

    def kill_at_first_copy(received: Received) -> None:  # the server has it; the sender dies
        if not received.rcpt_tos[0].endswith("@" + DOMAIN):
            os.kill(proc.pid, signal.SIGKILL)

    smtp_server.handler.on_data = kill_at_first_copy
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    smtp_server.handler.on_data = None
    assert len(_faxes(smtp_server)) == 2 and len(_copies(smtp_server)) == 1
    assert [row[2] for row in _copy_rows(batch)] == ["intent"]

    assert run_cli(*_email(batch, smtp_server, "--yes")) == 0
    out = capsys.readouterr().out
    assert "an earlier run stopped while emailing it" in out
    assert "3 copy(ies) emailed" in out
    copies = _copies(smtp_server)
    pairs = [(_parsed(m)["X-Faxbatch-Copy-Of"], m.rcpt_tos[0]) for m in copies]
    assert len(pairs) == len(set(pairs)) == 4  # each copy once: the uncertain one not again
    assert sorted(row[2] for row in _copy_rows(batch)) == ["sent"] * 3 + ["uncertain"]
    assert len(_faxes(smtp_server)) == 2

    assert run_cli(*_email(batch, smtp_server)) == 0  # the plan names the uncertain copy
    assert "it may have gone; it is not emailed again" in capsys.readouterr().out
    assert run_cli("status", batch) == 0
    assert "Copies to copies_to: 3 sent, 1 uncertain" in capsys.readouterr().out


class _Refusing(Collector):
    """Refuses the press address: 451 (later) or 550 (never)."""

    def __init__(self, code: str) -> None:
        super().__init__()
        self.code = code

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address == "press@example.org" and self.code:
            return f"{self.code} not now" if self.code.startswith("4") else f"{self.code} no"
        return await super().handle_RCPT(server, session, envelope, address, options)


def test_a_refused_copy_is_tried_again_only_when_it_may_pass(
    build: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    batch = build(windows=False, extra=COPIES)
    handler = _Refusing("451")
    with smtp_on_loopback(handler) as smtp:
        assert run_cli(*_email(batch, smtp, "--yes")) == ExitCode.SEND_FAILED
        out = capsys.readouterr().out
        assert "Copies: copy of court to press@example.org: " in out and "(transient)" in out
        assert len(_faxes(smtp)) == 2 and len(_copies(smtp)) == 2  # the organizers' went
        handler.code = ""
        assert run_cli(*_email(batch, smtp, "--yes")) == 0
        assert len(_copies(smtp)) == 4 and len(_faxes(smtp)) == 2
        assert sorted(row[3] for row in _copy_rows(batch)) == [1, 1, 2, 2]

    batch = build("second", windows=False, extra=COPIES)
    with smtp_on_loopback(_Refusing("550")) as smtp:
        assert run_cli(*_email(batch, smtp, "--yes")) == ExitCode.SEND_FAILED
        capsys.readouterr()
        assert run_cli(*_email(batch, smtp, "--yes")) == 0  # not tried again
        assert len(_copies(smtp)) == 2
        assert run_cli(*_email(batch, smtp)) == 0
        assert "copy of court to press@example.org: not emailed: " in capsys.readouterr().out


def test_copies_of_hylafax_faxes_go_through_the_campaigns_smtp_settings(
    build: Callable[..., Path], queue: Queue, smtp_server: SmtpServer
) -> None:
    smtp = f"""\
    gateway:
      email: {{smtp_host: "127.0.0.1:{smtp_server.port}", starttls: false,
              from: campaign@example.org}}
    """
    batch = build(extra=COPIES + textwrap.dedent(smtp))
    queue.watch(batch)
    host, port = queue.server.split(":")
    args = ("send", batch, "--gateway", "hylafax", "--host", host, "--port", port, "--yes")
    assert run_cli(*args) == 0
    assert len(queue.jobs(batch)) == 2
    copies = smtp_server.messages
    assert len(copies) == 4  # 2 faxes queued, each copied to 2 addresses
    for received in copies:
        body = _parsed(received).get_body(preferencelist=("plain",))
        assert body is not None and "Handed to: hylafax" in body.get_content()
    assert run_cli(*args) == 0
    assert len(smtp_server.messages) == 4 and len(queue.jobs(batch)) == 2


def test_copies_without_a_sender_address_stop_before_any_fax(
    build: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = build(windows=False, extra=COPIES)
    args = ("send", batch, "--gateway", "hylafax", "--host", "127.0.0.1", "--port", "9", "--yes")
    assert run_cli(*args) == ExitCode.USAGE  # port 9: no HylaFAX asked, nothing sent
    err = capsys.readouterr().err
    assert "copies_to needs the SMTP settings of gateway.email" in err
    assert "--no-copies" in err
    assert not journal_file(batch).exists()


def test_a_tampered_copy_address_is_refused(
    build: Callable[..., Path], smtp_server: SmtpServer, capsys: pytest.CaptureFixture[str]
) -> None:
    batch = build(windows=False, extra=COPIES)
    manifest = json.loads((batch / "manifest.json").read_text("utf-8"))
    manifest["campaign"]["copies_to"][1]["email"] = "a@example.org, thief@example.com"
    (batch / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    assert run_cli(*_email(batch, smtp_server, "--yes")) == ExitCode.INVALID_CAMPAIGN
    assert "campaign.copies_to[1].email" in capsys.readouterr().err
    assert smtp_server.messages == []


def test_watch_copies_each_fax_as_it_goes(
    build: Callable[..., Path], smtp_server: SmtpServer
) -> None:
    batch = build(windows=False, extra=COPIES)
    manifest = json.loads((batch / "manifest.json").read_text("utf-8"))
    start = dt.datetime.now(dt.UTC).replace(microsecond=0)
    opens = start + dt.timedelta(seconds=30)
    for doc in manifest["documents"]:
        if doc["recipient_id"] == "court":  # the court's window opens in the second round
            doc["window_start_utc"] = opens.strftime("%Y-%m-%dT%H:%M:%SZ")
    (batch / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    now = [start]

    def sleep(seconds: float) -> None:
        now[0] += dt.timedelta(seconds=seconds)

    options = {
        "host": smtp_server.host, "port": smtp_server.port, "domain": DOMAIN,
        "sender": "campaign@example.org", "starttls": False,
    }  # fmt: skip
    events: list[WatchEvent] = []
    result = watch_batch(
        batch,
        SendRequest(gateway="email", overrides=options),
        clock=lambda: now[0],
        sleep=sleep,
        on_event=events.append,
    )
    assert result.exit_code == ExitCode.OK and result.rounds == 2
    order = [
        (_parsed(m)["X-Faxbatch-Copy-Of"] or "fax", m.rcpt_tos[0]) for m in smtp_server.messages
    ]
    assert order == [
        ("fax", f"77172745524@{DOMAIN}"),
        ("admin", "organizers@example.org"),
        ("admin", "press@example.org"),
        ("fax", f"77272715802@{DOMAIN}"),  # in the second round, as its window opened
        ("court", "organizers@example.org"),
        ("court", "press@example.org"),
    ]
    assert sum("copy of court emailed to" in e.text for e in events) == 2
