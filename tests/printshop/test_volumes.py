from __future__ import annotations

import hashlib
import math
import random
import zlib
from pathlib import Path

import pypdf
import pytest

from faxbatch.letters.document import add_footers
from faxbatch.letters.layout import Geometry, Image, Page
from faxbatch.letters.pdf import PageContent, RasterImage
from faxbatch.printshop.preflight import page_marks
from faxbatch.printshop.volumes import DEFAULT_MAX_BYTES, DEFAULT_MAX_PAGES, VolumeSet, blank_page
from tests.builders import fonts, make_campaign, postal, render, synthetic
from tests.pdfcheck import qpdf_check


def write(folder: Path, docs: list[tuple[str, list[PageContent]]], **options: object) -> VolumeSet:
    volumes = VolumeSet(folder, "post", fonts(), "A4", **options)
    with volumes:
        for doc_id, contents in docs:
            volumes.add_document(doc_id, f"{doc_id}: letter", contents)
    return volumes


def outline(reader: pypdf.PdfReader) -> list[tuple[str, int]]:
    return [(str(i.title), reader.get_destination_page_number(i) + 1) for i in reader.outline]


def test_defaults_fit_common_upload_limits() -> None:
    assert DEFAULT_MAX_BYTES <= 5_000_000
    assert DEFAULT_MAX_PAGES == 500


def test_duplex_starts_every_document_on_a_front_side_with_blank_pads(tmp_path: Path) -> None:
    sizes = {"a": 1, "b": 2, "c": 3, "d": 1, "e": 1}
    docs = [(name, synthetic(name, n)) for name, n in sizes.items()]
    volumes = write(tmp_path, docs, duplex=True)
    starts = {p.doc_id: (p.first_page, p.last_page) for p in volumes.placements}
    # a: 1 | pad 2 | b: 3-4 | c: 5-7 | pad 8 | d: 9 | pad 10 | e: 11
    assert starts == {"a": (1, 1), "b": (3, 4), "c": (5, 7), "d": (9, 9), "e": (11, 11)}
    (record,) = volumes.volumes
    assert (record.pages, record.pad_pages, record.sheets, record.documents) == (11, 3, 6, 5)
    reader = pypdf.PdfReader(tmp_path / record.file)
    assert len(reader.pages) == 11
    for pad in (2, 8, 10):
        page = reader.pages[pad - 1]
        marks, operators = page_marks(reader, page)
        assert (marks, operators) == ([], 0)  # truly blank: not a single operator
        (stream,) = page["/Contents"]
        assert stream.get_object().get_data() == b""
        assert not page["/Resources"].get("/Font")
    # every document's own pages say "Page N of M" for that document alone
    for placement in volumes.placements:
        total = placement.pages
        for n in range(total):
            text = reader.pages[placement.first_page - 1 + n].extract_text()
            assert f"Page {n + 1} of {total}" in text
            assert f"{placement.doc_id} {n + 1}" in text
    assert outline(reader) == [(f"{d}: letter", starts[d][0]) for d in sizes]
    qpdf_check(tmp_path / record.file)


def test_simplex_has_no_pads(tmp_path: Path) -> None:
    volumes = write(tmp_path, [("a", synthetic("a", 1)), ("b", synthetic("b", 1))])
    (record,) = volumes.volumes
    assert (record.pages, record.pad_pages, record.sheets) == (2, 0, 2)
    assert [p.first_page for p in volumes.placements] == [1, 2]


def test_splits_at_document_boundaries_under_the_page_limit(tmp_path: Path) -> None:
    docs = [(f"d{n}", synthetic(f"d{n}", 3)) for n in range(5)]
    volumes = write(tmp_path, docs, duplex=True, max_pages=8)
    # 3 + pad + 3 = 7 pages; the third document would make 11
    assert [(r.file, r.pages, r.documents) for r in volumes.volumes] == [
        ("print/post-volume-001.pdf", 7, 2),
        ("print/post-volume-002.pdf", 7, 2),
        ("print/post-volume-003.pdf", 3, 1),
    ]
    for record in volumes.volumes:
        reader = pypdf.PdfReader(tmp_path / record.file)
        assert len(reader.pages) == record.pages <= 8
        assert len(reader.outline) == record.documents
    assert [(p.volume[-7:-4], p.first_page, p.last_page) for p in volumes.placements] == [
        ("001", 1, 3),
        ("001", 5, 7),
        ("002", 1, 3),
        ("002", 5, 7),
        ("003", 1, 3),
    ]
    assert volumes.warnings == []


def test_splits_under_the_byte_limit(tmp_path: Path) -> None:
    campaign = make_campaign()
    letters = [render(postal(campaign, r, "DL", "B")) for r in campaign.recipients]
    docs = [(f"d{n}", letters[n % 3]) for n in range(30)]
    limit = 25_000
    volumes = write(tmp_path, docs, duplex=True, max_bytes=limit)
    assert len(volumes.volumes) > 1
    assert sum(r.documents for r in volumes.volumes) == 30
    for record in volumes.volumes:
        size = (tmp_path / record.file).stat().st_size
        assert size == record.bytes <= limit
    # the estimate is careful, not wasteful: full volumes are at least two thirds full
    for record in volumes.volumes[:-1]:
        assert record.bytes > limit * 2 / 3


def test_a_document_over_the_limit_gets_a_volume_of_its_own(tmp_path: Path) -> None:
    docs = [("a", synthetic("a", 2)), ("huge", synthetic("huge", 6)), ("b", synthetic("b", 1))]
    volumes = write(tmp_path, docs, duplex=True, max_pages=4)
    assert [(r.documents, r.pages) for r in volumes.volumes] == [(1, 2), (1, 6), (1, 1)]
    assert [p.volume for p in volumes.placements] == [
        "print/post-volume-001.pdf",
        "print/post-volume-002.pdf",
        "print/post-volume-003.pdf",
    ]
    (warning,) = volumes.warnings
    assert "huge (6 pages)" in warning and "post-volume-002.pdf" in warning


def test_each_font_program_is_embedded_once_per_volume(tmp_path: Path) -> None:
    campaign = make_campaign()
    letter = render(postal(campaign, campaign.recipients[0], "DL", "B"))
    volumes = write(tmp_path, [(f"d{n}", letter) for n in range(20)], duplex=True)
    (record,) = volumes.volumes
    reader = pypdf.PdfReader(tmp_path / record.file)
    programs = set()
    for page in reader.pages:
        for ref in page["/Resources"].get("/Font", {}).values():
            descendant = ref.get_object()["/DescendantFonts"][0].get_object()
            descriptor = descendant["/FontDescriptor"].get_object()
            programs.add(descriptor.raw_get("/FontFile2").idnum)
    styles = set().union(*(c.styles for c in letter))
    assert len(programs) == len(styles) <= 4  # not once per letter
    font_bytes = sum(len(fonts()[style].font_file_z) for style in styles)
    assert record.bytes < font_bytes + 20 * 2000  # a copy per letter would be 20 x font_bytes


def test_records_match_the_files(tmp_path: Path) -> None:
    volumes = write(tmp_path, [("a", synthetic("a", 3))], duplex=True, title="Campaign")
    (record,) = volumes.volumes
    data = (tmp_path / record.file).read_bytes()
    assert record.bytes == len(data)
    assert record.sha256 == hashlib.sha256(data).hexdigest()
    assert record.sheets == math.ceil(record.pages / 2)
    assert pypdf.PdfReader(tmp_path / record.file).metadata.title == "Campaign, volume 1"


def test_same_documents_same_bytes(tmp_path: Path) -> None:
    docs = [("a", synthetic("a", 3)), ("b", synthetic("b", 2))]
    first = write(tmp_path / "one", docs, duplex=True).volumes
    second = write(tmp_path / "two", docs, duplex=True).volumes
    assert [r.sha256 for r in first] == [r.sha256 for r in second]


def test_nothing_written_without_documents(tmp_path: Path) -> None:
    volumes = write(tmp_path, [])
    assert volumes.volumes == []
    assert not (tmp_path / "print").exists()


def test_pages_of_another_size_are_refused(tmp_path: Path) -> None:
    with (
        VolumeSet(tmp_path, "fax", fonts(), "A4") as volumes,
        pytest.raises(ValueError, match="not A4"),
    ):
        volumes.add_document("x", "x", synthetic("x", 1, "Letter"))
    assert blank_page("Letter").width == 612


def test_an_error_leaves_no_half_written_record(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), VolumeSet(tmp_path, "fax", fonts(), "A4") as volumes:
        volumes.add_document("a", "a", synthetic("a", 1))
        raise RuntimeError("interrupted")
    assert volumes.volumes == []
    with pytest.raises(RuntimeError, match="closed"):
        volumes.add_document("b", "b", synthetic("b", 1))


def test_an_enclosure_image_is_written_once_per_volume_and_counted_once(tmp_path: Path) -> None:
    """Letters that share an enclosure's page share its image: the byte limit counts it once."""
    # 400 × 400 pixels of noise: an image that does not compress (20 kB)
    raster = RasterImage("noise", 400, 400, zlib.compress(random.Random(0).randbytes(20_000), 0))
    geometry = Geometry.for_size("A4")
    docs = []
    for n in range(40):
        pages = [Page(geometry, [Image(100, 200, 300, 300, raster.key)])]
        add_footers(pages, f"d{n}")
        docs.append((f"d{n}", render(pages)))
    limit = 60_000
    volumes = write(tmp_path, docs, max_bytes=limit, images={raster.key: raster})
    assert sum(r.documents for r in volumes.volumes) == 40
    for record in volumes.volumes:
        assert (tmp_path / record.file).stat().st_size == record.bytes <= limit
        reader = pypdf.PdfReader(tmp_path / record.file)
        drawn = {page["/Resources"]["/XObject"].raw_get("/Imnoise").idnum for page in reader.pages}
        assert len(drawn) == 1  # one image object, every page pointing at it
    # counted once: a volume holds far more letters than the limit over the image's size
    assert len(volumes.volumes) <= 3
