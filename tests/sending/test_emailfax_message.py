"""What an email-to-fax message holds: only the PDF by default; a subject and text on request."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from faxbatch.campaign.gateway_settings import EMAIL_PLACEHOLDERS, parse_gateway_section
from faxbatch.errors import CampaignError, ExitCode
from faxbatch.sending.batch import load_batch
from faxbatch.sending.gateways.emailfax import placeholder_values

from .conftest import SmtpServer, run_cli

DOMAIN = "fax.example.net"


def _send(batch: Path, smtp: SmtpServer, *more: str | Path) -> int:
    return run_cli(
        "send", batch, "--gateway", "email", "--host", smtp.host, "--port", str(smtp.port),
        "--no-starttls", "--email-domain", DOMAIN, "--from", "campaign@example.org", "--yes",
        *more,
    )  # fmt: skip


def test_by_default_a_message_is_only_its_pdf(
    build: Callable[..., Path], smtp_server: SmtpServer
) -> None:
    batch = build(windows=False)
    assert _send(batch, smtp_server) == 0
    assert len(smtp_server.messages) == 2
    for received in smtp_server.messages:
        message = received.message
        assert message.get_content_type() == "multipart/mixed"
        parts = [part.get_content_type() for part in message.walk() if not part.is_multipart()]
        assert parts == ["application/pdf"]  # no text a gateway would fax as an extra page
        assert message["Subject"] == load_batch(batch).regarding


def test_a_campaign_may_give_a_subject_and_a_text(
    build: Callable[..., Path], smtp_server: SmtpServer, tmp_path: Path
) -> None:
    batch = build(windows=False)
    settings = tmp_path / "gateway.yaml"
    settings.write_text(
        "gateway:\n  email:\n"
        '    subject: "Fax {number}: {subject}"\n'
        "    body: |\n      For {name} ({id}), {pages} page(s).\n      Braces: {{ok}}\n",
        "utf-8",
    )
    assert _send(batch, smtp_server, "--campaign", settings) == 0
    faxes = load_batch(batch).faxes
    for fax, received in zip(faxes, smtp_server.messages, strict=True):
        message = received.message
        assert message["Subject"] == f"Fax {fax.e164}: {load_batch(batch).regarding}"
        texts = [part for part in message.walk() if part.get_content_type() == "text/plain"]
        assert len(texts) == 1
        payload = texts[0].get_payload(decode=True)
        assert isinstance(payload, bytes)
        text = payload.decode("utf-8").replace("\r\n", "\n")
        name, rid = fax.recipient_name, fax.recipient_id
        assert text == f"For {name} ({rid}), {fax.pages} page(s).\nBraces: {{ok}}\n"


def test_an_unknown_placeholder_is_an_invalid_setting(
    build: Callable[..., Path], smtp_server: SmtpServer, tmp_path: Path
) -> None:
    with pytest.raises(CampaignError) as info:
        parse_gateway_section({"email": {"body": "Fax for {nmae}"}})
    assert info.value.field == "gateway.email.body"
    assert "{nmae}" in str(info.value) and "{name}" in str(info.value)
    batch = build(windows=False)
    settings = tmp_path / "gateway.yaml"
    settings.write_text('gateway:\n  email: {subject: "Fax {to"}\n', "utf-8")
    assert _send(batch, smtp_server, "--campaign", settings) == ExitCode.INVALID_CAMPAIGN
    assert smtp_server.messages == []


def test_every_placeholder_has_a_value(build: Callable[..., Path]) -> None:
    fax = load_batch(build(windows=False)).faxes[0]
    assert tuple(placeholder_values(fax, "Re")) == EMAIL_PLACEHOLDERS
