from __future__ import annotations

import dataclasses
import io
import re
import subprocess
from pathlib import Path

import pypdf
import pytest

from faxbatch.campaign.model import PageSize, Recipient, Sender
from faxbatch.letters.document import DoesNotFit
from faxbatch.letters.envelopes import GLYPH_BOTTOM, GLYPH_TOP, envelope_spec
from faxbatch.letters.fonts import typeface
from faxbatch.letters.layout import MM, PAGE_SIZES, Page, TextRun
from faxbatch.letters.markdown import parse_body
from faxbatch.letters.postal import (
    AddressDoesNotFit,
    address_lines,
    check_return_line,
    postal_document,
    return_line_options,
    return_line_text,
)
from faxbatch.printshop.preflight import page_marks
from tests.builders import DAY, LONG_BODY, RECIPIENTS, make_campaign, pdf_file, postal, render
from tests.pdfcheck import font_report, qpdf_check, require_tool

COMBINATIONS: list[tuple[PageSize, str, str | None]] = [
    ("A4", "DL", "A"),
    ("A4", "DL", "B"),
    ("A4", "C5", "A"),
    ("A4", "C5", "B"),
    ("Letter", "us10", None),
]
SHORT_US = Recipient(
    id="embassy",
    name="Ambassador",
    organization="Embassy of Kazakhstan",
    address=("1401 16th St NW", "Washington, DC 20036"),
)


def _reader(pages: list[Page]) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(pdf_file(render(pages))))


@pytest.mark.parametrize(("page_size", "envelope", "form"), COMBINATIONS)
def test_address_and_return_line_lie_inside_the_window(
    page_size: PageSize, envelope: str, form: str | None
) -> None:
    campaign = make_campaign(page_size)
    recipient = RECIPIENTS[0] if page_size == "A4" else SHORT_US
    spec = envelope_spec(page_size, envelope, form)
    reader = _reader(postal(campaign, recipient, envelope, form))
    page = reader.pages[0]
    assert float(page.mediabox.width) == pytest.approx(PAGE_SIZES[page_size][0], abs=0.01)
    assert float(page.mediabox.height) == pytest.approx(PAGE_SIZES[page_size][1], abs=0.01)
    marks, _ = page_marks(reader, page)
    texts = [m for m in marks if m.kind == "text"]
    wanted = [return_line_text(campaign), *(line.text for line in address_lines(recipient))]
    found = [m for m in texts if m.text in wanted]
    assert [m.text for m in found] == wanted  # read back from the PDF, in order
    window = spec.window
    for mark in found:
        assert window.contains(mark.x0, mark.y0, mark.x1, mark.y1), mark
    # nothing else touches the window
    for mark in marks:
        if mark not in found and mark.kind == "text":
            assert not window.overlaps(mark.x0, mark.y0, mark.x1, mark.y1), mark


def test_address_survives_the_sheet_sliding_in_a_dl_envelope() -> None:
    # a 105 mm packet in a 110 mm envelope may slide 5 mm up; the window then hides the field's
    # top 5 mm: only the return line may be there. Sideways, 5 mm of play hides the right 5 mm.
    spec = envelope_spec("A4", "DL", "B")
    pages = postal(make_campaign(), RECIPIENTS[1], "DL", "B")
    runs = [item for item in pages[0].items if isinstance(item, TextRun)]
    address = [run for run in runs if spec.window.overlaps(run.x, run.y, run.x + 1, run.y + 1)]
    assert address[0].size < 8  # the return line comes first
    for run in address[1:]:
        assert run.y + GLYPH_TOP * run.size <= spec.window.top - 5 * MM
        assert run.y - GLYPH_BOTTOM * run.size >= spec.window.y
        assert run.x >= 25 * MM - 0.01


def test_no_cover_sheet_no_fax_line_and_page_n_of_m() -> None:
    campaign = make_campaign(body=LONG_BODY)
    pages = postal(campaign, RECIPIENTS[0], "DL", "B")
    assert len(pages) >= 2
    reader = _reader(pages)
    texts = [page.extract_text() for page in reader.pages]
    whole = "\n".join(texts)
    for absent in ("FAX", "By fax", "cover sheet", "++7727"):
        assert absent not in whole
    for n, text in enumerate(texts, start=1):
        assert f"Page {n} of {len(texts)}" in text
    first = texts[0]
    for present in (
        "The trial of Dmitry Tikhonov",
        "Reference: T-1",
        "10 May 2012",
        "Dear The Presiding Judge,",
        "Қазақстан",
        "Solidarity Group",
    ):
        assert present in first
    assert "Sincerely," in texts[-1]


def test_postal_pdf_is_sound_for_real_readers(tmp_path: Path) -> None:
    path = tmp_path / "letter.pdf"
    path.write_bytes(pdf_file(render(postal(make_campaign(), RECIPIENTS[0], "DL", "A"))))
    qpdf_check(path)
    assert all(embedded for _, embedded in font_report(path))


def _mark_rows(pages: list[Page], height: float) -> list[float]:
    reader = _reader(pages)
    marks, _ = page_marks(reader, reader.pages[0])
    return sorted(
        round((height - m.y1) / MM, 1) for m in marks if m.kind == "path" and m.x0 < 20 * MM
    )


def test_fold_marks_only_when_asked() -> None:
    campaign = make_campaign()
    spec = envelope_spec("A4", "DL", "A")
    body = parse_body(campaign.letter.body)
    with_marks = postal_document(campaign, RECIPIENTS[0], body, DAY, spec, fold_marks=True)
    without = postal_document(campaign, RECIPIENTS[0], body, DAY, spec, fold_marks=False)
    height = PAGE_SIZES["A4"][1]
    assert _mark_rows(with_marks, height) == [87.0, 148.5, 192.0]
    assert _mark_rows(without, height) == []


def test_rendered_page_shows_address_in_window_and_marks_in_margin(tmp_path: Path) -> None:
    """Rasterised by poppler, as a print shop's RIP would: ink in the window and on the marks."""
    tool = require_tool("pdftoppm")
    path = tmp_path / "letter.pdf"
    path.write_bytes(pdf_file(render(postal(make_campaign(), RECIPIENTS[0], "DL", "B"))))
    pgm = subprocess.run(
        [tool, "-gray", "-r", "72", "-f", "1", "-l", "1", str(path)],
        check=True,
        capture_output=True,
    ).stdout
    header = re.match(rb"P5\s+(\d+)\s+(\d+)\s+255\s", pgm)
    assert header
    width, height = int(header.group(1)), int(header.group(2))
    pixels = pgm[header.end() :]

    def ink(x0_mm: float, top_mm: float, x1_mm: float, bottom_mm: float) -> int:
        count = 0
        for row in range(round(top_mm * MM), round(bottom_mm * MM)):
            line = pixels[row * width : (row + 1) * width]
            count += sum(1 for v in line[round(x0_mm * MM) : round(x1_mm * MM)] if v < 128)
        return count

    assert (width, height) == (596, 842)  # poppler rounds 595.28 pt up
    assert ink(20, 45, 105, 90) > 500  # form B window: 45-90 mm from the top
    assert ink(0, 45, 20, 90) == 0  # nothing left of the window
    for mark in (105, 148.5, 210):
        assert ink(4, mark - 1, 14, mark + 1) > 0, mark  # fold and punch marks
    assert ink(0, 0, 4.5, 297) == 0  # nothing in the unprintable edge


def test_address_too_long_at_10_pt_is_refused_with_the_field() -> None:
    word = "Verwaltungsgerichtsbarkeitsangelegenheitenbeauftragter"
    recipient = dataclasses.replace(RECIPIENTS[0], organization=word)
    with pytest.raises(AddressDoesNotFit, match=r"recipients\[0\]\.organization.*10 pt") as caught:
        postal(make_campaign(), recipient, "DL", "B")
    assert isinstance(caught.value, DoesNotFit)  # the pipeline's rejection path takes it
    assert "mm wide" in str(caught.value)


def test_too_many_lines_are_refused() -> None:
    recipient = dataclasses.replace(RECIPIENTS[0], address=tuple(f"Line {n}" for n in range(8)))
    with pytest.raises(AddressDoesNotFit, match=r"needs 10 lines at 10 pt.*holds 8"):
        postal(make_campaign(), recipient, "DL", "B")


def test_us10_shrinks_to_10_pt_before_refusing() -> None:
    campaign = make_campaign("Letter")
    four = SHORT_US
    runs = [r for r in postal(campaign, four, "us10", None)[0].items if isinstance(r, TextRun)]
    address = [r for r in runs if r.text in {line.text for line in address_lines(four)}]
    assert len(address) == 4
    assert {r.size for r in address} < {10.0, 10.5}
    five = dataclasses.replace(four, title="Head of Mission")
    with pytest.raises(
        AddressDoesNotFit, match="needs 5 lines at 10 pt, but the window of the US #10"
    ):
        postal(campaign, five, "us10", None)


def test_wrapped_organization_is_named_when_it_does_not_fit() -> None:
    campaign = make_campaign("Letter")
    with pytest.raises(AddressDoesNotFit, match=r"shorten recipients\[1\]\.organization"):
        postal(campaign, RECIPIENTS[1], "us10", None)


def test_a_long_return_line_is_shortened_to_fit() -> None:
    sender = Sender(
        name="Ann",
        organization="International Committee for the Defence of Trade Union Rights",
        address=("Long Street 1234", "Springfield Heights", "United States of America"),
        country="US",
    )
    campaign = make_campaign(sender=sender)
    spec = envelope_spec("A4", "DL", "B")
    check_return_line(campaign, spec)  # the name in place of the organization fits
    options = return_line_options(campaign, domestic=True)
    assert options[0].startswith("International Committee")
    assert "Ann · Long Street 1234 · Springfield Heights" in options  # domestic: no country
    assert all("Springfield" in option for option in options)
    abroad = return_line_options(campaign, domestic=False)
    assert all(option.endswith("United States of America") for option in abroad)


def test_a_return_line_that_cannot_fit_names_sender_return_line() -> None:
    sender = Sender(
        name="Ann Organizer of the Campaign for Workers",
        organization="International Committee for the Defence of Trade Union Rights",
        address=("Long Street 1234, Building 7, Staircase B", "Springfield Heights 12345"),
    )
    spec = envelope_spec("A4", "DL", "B")
    with pytest.raises(AddressDoesNotFit, match=r"return line .* set sender\.return_line"):
        check_return_line(make_campaign(sender=sender), spec)
    given = dataclasses.replace(sender, return_line="Ann · PO Box 1 · 12345 Springfield")
    check_return_line(make_campaign(sender=given), spec)
    too_long = dataclasses.replace(sender, return_line="x" * 200)
    with pytest.raises(AddressDoesNotFit, match=r"shorten sender\.return_line"):
        check_return_line(make_campaign(sender=too_long), spec)
    check_return_line(make_campaign(), spec)  # the usual one fits


def test_page_size_must_match_the_envelope() -> None:
    campaign = make_campaign("A4")
    spec = envelope_spec("Letter", "us10")
    with pytest.raises(ValueError, match="takes Letter sheets"):
        postal_document(campaign, SHORT_US, parse_body("Text."), DAY, spec)


def test_no_postal_address_no_letter() -> None:
    recipient = dataclasses.replace(RECIPIENTS[0], address=())
    with pytest.raises(AddressDoesNotFit, match=r"recipients\[0\]\.address is empty"):
        postal(make_campaign(), recipient, "DL", "B")


def test_words_joined_by_no_break_spaces_are_one_word_for_the_window() -> None:
    # "Mr Smith" written with no-break spaces cannot be broken: too wide is refused, not cut
    name = "\u00a0".join(["Verwaltungsgericht", "Almaty", "Berufungskammer"])
    recipient = dataclasses.replace(RECIPIENTS[0], name=name)
    with pytest.raises(AddressDoesNotFit, match=r"recipients\[0\]\.name"):
        postal(make_campaign(), recipient, "DL", "B")


def test_a_right_to_left_address_line_sits_flush_right_in_the_window() -> None:
    spec = envelope_spec("A4", "DL", "B")
    recipient = dataclasses.replace(
        RECIPIENTS[0], address=("شارع أباي 10", "ألماتي", "Almaty 050000")
    )
    pages = postal(make_campaign(), recipient, "DL", "B")
    runs = [item for item in pages[0].items if isinstance(item, TextRun)]
    arabic = [run for run in runs if any("\ufe70" <= c <= "\ufeff" for c in run.text)]
    assert len(arabic) == 2
    box = spec.text_box
    for run in arabic:
        width = typeface()[run.style].width(run.text, run.size)
        assert run.x + width == pytest.approx(box.right, abs=0.01)
        assert spec.window.contains(run.x, run.y, run.x + width, run.y)
    latin = next(run for run in runs if run.text == "Almaty 050000")
    assert latin.x == pytest.approx(box.x)


@pytest.mark.parametrize(
    ("sender_country", "line"),
    [("DE", "KASACHSTAN"), ("US", "KAZAKHSTAN"), ("FR", "KAZAKHSTAN"), ("RU", "КАЗАХСТАН")],
)
def test_a_letter_abroad_ends_with_the_country_in_the_senders_language(
    sender_country: str, line: str
) -> None:
    recipient = dataclasses.replace(RECIPIENTS[0], country="KZ")
    lines = address_lines(recipient, sender_country)
    assert lines[-1].text == line and lines[-1].field == "recipients[0].country"
    assert [item.text for item in lines[:-1]] == [item.text for item in address_lines(recipient)]
    assert address_lines(recipient, "KZ") == address_lines(recipient)  # domestic: no line
    assert address_lines(dataclasses.replace(recipient, country=None), "DE")[-1].text != line


def test_the_country_line_is_printed_inside_the_window_and_counts() -> None:
    address = ("Postfach 1", "10115 Berlin")
    sender = Sender(name="Anna", organization="Solidarität e.V.", address=address, country="DE")
    campaign = make_campaign(sender=sender)
    recipient = dataclasses.replace(RECIPIENTS[0], country="KZ")
    spec = envelope_spec("A4", "DL", "B")
    pages = postal_document(campaign, recipient, parse_body("Text."), DAY, spec)
    window = spec.window
    texts = [
        item.text
        for item in pages[0].items
        if isinstance(item, TextRun) and window.x <= item.x <= window.right and item.y >= window.y
    ]
    assert texts[-1] == "KASACHSTAN"


def test_a_one_line_postal_address_is_not_deliverable() -> None:
    recipient = dataclasses.replace(RECIPIENTS[0], address=("Almaty",))
    spec = envelope_spec("A4", "DL", "B")
    with pytest.raises(AddressDoesNotFit, match=r"address has a single line \('Almaty'\)"):
        postal_document(make_campaign(), recipient, parse_body("Text."), DAY, spec)


def test_a_country_name_the_font_cannot_draw_is_written_in_english() -> None:
    from faxbatch.letters.postal import country_line

    recipient = dataclasses.replace(RECIPIENTS[0], country="KZ")
    assert country_line(recipient, "CN") == "KAZAKHSTAN"  # not 哈萨克斯坦
    assert country_line(recipient, "KZ") == ""
