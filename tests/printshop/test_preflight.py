from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pypdf
import pytest
from reportlab.lib.pagesizes import A4, letter
from reportlab.pdfgen import canvas

from faxbatch.campaign.model import PageSize
from faxbatch.letters.envelopes import envelope_spec
from faxbatch.letters.layout import MM, TextRun
from faxbatch.printshop.preflight import FileCache, page_marks, run_preflight
from faxbatch.printshop.ticket import job_json
from faxbatch.printshop.volumes import VolumeSet
from tests.builders import LONG_BODY, build_folder, fonts, make_campaign, postal, render


def reportlab_pdf(
    path: Path, size: tuple[float, float], texts: list[tuple[float, float, str]]
) -> None:
    """The usual way: reportlab's canvas, Helvetica (left unembedded)."""
    pdf = canvas.Canvas(str(path), pagesize=size, invariant=1)
    for x, y, text in texts:
        pdf.drawString(x, y, text)
    pdf.showPage()
    pdf.save()


def failures_of(folder: Path) -> str:
    return "\n".join(run_preflight(folder))


@pytest.mark.parametrize(
    ("page_size", "envelope", "form"),
    [("A4", "DL", "A"), ("A4", "DL", "B"), ("A4", "C5", "B"), ("Letter", "us10", None)],
)
def test_a_sound_batch_passes(
    tmp_path: Path, page_size: PageSize, envelope: str, form: str | None
) -> None:
    records, _ = build_folder(tmp_path, page_size=page_size, envelope=envelope, din5008=form)
    assert any(r.channel == "post" for r in records)
    assert run_preflight(tmp_path) == []


def test_preflight_only_reads(tmp_path: Path) -> None:
    build_folder(tmp_path)

    def snapshot() -> list[tuple[str, int, int]]:
        return sorted((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in tmp_path.rglob("*"))

    before = snapshot()
    run_preflight(tmp_path)
    assert snapshot() == before


def test_reportlab_fax_with_text_in_the_header_zone(tmp_path: Path) -> None:
    build_folder(tmp_path)
    top = A4[1]
    reportlab_pdf(tmp_path / "faxes/court.pdf", A4, [(72, top - 20, "Header"), (72, 400, "Body")])
    found = failures_of(tmp_path)
    assert "faxes/court.pdf, page 1: font Helvetica is not embedded" in found
    assert "faxes/court.pdf, page 1: text 'Header' reaches" in found
    assert "inside the fax header zone (top 12.0 mm)" in found
    assert "faxes/court.pdf: its sha256 differs from manifest.json" in found


def test_wrong_page_size(tmp_path: Path) -> None:
    build_folder(tmp_path)
    reportlab_pdf(tmp_path / "faxes/admin.pdf", letter, [(72, 400, "Body")])
    assert "faxes/admin.pdf, page 1: the page is 216 × 279 mm, not A4 (210 × 297 mm)" in (
        failures_of(tmp_path)
    )


def test_text_outside_the_printable_margin(tmp_path: Path) -> None:
    build_folder(tmp_path)
    reportlab_pdf(tmp_path / "faxes/admin.pdf", A4, [(6, 400, "Edge")])
    found = failures_of(tmp_path)
    assert "faxes/admin.pdf, page 1: text 'Edge' reaches 2.1 mm from the left edge" in found
    assert "inside the 5.0 mm printers leave unprinted" in found


def test_tampered_volume_fails_its_checksum(tmp_path: Path) -> None:
    build_folder(tmp_path)
    path = tmp_path / "print/post-volume-001.pdf"
    data = path.read_bytes()
    producer = "faxbatch".encode("utf-16-be").hex().upper().encode()
    assert producer in data
    path.write_bytes(data.replace(producer, producer.replace(b"0066", b"0067")))  # same length
    assert failures_of(tmp_path) == (
        "print/post-volume-001.pdf: its sha256 differs from print/job.json (changed after the "
        "build?)"
    )


def test_truncated_volume(tmp_path: Path) -> None:
    build_folder(tmp_path)
    path = tmp_path / "print/fax-volume-001.pdf"
    path.write_bytes(path.read_bytes()[:-200])
    found = failures_of(tmp_path)
    assert "print/fax-volume-001.pdf: " in found
    assert "bytes, but print/job.json says" in found


def test_ticket_must_list_every_volume_and_exist(tmp_path: Path) -> None:
    build_folder(tmp_path)
    shutil.copy(tmp_path / "print/post-volume-001.pdf", tmp_path / "print/post-volume-009.pdf")
    assert "print/post-volume-009.pdf: not listed in print/job.json" in failures_of(tmp_path)
    (tmp_path / "print/job.json").unlink()
    assert "print/job.json is missing" in failures_of(tmp_path)


def test_ticket_counts_must_match(tmp_path: Path) -> None:
    build_folder(tmp_path)
    path = tmp_path / "print/job.json"
    ticket = json.loads(path.read_bytes())
    ticket["volumes"][1]["sheets"] = 5
    ticket["totals"]["pages"] += 1
    path.write_text(json.dumps(ticket), encoding="utf-8")
    found = failures_of(tmp_path)
    assert "print/post-volume-001.pdf: 3 sheets, but print/job.json says 5" in found
    assert "print/job.json: total pages is 10, the volumes add up to 9" in found


def test_pad_pages_must_be_blank(tmp_path: Path) -> None:
    build_folder(tmp_path)
    path = tmp_path / "print/job.json"
    ticket = json.loads(path.read_bytes())
    ticket["documents"] = [d for d in ticket["documents"] if d["id"] != "ministry"]
    path.write_text(json.dumps(ticket), encoding="utf-8")
    found = failures_of(tmp_path)
    assert "print/post-volume-001.pdf, page 5: the pad page is not blank" in found
    assert "bookmarks do not match" in found


def test_manifest_must_point_into_the_volumes(tmp_path: Path) -> None:
    build_folder(tmp_path)
    path = tmp_path / "manifest.json"
    manifest = json.loads(path.read_bytes())
    manifest["documents"][0]["volume_first_page"] = 2
    path.write_text(json.dumps(manifest), encoding="utf-8")
    assert (
        "manifest.json: court points at print/fax-volume-001.pdf pages 2–2, but print/job.json "
        "has no document there"
    ) in failures_of(tmp_path)


def _post_batch(folder: Path, shift_mm: float) -> None:
    """A one-letter postal batch whose address is moved down by ``shift_mm``."""
    campaign = make_campaign()
    pages = postal(campaign, campaign.recipients[0], "DL", "B")
    spec = envelope_spec("A4", "DL", "B")
    window = spec.window
    moved = []
    for item in pages[0].items:
        if isinstance(item, TextRun) and window.overlaps(item.x, item.y, item.x + 1, item.y + 1):
            item = TextRun(item.x, item.y - shift_mm * MM, item.text, item.style, item.size)
        moved.append(item)
    pages[0].items = moved
    with VolumeSet(folder, "post", fonts(), "A4", duplex=True, envelope="DL", din5008="B") as post:
        post.add_document("court", "court: letter", render(pages))
    (folder / "print/job.json").write_bytes(job_json(post.volumes, post.placements))


def test_address_must_lie_inside_the_window(tmp_path: Path) -> None:
    _post_batch(tmp_path / "ok", 0)
    assert run_preflight(tmp_path / "ok", page_size="A4") == []
    _post_batch(tmp_path / "low", 20)
    found = failures_of(tmp_path / "low")
    assert (
        "print/post-volume-001.pdf, page 1: text 'Қазақстан' sticks out of the envelope window"
        in found
    )
    _post_batch(tmp_path / "gone", 80)
    assert "the envelope window holds 0 line(s) of text" in failures_of(tmp_path / "gone")


def test_shared_streams_are_read_once_with_the_same_result(tmp_path: Path) -> None:
    build_folder(tmp_path, body=LONG_BODY)
    reader = pypdf.PdfReader(tmp_path / "print/post-volume-001.pdf")
    cache = FileCache()
    for page in reader.pages:
        assert page_marks(reader, page, cache) == page_marks(reader, page)
    assert cache.streams


def test_checked_on_two_processes_or_one_the_failures_are_the_same(tmp_path: Path) -> None:
    build_folder(tmp_path, body=LONG_BODY)
    faxes = sorted((tmp_path / "faxes").glob("*.pdf"))
    assert len(faxes) >= 2
    fifo, truncated = faxes[0], faxes[1]
    fifo.unlink()
    os.mkfifo(fifo)  # read where it is checked, a FIFO would block a worker: it is refused
    truncated.write_bytes(truncated.read_bytes()[:-300])
    one = run_preflight(tmp_path, workers=1)
    assert run_preflight(tmp_path, workers=2) == one
    refused = [f for f in one if f"faxes/{fifo.name}" in f and "not a regular file" in f]
    assert len(refused) == 1, one  # told once, however many entries name it
    assert any(f.startswith(f"faxes/{truncated.name}") for f in one), one
