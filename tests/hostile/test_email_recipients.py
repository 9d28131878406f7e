"""Extra email recipients: a hostile gateway domain, sender or SMTP user must never add one.

Against a real SMTP server (aiosmtpd) on loopback: a hostile value in the campaign file, in the
manifest or on the command line is refused before anything is delivered; a good send delivers each
fax to exactly one envelope recipient, the E.164 digits at the gateway domain.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from faxbatch.campaign.gateway_settings import parse_gateway_section, with_overrides
from faxbatch.errors import CampaignError, UsageError
from faxbatch.sending.batch import load_batch
from tests.conftest import BASIC
from tests.hostile.conftest import Sandbox, snapshot
from tests.sending.conftest import SmtpServer, journal_file, open_windows, smtp_on_loopback

DOMAIN = "fax.example.net"
HOSTILE_DOMAINS = [
    "fax.example.net>, spy@evil.example, <x",
    "fax.example.net\r\nBcc: spy@evil.example",
    "spy@evil.example",
    "fax.example.net,evil.example",
    "fax example.net",
    "localhost",
]
HOSTILE_ADDRESSES = [
    "Ann <ann@example.org>",
    "ann@example.org, spy@evil.example",
    "ann@example.org\r\nBcc: spy@evil.example",
    "ann@example.org (spy@evil.example)",
    '"spy@evil.example" <ann@example.org>',
    "ann@example.org>, <spy@evil.example",
]


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_on_loopback() as server:
        yield server


def _gateway(email: dict[str, str]) -> str:
    return BASIC + f"gateway:\n  email: {json.dumps(email)}\n"


def _send(sandbox: Sandbox, smtp: SmtpServer, *more: str | Path) -> tuple[int, str]:
    run = sandbox.run(
        "send", sandbox.out, "--gateway", "email", "--host", smtp.host, "--port", str(smtp.port),
        "--no-starttls", *more, "--yes",
    )  # fmt: skip
    return run.returncode, run.stderr


@pytest.mark.parametrize("domain", HOSTILE_DOMAINS)
def test_every_hostile_domain_is_refused(domain: str) -> None:
    with pytest.raises(CampaignError, match=r"gateway\.email\.domain: expected a DNS name"):
        parse_gateway_section({"email": {"domain": domain}}, source="c.yaml")
    with pytest.raises(UsageError, match="--email-domain must be a DNS name"):
        with_overrides(parse_gateway_section(None), gateway="email", domain=domain)


@pytest.mark.parametrize("address", HOSTILE_ADDRESSES)
def test_every_hostile_address_is_refused(address: str) -> None:
    with pytest.raises(CampaignError, match=r"gateway\.email\.from: expected one plain email"):
        parse_gateway_section({"email": {"from": address}}, source="c.yaml")
    with pytest.raises(CampaignError, match=r"gateway\.email\.user: expected an SMTP login"):
        parse_gateway_section({"email": {"user": address}}, source="c.yaml")
    with pytest.raises(UsageError, match="--from must be one plain email address"):
        with_overrides(parse_gateway_section(None), gateway="email", sender=address)
    with pytest.raises(UsageError, match="--smtp-user must be an SMTP login"):
        with_overrides(parse_gateway_section(None), gateway="email", user=address)


def test_plain_logins_and_addresses_are_taken() -> None:
    settings = parse_gateway_section(
        {"email": {"domain": "fax.example.net", "user": "apikey", "from": "a.b+fax@example.org"}}
    )
    assert (settings.email.user, settings.email.from_address) == ("apikey", "a.b+fax@example.org")


def test_a_hostile_domain_is_refused_and_nothing_is_delivered(
    sandbox: Sandbox, smtp: SmtpServer
) -> None:
    sandbox.build_good()
    open_windows(sandbox.out)
    before = snapshot(sandbox.out)
    for domain in HOSTILE_DOMAINS[:2]:
        text = _gateway({"domain": domain, "from": "ann@example.org"})
        path = sandbox.campaign(text, "hostile.yaml")
        code, err = _send(sandbox, smtp, "--campaign", path)
        assert code == 3, err
        assert "gateway.email.domain" in err and "DNS name" in err
        run = sandbox.run("build", path, "--out", sandbox.out)
        assert run.returncode == 3 and "gateway.email.domain" in run.stderr
        code, err = _send(sandbox, smtp, "--email-domain", domain, "--from", "ann@example.org")
        assert code == 2 and "--email-domain" in err, err
    assert smtp.messages == []
    assert snapshot(sandbox.out) == before
    assert not journal_file(sandbox.out).exists()


def test_a_hostile_sender_or_user_is_refused(sandbox: Sandbox, smtp: SmtpServer) -> None:
    sandbox.build_good()
    open_windows(sandbox.out)
    for address in HOSTILE_ADDRESSES[:2]:
        for key, option in (("from", "--from"), ("user", "--smtp-user")):
            path = sandbox.campaign(_gateway({"domain": DOMAIN, key: address}), "hostile.yaml")
            code, err = _send(sandbox, smtp, "--campaign", path)
            assert code == 3 and f"gateway.email.{key}" in err, err
            code, err = _send(sandbox, smtp, "--email-domain", DOMAIN, option, address)
            assert code == 2 and option in err, err
    assert smtp.messages == []


def test_a_hostile_domain_in_the_manifest_is_refused(sandbox: Sandbox, smtp: SmtpServer) -> None:
    sandbox.build_good()
    open_windows(sandbox.out)
    manifest_path = sandbox.out / "manifest.json"
    manifest = json.loads(manifest_path.read_text("utf-8"))
    manifest["campaign"]["gateway"] = {
        "email": {"domain": HOSTILE_DOMAINS[0], "from": "ann@example.org"}
    }
    manifest_path.write_text(json.dumps(manifest), "utf-8")
    code, err = _send(sandbox, smtp)
    assert code == 3 and "manifest.json" in err and "gateway.email.domain" in err, err
    # a number that is not E.164 digits cannot smuggle an address in either
    manifest["campaign"]["gateway"] = None
    manifest["documents"][0]["fax_e164"] = "+77272715802@evil.example, spy"
    manifest_path.write_text(json.dumps(manifest), "utf-8")
    code, err = _send(sandbox, smtp, "--email-domain", DOMAIN, "--from", "ann@example.org")
    assert code == 4 and "fax_e164" in err, err
    assert smtp.messages == []


def test_a_good_send_has_exactly_one_envelope_recipient(sandbox: Sandbox, smtp: SmtpServer) -> None:
    # a title that tries to add a header: it stays in the Subject, as text
    text = BASIC.replace(
        "title: Free the activists", 'title: "Free the activists\\nBcc: spy@evil.example"'
    )
    run = sandbox.run("build", sandbox.campaign(text), "--out", sandbox.out)
    assert run.returncode == 6, run.stderr
    open_windows(sandbox.out)
    code, err = _send(sandbox, smtp, "--email-domain", DOMAIN, "--from", "ann@example.org")
    assert code == 0, err
    faxes = load_batch(sandbox.out).faxes
    assert len(smtp.messages) == len(faxes) == 2
    for received, fax in zip(smtp.messages, faxes, strict=True):
        assert received.rcpt_tos == [f"{fax.e164.removeprefix('+')}@{DOMAIN}"]
        assert received.mail_from == "ann@example.org"
        message = received.message
        assert message.get_all("To") == [f"{fax.digits}@{DOMAIN}"]
        assert message.get_all("From") == ["ann@example.org"]
        assert message["Cc"] is None and message["Bcc"] is None
        assert "Bcc: spy@evil.example" in str(message["Subject"])
        assert "\n" not in str(message["Subject"])
