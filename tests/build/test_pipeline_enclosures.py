"""Enclosures: a PDF's pages after every fax and postal letter, as black-and-white images."""

from __future__ import annotations

import hashlib
import io
import json
import zlib
from collections.abc import Callable
from pathlib import Path

import pypdf
import pytest
from reportlab.lib.colors import Color, red
from reportlab.lib.pagesizes import A4, LETTER, landscape
from reportlab.pdfgen import canvas

from faxbatch.build.pipeline import BuildOptions, build_batch
from faxbatch.campaign.loader import load_campaign
from faxbatch.letters.layout import FAX_HEADER_ZONE, MM
from faxbatch.printshop.preflight import run_preflight
from tests.conftest import BASIC
from tests.pdfcheck import page_texts, qpdf_check
from tests.test_cli import assert_clean_error, run_cli

CAMPAIGN = BASIC.replace("cover: {", "enclosures: [statement.pdf]\ncover: {").replace(
    "    address: [Almaty]\n",
    "    address: [Zhibek Zholy 123, 050000 Almaty, Kazakhstan]\n    channels: [fax, post]\n",
)


def statement_pdf(
    pages: int = 1, size: tuple[float, float] = LETTER, title: str = "Statement of the appeal"
) -> bytes:
    """A PDF as organizers get them: Helvetica (not embedded), a red heading, a grey box."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=size, invariant=1)
    height = size[1]
    for number in range(1, pages + 1):
        pdf.setFillColor(red)
        pdf.setFont("Helvetica-Bold", 20)
        pdf.drawString(60, height - 40, f"{title} {number}")  # near the top: the header zone
        pdf.rect(60, height - 200, 200, 100, fill=1, stroke=0)  # a red box
        pdf.setFillColor(Color(0.6, 0.6, 0.6))
        pdf.rect(300, height - 200, 200, 100, fill=1, stroke=0)  # a light grey box
        pdf.setFillColorRGB(0, 0, 0)
        pdf.setFont("Helvetica", 11)
        for line in range(30):
            pdf.drawString(60, height - 240 - 16 * line, f"Line {line + 1} of the statement.")
        pdf.drawString(60, 20, "bottom line, where our footer goes")
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def build(path: Path, out: Path):  # type: ignore[no-untyped-def]
    return build_batch(load_campaign(path), BuildOptions(out=out, jobs=1))


def images_of(page: pypdf.PageObject) -> list[pypdf.generic.StreamObject]:
    xobjects = page["/Resources"].get("/XObject") or {}
    return [ref.get_object() for ref in xobjects.values()]


def test_letter_page_in_an_a4_campaign(write_campaign: Callable[..., Path], tmp_path: Path) -> None:
    (tmp_path / "statement.pdf").write_bytes(statement_pdf(size=LETTER))
    result = build(write_campaign(CAMPAIGN), tmp_path / "out")
    out = tmp_path / "out"
    for name in ("faxes/court.pdf", "post/court.pdf"):
        reader = pypdf.PdfReader(out / name)
        texts = page_texts(out / name)
        total = len(reader.pages)
        # the enclosure is the last page, counted in "Page N of M"
        assert f"Page {total} of {total}" in texts[-1]
        for page in reader.pages:  # every page A4, the enclosure's Letter page too
            assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (
                595,
                842,
            )
        (image,) = images_of(reader.pages[-1])
        assert (image["/BitsPerComponent"], image["/ColorSpace"]) == (1, "/DeviceGray")
        assert not any(images_of(page) for page in reader.pages[:-1])
        qpdf_check(out / name)
    fax = pypdf.PdfReader(out / "faxes/court.pdf")
    assert "Pages 3 (including" in fax.pages[0].extract_text()  # the cover counts it
    assert len(fax.pages) == 3
    # the image lies below the fax header zone and above the footer, inside the margins
    content = fax.pages[-1].get_contents().get_data().decode("latin-1")
    w, _, _, h, x, y = (float(v) for v in content.split(" cm")[0].split("q ")[-1].split())
    assert x >= 10 * MM - 0.01 and x + w <= A4[0] - 10 * MM + 0.01
    assert y >= 20 * MM - 0.01 and y + h <= A4[1] - FAX_HEADER_ZONE - 3 * MM + 0.01
    manifest = json.loads((out / "manifest.json").read_text())
    digest = hashlib.sha256((tmp_path / "statement.pdf").read_bytes()).hexdigest()
    enclosures = [{"file": "statement.pdf", "pages": 1, "sha256": digest}]
    assert manifest["campaign"]["enclosures"] == enclosures
    ready = [(d["recipient_id"], d["channel"]) for d in result.documents if d["status"] == "ready"]
    assert ready == [("court", "fax"), ("court", "post"), ("admin", "fax")]
    assert run_preflight(out) == []
    assert run_cli("preflight", str(out)).returncode == 0


def black_share(image: pypdf.generic.StreamObject, box: tuple[int, int, int, int]) -> float:
    """The share of black pixels (0 bits) in a box (x0, y0, x1, y1; pixels, top left origin)."""
    width = int(image["/Width"])
    rows = zlib.decompress(image._data)
    stride = (width + 7) // 8
    assert len(rows) == stride * int(image["/Height"])  # 1 bit a pixel, rows padded to bytes
    x0, y0, x1, y1 = box
    black = 0
    for row in range(y0, y1):
        for col in range(x0, x1):
            black += not rows[row * stride + col // 8] >> (7 - col % 8) & 1
    return black / ((x1 - x0) * (y1 - y0))


def test_a_colour_enclosure_becomes_black_and_white(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    (tmp_path / "statement.pdf").write_bytes(statement_pdf(size=A4))
    build(write_campaign(CAMPAIGN), tmp_path / "out")
    reader = pypdf.PdfReader(tmp_path / "out/faxes/admin.pdf")
    (image,) = images_of(reader.pages[-1])
    # the image is cut to what the page draws: it starts at the heading's top left (60 pt from
    # the left, 26 pt from the top); the boxes lie 75–175 pt below, at 200 dpi
    dots = 200 / 72
    rows = (int(85 * dots), int(160 * dots))
    red_box = black_share(image, (10, rows[0], int(190 * dots), rows[1]))
    grey_box = black_share(image, (int(250 * dots), rows[0], int(430 * dots), rows[1]))
    white = black_share(image, (int(210 * dots), rows[0], int(230 * dots), rows[1]))
    assert 0.55 < red_box < 0.85  # red is dark: mostly black dots
    assert 0.3 < grey_box < 0.5  # 60 % grey: fewer
    assert white == 0.0  # and white stays white
    assert run_preflight(tmp_path / "out") == []


def test_same_input_same_bytes_and_a_changed_enclosure_rebuilds(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    (tmp_path / "statement.pdf").write_bytes(statement_pdf(pages=2))
    path = write_campaign(CAMPAIGN)
    build(path, tmp_path / "one")
    build(path, tmp_path / "two")
    files = ("faxes/court.pdf", "post/court.pdf", "print/fax-volume-001.pdf", "manifest.json")
    for name in files:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    volume = pypdf.PdfReader(tmp_path / "one/print/fax-volume-001.pdf")
    drawn = [image.indirect_reference.idnum for page in volume.pages for image in images_of(page)]
    # two letters, two enclosure pages each: each page's image is written once in the volume
    assert len(drawn) == 4 and len(set(drawn)) == 2
    before = (tmp_path / "one/faxes/court.pdf").read_bytes()
    build(path, tmp_path / "one")  # unchanged: the cache gives the same bytes
    assert (tmp_path / "one/faxes/court.pdf").read_bytes() == before
    (tmp_path / "statement.pdf").write_bytes(statement_pdf(pages=2, title="Revised statement"))
    build(path, tmp_path / "one")
    after = tmp_path / "one/faxes/court.pdf"
    assert after.read_bytes() != before
    fresh = tmp_path / "fresh"
    build(path, fresh)  # what a rebuild over the cache gives is what a fresh build gives
    assert after.read_bytes() == (fresh / "faxes/court.pdf").read_bytes()
    assert run_preflight(tmp_path / "one") == []


def test_a_landscape_page_is_turned_to_fit(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    (tmp_path / "statement.pdf").write_bytes(statement_pdf(size=landscape(LETTER)))
    build(write_campaign(CAMPAIGN), tmp_path / "out")
    (image,) = images_of(pypdf.PdfReader(tmp_path / "out/faxes/admin.pdf").pages[-1])
    width, height = int(image["/Width"]), int(image["/Height"])
    # turned: the page's height runs across, its top (the bold heading) to the left
    assert width > height
    # the boxes lie 75–175 pt below the heading's top: now as far from the left
    dots = 200 / 72
    assert black_share(image, (int(85 * dots), 0, int(160 * dots), height)) > 0.3
    assert run_preflight(tmp_path / "out") == []


def encrypted_pdf() -> bytes:
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(statement_pdf()))
    writer.encrypt(user_password="secret", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (encrypted_pdf(), "encrypted"),
        (statement_pdf()[:700], "not a PDF, or it is damaged"),
        (b"%PDF-1.4\nthis is no PDF at all\n", "not a PDF, or it is damaged"),
        (b"", "not a PDF, or it is damaged"),
    ],
    ids=["encrypted", "cut-short", "garbage", "empty"],
)
def test_an_unusable_enclosure_is_a_clear_error(
    write_campaign: Callable[..., Path], tmp_path: Path, data: bytes, why: str
) -> None:
    (tmp_path / "statement.pdf").write_bytes(data)
    result = run_cli("build", str(write_campaign(CAMPAIGN)), "--out", str(tmp_path / "out"))
    assert_clean_error(result, 4)
    assert "statement.pdf" in result.stderr and why in result.stderr
    assert "enclosures" in result.stderr  # the field
    assert not (tmp_path / "out").exists()  # nothing written


def test_an_enclosure_encrypted_without_a_password_is_refused(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    writer = pypdf.PdfWriter(clone_from=io.BytesIO(statement_pdf()))
    writer.encrypt(user_password="", owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    (tmp_path / "statement.pdf").write_bytes(buffer.getvalue())
    result = run_cli("check", str(write_campaign(CAMPAIGN)), "--out", str(tmp_path / "out"))
    assert_clean_error(result, 4)
    assert "statement.pdf" in result.stderr and "encrypted" in result.stderr


def test_missing_and_outside_enclosures(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    missing = run_cli("build", str(write_campaign(CAMPAIGN)), "--out", str(tmp_path / "out"))
    assert_clean_error(missing, 4)
    assert "statement.pdf" in missing.stderr and "no such file" in missing.stderr
    outside = CAMPAIGN.replace("[statement.pdf]", "[../elsewhere.pdf]")
    (tmp_path.parent / "elsewhere.pdf").write_bytes(statement_pdf())
    result = run_cli("build", str(write_campaign(outside)), "--out", str(tmp_path / "out"))
    assert_clean_error(result, 3)
    assert "outside the campaign's folder" in result.stderr and "--allow-path" in result.stderr
    assert not (tmp_path / "out").exists()
