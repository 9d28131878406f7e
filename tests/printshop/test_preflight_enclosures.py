"""Preflight on enclosure pages: images, black and white on faxes, told apart by what they show."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import zlib
from collections.abc import Callable
from pathlib import Path

import pypdf
from PIL import Image as PILImage
from pypdf.generic import NameObject
from reportlab.lib.pagesizes import A4
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from faxbatch.build.pipeline import BuildOptions, build_batch
from faxbatch.campaign.loader import load_campaign
from faxbatch.letters.document import add_footers
from faxbatch.letters.layout import Geometry, Image, Page
from faxbatch.letters.pdf import PdfWriter, RasterImage, render_page
from faxbatch.printshop.preflight import PageRules, check_page, run_preflight
from faxbatch.printshop.ticket import JOB_JSON
from tests.build.test_pipeline_enclosures import CAMPAIGN, statement_pdf
from tests.builders import fonts

TEXT = "every page of a document carries its 'Page N of M' line"


def image_page(mode: str) -> pypdf.PdfReader:
    """A page drawing one image (of ``mode``: "1", "L" or "RGB"), well inside the margins."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=1)
    picture = PILImage.new(mode, (40, 40), "black" if mode == "1" else 128)
    pdf.drawImage(ImageReader(picture), 100, 300, 200, 200)
    pdf.setFont("Helvetica", 10)
    pdf.drawString(100, 50, "Page 3 of 3")
    pdf.showPage()
    pdf.save()
    return pypdf.PdfReader(io.BytesIO(buffer.getvalue()))


def test_grey_and_colour_images_fail_on_a_fax_page_but_not_in_a_letter() -> None:
    fax = PageRules("A4", fax=True, text=TEXT)
    post = PageRules("A4", text=TEXT)
    for mode in ("L", "RGB"):
        reader = image_page(mode)
        (failure,) = [f for f in check_page(reader, reader.pages[0], "x.pdf, page 1", fax)
                      if "image" in f]  # fmt: skip
        assert failure.startswith("x.pdf, page 1: an image has greys or colours")
        assert not [f for f in check_page(reader, reader.pages[0], "p", post) if "image" in f]
    ours = enclosure_page()  # an enclosure's page as faxbatch writes it
    assert check_page(ours, ours.pages[0], "p", fax) == []


def enclosure_page() -> pypdf.PdfReader:
    geometry = Geometry.for_size("A4")
    raster = RasterImage("abc123", 8, 2, zlib.compress(bytes([0x0F, 0xF0])))
    page = Page(geometry, [Image(100, 300, 200, 50, raster.key)])
    add_footers([page], "T-1 · court")
    buffer = io.BytesIO()
    writer = PdfWriter(buffer, fonts(), images={raster.key: raster})
    writer.add_page(render_page(page, fonts()))
    writer.close()
    return pypdf.PdfReader(io.BytesIO(buffer.getvalue()))


def build(write_campaign: Callable[..., Path], tmp_path: Path) -> Path:
    (tmp_path / "statement.pdf").write_bytes(statement_pdf(pages=2))
    out = tmp_path / "out"
    build_batch(load_campaign(write_campaign(CAMPAIGN)), BuildOptions(out=out, jobs=1))
    assert run_preflight(out) == []
    return out


def rewrite_volume(out: Path, change: Callable[[pypdf.PdfWriter], None]) -> None:
    """Change the fax volume, and its job ticket to match (as a careless tool would)."""
    path = out / "print/fax-volume-001.pdf"
    writer = pypdf.PdfWriter(clone_from=path)
    change(writer)
    buffer = io.BytesIO()
    writer.write(buffer)
    data = buffer.getvalue()
    path.write_bytes(data)
    ticket = json.loads((out / JOB_JSON).read_text())
    for volume in ticket["volumes"]:
        if volume["file"] == "print/fax-volume-001.pdf":
            volume["bytes"], volume["sha256"] = len(data), hashlib.sha256(data).hexdigest()
    ticket["totals"]["bytes"] = sum(volume["bytes"] for volume in ticket["volumes"])
    (out / JOB_JSON).write_text(json.dumps(ticket))


def test_an_enclosure_page_showing_another_page_is_caught(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    out = build(write_campaign, tmp_path)

    def swap_images(writer: pypdf.PdfWriter) -> None:
        # court's fax is pages 1-4 of the volume: cover, letter, enclosure pages 1 and 2; the
        # third page keeps its footer but shows the image of the fourth
        third, fourth = writer.pages[2], writer.pages[3]
        (name,) = third["/Resources"]["/XObject"].keys()
        (other,) = fourth["/Resources"]["/XObject"].values()
        third["/Resources"]["/XObject"][NameObject(name)] = other

    rewrite_volume(out, swap_images)
    failures = run_preflight(out)
    assert any(
        "fax-volume-001.pdf, page 3: does not draw what page 3 of faxes/court.pdf" in failure
        for failure in failures
    ), failures


def test_an_enclosure_page_left_blank_is_caught(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    out = build(write_campaign, tmp_path)
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)

    def blank(writer: pypdf.PdfWriter) -> None:
        writer.pages[3][NameObject("/Contents")] = writer._add_object(
            pypdf.generic.DecodedStreamObject()
        )

    rewrite_volume(copy, blank)
    failures = run_preflight(copy)
    assert any("fax-volume-001.pdf, page 4: the page draws no text" in f for f in failures), (
        failures
    )
