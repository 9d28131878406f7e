"""The print shop's side of a build: post, duplex volumes, the job ticket, preflight."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pypdf
import pytest

from faxbatch.build.pipeline import BuildOptions, build_batch
from faxbatch.campaign.loader import load_campaign
from faxbatch.errors import CampaignError, ExitCode, PreflightError
from faxbatch.letters import document
from faxbatch.letters.layout import TextRun
from tests.conftest import BASIC
from tests.test_cli import assert_clean_error, run_cli

POST = (
    BASIC.replace(
        "page: {size: A4}",
        "page: {size: A4}\nprint: {envelope: DL, din5008: B, fold_marks: true, duplex: true}",
    )
    .replace(
        "    address: [Almaty]\n",
        "    address: [Zhibek Zholy 123, 050000 Almaty, Kazakhstan]\n    channels: [fax, post]\n",
    )
    .replace(
        "  - id: ministry\n    name: Foreign Ministry\n",
        "  - id: ministry\n    name: Foreign Ministry\n    address: [Mangilik El 8, Astana]\n",
    )
)


def build(path: Path, out: Path):  # type: ignore[no-untyped-def]
    return build_batch(load_campaign(path), BuildOptions(out=out, jobs=1))


def test_fax_and_post_documents_and_volumes(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    result = build(write_campaign(POST), tmp_path / "out")
    out = tmp_path / "out"
    docs = [(d["recipient_id"], d["channel"], d["status"]) for d in result.documents]
    assert docs == [
        ("court", "fax", "ready"),
        ("court", "post", "ready"),
        ("admin", "fax", "ready"),
        ("ministry", "post", "ready"),
    ]
    ministry = result.documents[3]
    assert "No fax number" in ministry["problems"][0]  # why it goes by post
    assert result.exit_code == ExitCode.OK
    for name in (
        "faxes/court.pdf",
        "post/court.pdf",
        "post/ministry.pdf",
        "print/fax-volume-001.pdf",
        "print/post-volume-001.pdf",
        "print/job.json",
        "print/job.txt",
    ):
        assert (out / name).is_file(), name
    letter = pypdf.PdfReader(out / "post/court.pdf").pages[0].extract_text()
    assert "Zhibek Zholy 123" in letter and "FAX" not in letter and "By fax" not in letter


def test_post_volume_is_duplex_with_blank_pads(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    result = build(write_campaign(POST), tmp_path / "out")
    ticket = json.loads((tmp_path / "out/print/job.json").read_text())
    post = next(v for v in ticket["volumes"] if v["channel"] == "post")
    assert post["duplex"] is True and post["envelope"] == "DL"
    posted = [d for d in result.documents if d["channel"] == "post"]
    reader = pypdf.PdfReader(tmp_path / "out/print/post-volume-001.pdf")
    for doc in posted:
        assert doc["volume_first_page"] % 2 == 1  # every letter starts on a front side
        first = reader.pages[doc["volume_first_page"] - 1].extract_text()
        assert f"Page 1 of {doc['pages']}" in first
    pads = post["pad_pages"]
    assert len(reader.pages) == sum(d["pages"] for d in posted) + pads
    fax = next(v for v in ticket["volumes"] if v["channel"] == "fax")
    assert fax["duplex"] is False and fax["pad_pages"] == 0


def test_address_too_long_for_the_window_rejects_only_the_letter(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    long_address = ", ".join(f"Line {n} of a very long address" for n in range(9))
    text = POST.replace("[Zhibek Zholy 123, 050000 Almaty, Kazakhstan]", "[" + long_address + "]")
    result = build(write_campaign(text), tmp_path / "out")
    court = [d for d in result.documents if d["recipient_id"] == "court"]
    assert [(d["channel"], d["status"]) for d in court] == [("fax", "ready"), ("post", "rejected")]
    assert "window" in court[1]["problems"][0]
    assert result.exit_code == ExitCode.REJECTED_RECIPIENTS


def test_preflight_command_passes_a_build_and_catches_tampering(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    build(write_campaign(POST), tmp_path / "out")
    ok = run_cli("preflight", str(tmp_path / "out"))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    volume = tmp_path / "out/print/fax-volume-001.pdf"
    data = bytearray(volume.read_bytes())
    data[-200] ^= 1
    volume.write_bytes(bytes(data))
    broken = run_cli("preflight", str(tmp_path / "out"))
    assert_clean_error(broken, 7)
    assert "fax-volume-001.pdf" in broken.stderr


def test_build_stops_before_replacing_when_a_page_breaks_the_rules(
    write_campaign: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_campaign(POST)
    build(path, tmp_path / "out")
    before = (tmp_path / "out/manifest.json").read_bytes()
    real = document.add_footers

    def footer_in_header_zone(pages, *args):  # type: ignore[no-untyped-def]
        real(pages, *args)
        for page in pages:
            page.footer.append(TextRun(100, page.geometry.height - 20, "oops", "regular", 10))

    monkeypatch.setattr(document, "add_footers", footer_in_header_zone)
    changed = write_campaign(
        POST.replace("We protest against the trial.", "Again."), name="changed.yaml"
    )
    with pytest.raises(PreflightError) as info:
        build(changed, tmp_path / "out")
    assert info.value.exit_code == ExitCode.PREFLIGHT_FAILED
    assert any("fax header zone" in failure for failure in info.value.failures)
    assert (tmp_path / "out/manifest.json").read_bytes() == before


def test_envelope_must_fit_the_page_size(write_campaign: Callable[..., Path]) -> None:
    with pytest.raises(CampaignError) as info:
        load_campaign(write_campaign(POST.replace("envelope: DL, din5008: B", "envelope: us10")))
    assert info.value.field == "print.envelope"
    assert "Letter" in str(info.value)


def test_quick_stream_reader_sees_what_pypdf_sees(
    write_campaign: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from faxbatch.printshop import preflight

    build(write_campaign(POST), tmp_path / "out")

    def marks(path: Path) -> list[tuple[object, ...]]:
        reader = pypdf.PdfReader(path)
        found = []
        for page in reader.pages:
            for mark in preflight.page_marks(reader, page)[0]:
                found.append(
                    (
                        mark.kind,
                        round(mark.x0, 3),
                        round(mark.y0, 3),
                        round(mark.x1, 3),
                        round(mark.y1, 3),
                        mark.text,
                    )
                )
        return found

    volumes = sorted((tmp_path / "out/print").glob("*.pdf"))
    quick = [marks(path) for path in volumes]
    plain_operations = preflight._plain_operations
    monkeypatch.setattr(preflight, "_plain_operations", lambda data: None)  # pypdf's parser
    assert quick == [marks(path) for path in volumes]
    assert any(text for volume in quick for *_, text in volume)
    # what the quick reader does not know it leaves to pypdf
    assert plain_operations(b"BT (literal) Tj ET") is None
    assert plain_operations(b"BT /F1 12 Tf 1 0 0 1 10 20 Tm <0041> Tj ET") == [
        ([], b"BT"),
        (["/F1", 12.0], b"Tf"),
        ([1.0, 0.0, 0.0, 1.0, 10.0, 20.0], b"Tm"),
        ([b"\x00A"], b"Tj"),
        ([], b"ET"),
    ]
