"""What the build prepares for the gateways, and keeps for them across rebuilds."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from faxbatch.build.pipeline import BuildOptions, build_batch
from faxbatch.campaign.loader import load_campaign
from faxbatch.errors import CampaignError
from tests.conftest import BASIC

GATEWAY = BASIC + (
    "gateway:\n"
    "  hylafax: {host: fax.example.org, tries: 5}\n"
    "  email: {domain: fax.example.net, smtp_host: smtp.example.net, from: ann@example.org}\n"
)


def test_build_writes_the_exports_and_the_gateway_settings(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    build_batch(load_campaign(write_campaign(GATEWAY)), BuildOptions(out=tmp_path / "out"))
    manifest = json.loads((tmp_path / "out/manifest.json").read_text())
    assert manifest["campaign"]["gateway"]["hylafax"]["host"] == "fax.example.org"
    script = (tmp_path / "out/gateways/hylafax.sh").read_text()
    assert "-d +77272715802 faxes/court.pdf" in script  # canonical: the server's dial rules apply
    assert "011 7 7272" not in script
    assert "-t 5" in script
    lines = (tmp_path / "out/gateways/jobs.jsonl").read_text().splitlines()
    jobs = [json.loads(line) for line in lines]
    assert [job["to"] for job in jobs] == ["+77272715802", "+77172745524"]


def test_a_password_in_the_campaign_is_refused(write_campaign: Callable[..., Path]) -> None:
    text = GATEWAY.replace("from: ann@example.org}", "from: ann@example.org, password: x}")
    with pytest.raises(CampaignError) as info:
        load_campaign(write_campaign(text))
    assert "password" in str(info.value)


def test_rebuild_keeps_the_send_journal(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_campaign(BASIC)
    out = tmp_path / "out"
    build_batch(load_campaign(path), BuildOptions(out=out))
    (out / "journal.sqlite").write_bytes(b"what was sent")
    (out / "report.csv").write_text("recipient,state\n")
    changed = write_campaign(
        BASIC.replace("We protest against the trial.", "Again."), name="changed.yaml"
    )
    build_batch(load_campaign(changed), BuildOptions(out=out))
    assert (out / "journal.sqlite").read_bytes() == b"what was sent"
    assert (out / "report.csv").read_text() == "recipient,state\n"


def test_streamed_exports_match_the_whole_manifest_ones(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    from faxbatch.sending.exports import write_exports

    out = tmp_path / "out"
    build_batch(load_campaign(write_campaign(GATEWAY)), BuildOptions(out=out))
    streamed = {
        name: (out / "gateways" / name).read_bytes() for name in ("hylafax.sh", "jobs.jsonl")
    }
    write_exports(tmp_path / "again", json.loads((out / "manifest.json").read_text()))
    for name, data in streamed.items():
        assert (tmp_path / "again/gateways" / name).read_bytes() == data


def test_postal_letters_are_never_faxed(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    text = BASIC.replace(
        "    address: [Almaty]\n", "    address: [Almaty]\n    channels: [fax, post]\n"
    )
    out = tmp_path / "out"
    result = build_batch(load_campaign(write_campaign(text)), BuildOptions(out=out))
    assert [d["channel"] for d in result.documents if d["recipient_id"] == "court"] == [
        "fax",
        "post",
    ]
    jobs = (out / "gateways/jobs.jsonl").read_text()
    assert "faxes/court.pdf" in jobs and "post/court.pdf" not in jobs
