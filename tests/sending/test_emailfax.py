"""`faxbatch send --gateway email` against a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import signal
import sqlite3
import ssl
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from faxbatch.errors import ExitCode
from faxbatch.sending.batch import load_batch

from .conftest import (
    Collector,
    SmtpServer,
    faxbatch_process,
    free_port,
    journal_file,
    run_cli,
    unavailable,
)

DOMAIN = "fax.example.net"


def _email_args(batch: Path, smtp: SmtpServer, *more: str) -> list[str | Path]:
    return [
        "send", batch, "--gateway", "email", "--host", smtp.host, "--port", str(smtp.port),
        "--no-starttls", "--email-domain", DOMAIN, "--from", "campaign@example.org", *more,
    ]  # fmt: skip


def _attachment(received: Any) -> tuple[str, bytes]:
    parts = [
        part for part in received.message.walk() if part.get_content_type() == "application/pdf"
    ]
    assert len(parts) == 1
    payload = parts[0].get_payload(decode=True)
    assert isinstance(payload, bytes)
    return str(parts[0].get_filename()), payload


def _states(batch: Path) -> list[tuple[str, str]]:
    db = sqlite3.connect(journal_file(batch))
    try:
        return list(db.execute("SELECT recipient_id, state FROM submissions ORDER BY id"))
    finally:
        db.close()


def test_each_fax_is_one_message_with_its_pdf(
    build: Callable[..., Path], smtp_server: SmtpServer
) -> None:
    batch = build(windows=False)
    assert run_cli(*_email_args(batch, smtp_server)) == 0
    assert smtp_server.messages == []  # the plan only
    assert not (journal_file(batch)).exists()

    assert run_cli(*_email_args(batch, smtp_server, "--yes")) == 0
    faxes = load_batch(batch).faxes
    assert len(smtp_server.messages) == len(faxes) == 2
    for fax, received in zip(faxes, smtp_server.messages, strict=True):
        assert received.rcpt_tos == [f"{fax.e164.lstrip('+')}@{DOMAIN}"]
        assert received.message["To"] == f"{fax.digits}@{DOMAIN}"
        assert received.mail_from == "campaign@example.org"
        assert fax.key in received.message["Message-ID"]
        name, pdf = _attachment(received)
        assert name == Path(fax.file).name
        assert hashlib.sha256(pdf).hexdigest() == fax.sha256
        assert len(PdfReader(io.BytesIO(pdf)).pages) == fax.pages  # it opens, and is all there
    assert _states(batch) == [("court", "submitted"), ("admin", "submitted")]

    assert run_cli(*_email_args(batch, smtp_server, "--yes")) == 0  # nothing twice
    assert len(smtp_server.messages) == 2


def test_kill_during_handover_leaves_it_uncertain_not_sent_twice(
    build: Callable[..., Path], smtp_server: SmtpServer
) -> None:
    batch = build(windows=False)
    args = _email_args(batch, smtp_server, "--yes")
    proc = faxbatch_process(*args)

    def kill_sender(_: Any) -> None:  # the server has the message; the sender never hears so
        if len(smtp_server.messages) == 1:
            os.kill(proc.pid, signal.SIGKILL)

    smtp_server.handler.on_data = kill_sender
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert _states(batch) == [("court", "intent")]
    smtp_server.handler.on_data = None

    proc = faxbatch_process(*args)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "reconciled court: uncertain" in out
    assert [m.rcpt_tos for m in smtp_server.messages] == [
        [f"77272715802@{DOMAIN}"],
        [f"77172745524@{DOMAIN}"],
    ]  # the court's fax went once, the admin's once
    assert _states(batch) == [("court", "uncertain"), ("admin", "submitted")]

    assert run_cli(*_email_args(batch, smtp_server, "--yes")) == 0
    assert len(smtp_server.messages) == 2  # uncertain is not sent again by itself
    assert run_cli(*_email_args(batch, smtp_server, "--resend", "court", "--yes")) == 0
    assert len(smtp_server.messages) == 3
    assert smtp_server.messages[2].rcpt_tos == [f"77272715802@{DOMAIN}"]
    ids = [m.message["Message-ID"] for m in smtp_server.messages]
    assert len(set(ids)) == 3  # the resend is a message of its own


def test_a_session_broken_before_the_data_is_sent_next_time(
    build: Callable[..., Path], smtp_server: SmtpServer
) -> None:
    batch = build(windows=False)
    smtp_server.handler.drop_at_rcpt = 1  # the court's message: the server hangs up at RCPT
    assert run_cli(*_email_args(batch, smtp_server, "--yes")) == ExitCode.SEND_FAILED
    assert smtp_server.messages == []
    assert _states(batch) == [("court", "not_submitted")]  # provably not sent: not uncertain
    assert run_cli(*_email_args(batch, smtp_server, "--yes")) == 0
    assert [m.rcpt_tos for m in smtp_server.messages] == [
        [f"77272715802@{DOMAIN}"],
        [f"77172745524@{DOMAIN}"],
    ]
    assert _states(batch) == [
        ("court", "not_submitted"),
        ("court", "submitted"),
        ("admin", "submitted"),
    ]


def test_status_reports_email_submissions(
    build: Callable[..., Path], smtp_server: SmtpServer
) -> None:
    batch = build(windows=False)
    assert run_cli(*_email_args(batch, smtp_server, "--yes")) == 0
    assert run_cli("status", batch) == 0
    text = (batch / "report.csv").read_bytes().decode("utf-8-sig")
    assert "court" in text and f"77272715802@{DOMAIN}" in text and "submitted" in text


def test_unreachable_smtp_server_is_a_send_error(
    build: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    batch = build(windows=False)
    args = [
        "send", batch, "--gateway", "email", "--host", "127.0.0.1", "--port", str(free_port()),
        "--no-starttls", "--email-domain", DOMAIN, "--from", "a@example.org", "--yes",
    ]  # fmt: skip
    assert run_cli(*args) == ExitCode.SEND_FAILED
    err = capsys.readouterr().err
    assert "cannot connect to the SMTP server" in err and "Traceback" not in err


def test_password_only_from_the_environment(
    build: Callable[..., Path],
    smtp_server: SmtpServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    batch = build(windows=False)
    settings = tmp_path / "gateway.yaml"
    settings.write_text(
        f"gateway:\n  email: {{domain: {DOMAIN}, user: ann, password: secret}}\n", "utf-8"
    )
    args = ["send", batch, "--gateway", "email", "--campaign", settings, "--yes"]
    assert run_cli(*args) == ExitCode.INVALID_CAMPAIGN
    settings.write_text(f"gateway:\n  email: {{domain: {DOMAIN}, user: ann}}\n", "utf-8")
    monkeypatch.delenv("FAXBATCH_SMTP_PASSWORD", raising=False)
    assert run_cli(*args) == ExitCode.USAGE
    assert smtp_server.messages == []


# -- STARTTLS and login -----------------------------------------------------------------------
@pytest.fixture
def tls_smtp_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    """An SMTP server that requires STARTTLS and a login, with a certificate we trust."""
    if shutil.which("openssl") is None:
        unavailable("openssl is not installed (needed to make a test certificate)")
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", key, "-out", cert, "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the client trusts exactly this certificate

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, auth: Any) -> Any:
        ok = isinstance(auth, LoginPassword) and (auth.login, auth.password) == (b"ann", b"s3cret")
        return AuthResult(success=ok, handled=False, auth_data=auth)  # aiosmtpd answers 535

    handler = Collector()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=authenticator,
        auth_require_tls=True,
    )
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, handler)
    finally:
        controller.stop()


# aiosmtpd itself sets its deprecated Session.login_data after a login
@pytest.mark.filterwarnings("ignore:Session.login_data is deprecated:DeprecationWarning")
def test_starttls_and_login_with_password_from_environment(
    build: Callable[..., Path], tls_smtp_server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = build(windows=False)
    smtp = tls_smtp_server
    args = [
        "send", batch, "--gateway", "email", "--host", smtp.host, "--port", str(smtp.port),
        "--starttls", "--smtp-user", "ann", "--email-domain", DOMAIN, "--yes",
    ]  # fmt: skip
    monkeypatch.setenv("FAXBATCH_SMTP_PASSWORD", "s3cret")
    assert run_cli(*args) == ExitCode.USAGE  # "ann" is a login, not an address to send from
    args += ["--from", "ann@example.org"]
    monkeypatch.setenv("FAXBATCH_SMTP_PASSWORD", "wrong")
    assert run_cli(*args) == ExitCode.SEND_FAILED
    assert smtp.messages == []
    monkeypatch.setenv("FAXBATCH_SMTP_PASSWORD", "s3cret")
    assert run_cli(*args) == 0
    assert [m.login for m in smtp.messages] == ["ann", "ann"]
    assert smtp.messages[0].mail_from == "ann@example.org"
