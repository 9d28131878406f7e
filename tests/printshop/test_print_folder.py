"""The print folder stands alone: a print shop gets `print/` only, and has all it needs."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from faxbatch.cli import main
from faxbatch.errors import ExitCode
from faxbatch.printshop.preflight import run_preflight
from faxbatch.printshop.ticket import ON_FAILED_PAGE
from tests.conftest import BASIC


@pytest.fixture
def shop(write_campaign: Callable[..., Path], tmp_path: Path) -> Path:
    """A batch built from BASIC; its print folder copied elsewhere, as a print shop gets it."""
    campaign = write_campaign(BASIC)
    out = tmp_path / "out"
    assert main(["build", str(campaign), "--out", str(out)]) == ExitCode.REJECTED_RECIPIENTS
    copy = tmp_path / "elsewhere" / "received"
    shutil.copytree(out / "print", copy)
    return copy


def test_preflight_passes_on_the_print_folder_alone(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_preflight(shop) == []
    assert main(["preflight", str(shop)]) == ExitCode.OK
    assert "passes the print-shop checks" in capsys.readouterr().out


def test_preflight_fails_when_a_volume_in_it_changed(shop: Path) -> None:
    volume = next(shop.glob("fax-volume-*.pdf"))
    data = bytearray(volume.read_bytes())
    data[len(data) // 2] ^= 0x01
    volume.write_bytes(bytes(data))
    failures = "\n".join(run_preflight(shop))
    assert f"print/{volume.name}: its sha256 differs" in failures
    assert main(["preflight", str(shop)]) == ExitCode.PREFLIGHT_FAILED


def test_a_stray_or_missing_volume_is_found(shop: Path) -> None:
    volume = next(shop.glob("fax-volume-*.pdf"))
    shutil.copy(volume, shop / "extra.pdf")
    volume.unlink()
    failures = "\n".join(run_preflight(shop))
    assert f"print/{volume.name}: listed in print/job.json but missing" in failures
    assert "print/extra.pdf: not listed in print/job.json" in failures


def test_the_ticket_names_each_fax_number_window_and_contact(shop: Path) -> None:
    ticket = json.loads((shop / "job.json").read_text("utf-8"))
    assert ticket["contact"] == {
        "name": "Ann Organizer",
        "phone": "+1 212 555 0100",
        "email": "ann@example.org",
    }
    assert ticket["on_failed_page"] == ON_FAILED_PAGE
    faxes = {doc["id"]: doc for doc in ticket["documents"] if doc["channel"] == "fax"}
    assert set(faxes) == {"court", "admin"}
    assert faxes["court"]["dial"] == {"e164": "+77272715802", "national": "8 (7272) 71 58 02"}
    window = faxes["court"]["window"]
    assert window["time_zone"] == "Asia/Almaty"
    assert window["start_local"] and window["end_utc"]
    text = (shop / "job.txt").read_text("utf-8")
    assert "manifest.csv" not in text  # a file the print shop does not have
    assert "Questions: Ann Organizer, +1 212 555 0100, ann@example.org" in text
    for doc in faxes.values():
        assert f"dial {doc['dial']['e164']} (in the country: {doc['dial']['national']})" in text
    assert "If a fax fails" in text


def test_a_folder_that_is_neither_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["preflight", str(tmp_path)]) == ExitCode.INPUT_UNREADABLE
    assert "no job.json" in capsys.readouterr().err
