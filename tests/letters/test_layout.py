from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from faxbatch.letters import layout
from faxbatch.letters.direction import EXPLICIT
from faxbatch.letters.fonts import LAYOUT_CHARACTERS, Style, drawn_characters, typeface
from faxbatch.letters.layout import (
    FAX_HEADER_ZONE,
    Geometry,
    LinePieces,
    Paragraph,
    Span,
    TextRun,
    flow,
    line_width,
    single_line,
    wrap,
    wrap_lines,
)
from faxbatch.letters.markdown import fill, parse_body

A4 = Geometry.for_size("A4")


def test_wrap_respects_the_width_and_keeps_every_word() -> None:
    text = "Peaceful assembly and free expression are rights " * 8
    lines = wrap([Span(text)], 200.0, 12.0)
    assert len(lines) > 3
    assert all(line_width(line, 12.0) <= 200.01 for line in lines)
    words = " ".join("".join(t for t, _s, _x in line) for line in lines).split()
    assert words == text.split()


def test_wrap_mixes_styles_in_one_line() -> None:
    (line,) = wrap([Span("plain "), Span("bold", Style.BOLD), Span(" again")], 400.0, 12.0)
    assert [(t, s) for t, s, _x in line] == [
        ("plain ", Style.REGULAR),
        ("bold", Style.BOLD),
        (" again", Style.REGULAR),
    ]
    assert line[0][2] == 0.0 and line[1][2] > 0.0


def test_overlong_word_is_cut_not_lost() -> None:
    word = "x" * 300
    lines = wrap([Span(word)], 100.0, 12.0)
    assert "".join(t for line in lines for t, _s, _x in line) == word
    assert all(line_width(line, 12.0) <= 100.01 for line in lines)


def test_newline_breaks_the_line() -> None:
    assert len(wrap([Span("one\ntwo\nthree")], 400.0, 12.0)) == 3


def _paragraph(n: int, lines: int) -> Paragraph:
    return Paragraph((Span("\n".join(f"p{n} line {i}" for i in range(lines))),))


def test_flow_breaks_pages_without_lonely_lines() -> None:
    blocks = [_paragraph(n, 7) for n in range(12)]
    pages = flow(blocks, A4)
    assert len(pages) > 1
    for page in pages:
        for item in page.items:
            assert isinstance(item, TextRun)
            assert A4.bottom - 1 <= item.y <= A4.height - FAX_HEADER_ZONE - item.size
    # no paragraph leaves a single line at the foot or at the head of a page
    for page in pages:
        runs = [item.text for item in page.items if isinstance(item, TextRun)]
        first_par, last_par = runs[0].split()[0], runs[-1].split()[0]
        assert sum(1 for r in runs if r.startswith(first_par + " ")) >= 2
        assert sum(1 for r in runs if r.startswith(last_par + " ")) >= 2
    texts = [item.text for page in pages for item in page.items if isinstance(item, TextRun)]
    assert texts == [f"p{n} line {i}" for n in range(12) for i in range(7)]


def test_keep_with_next_moves_a_heading_to_the_next_page() -> None:
    filler = [_paragraph(n, 8) for n in range(5)]
    probe = flow(filler, A4)
    free = probe[-1].items[-1].y - A4.bottom  # type: ignore[union-attr]
    lines_left = int(free // 15.6)
    blocks = [
        *filler,
        _paragraph(98, max(lines_left - 1, 0)),
        Paragraph((Span("Heading"),), keep_with_next=True),
        _paragraph(99, 5),
    ]
    pages = flow(blocks, A4)
    for page in pages:
        texts = [i.text for i in page.items if isinstance(i, TextRun)]
        if "Heading" in texts:
            assert texts.index("Heading") < len(texts) - 2


def test_markdown_lists_emphasis_and_placeholders() -> None:
    blocks = parse_body("Dear {name}, *very* **much**.\n\n- one\n- two\n\n1. first\n2. second\n")
    assert [b.bullet for b in blocks] == ["", "•", "•", "1.", "2."]
    assert [s.style for s in blocks[0].spans] == [
        Style.REGULAR,
        Style.ITALIC,
        Style.REGULAR,
        Style.BOLD,
        Style.REGULAR,
    ]
    assert blocks[1].indent > 0
    assert fill("{name} {{x}} {unknown}", {"name": "Ana"}) == "Ana {x} {unknown}"


def test_markdown_keeps_html_and_entities_as_text() -> None:
    (block,) = parse_body("<b>Ministry & Co</b> &amp; 1 < 2")
    assert "".join(s.text for s in block.spans) == "<b>Ministry & Co</b> &amp; 1 < 2"


def test_markdown_link_shows_its_address() -> None:
    (block,) = parse_body("See [our site](https://example.org).")
    assert "".join(s.text for s in block.spans) == "See our site (https://example.org)."


# -- text as written: spaces, soft hyphens, invisible characters, right-to-left text --------------
def _text(lines: list[LinePieces]) -> list[str]:
    return ["".join(t for t, _s, _x in line) for line in lines]


def test_every_space_keeps_its_own_width() -> None:
    face = typeface()[Style.REGULAR]
    for space in "\u00a0\u2009\u2007\u202f\u2003\u200a\u205f":
        (line,) = wrap([Span(f"a{space}b")], 400.0, 12.0)
        assert _text([line]) == [f"a{space}b"]
        assert line_width(line, 12.0) == pytest.approx(face.width(f"a{space}b", 12.0))
        assert face.char_width(space) > 0
    # a space the font lacks is drawn as a space of a space's width
    (line,) = wrap([Span("a\u3000b")], 400.0, 12.0)
    assert _text([line]) == ["a b"]


def test_no_line_breaks_at_a_no_break_space() -> None:
    words = ["Mr\u00a0Smith", "1\u202f234\u202f567", "10\u00a0May\u00a02012", "p.\u2007\u20073"]
    text = " ".join(words * 10)
    for line in _text(wrap([Span(text)], 90.0, 12.0)):
        assert line.split(" ") and all(word in words for word in line.split(" "))


def test_zero_width_characters_draw_nothing_and_a_zero_width_space_may_break() -> None:
    (line,) = wrap([Span("a\u200bb\u2060c\u200dd\ufeffe\u200cf\u200eg")], 400.0, 12.0)
    assert _text([line]) == ["abcdefg"]
    lines = wrap([Span("\u200b".join(["word"] * 30))], 100.0, 12.0)
    assert len(lines) > 1 and all(set(t) == set("word") for t in _text(lines))


def test_soft_hyphen_shows_only_where_the_line_breaks() -> None:
    word = "in\u00adter\u00adna\u00adtion\u00adal"
    (line,) = wrap([Span(word)], 400.0, 12.0)
    assert _text([line]) == ["international"]
    lines = _text(wrap([Span(" ".join([word] * 12))], 200.0, 12.0))
    assert any(t.endswith("-") for t in lines)
    assert all("-" not in t[:-1] for t in lines)  # never a hyphen inside a line
    joined = "".join(t[:-1] if t.endswith("-") else t + " " for t in lines)
    assert joined.split() == ["international"] * 12
    assert all(line_width(line, 12.0) <= 200.01 for line in wrap([Span(word * 20)], 200.0, 12.0))


def test_rtl_paragraph_reads_right_to_left_and_sits_flush_right() -> None:
    (line,) = wrap_lines([Span("שלום 2012 abc")], 400.0, 12.0)
    assert line.rtl and _text([line.pieces]) == ["abc 2012 םולש"]
    (block,) = parse_body("- שלום עולם")
    laid = flow([block], A4)[0].items
    runs = [item for item in laid if isinstance(item, TextRun)]
    text = next(r for r in runs if r.text != "•")
    bullet = next(r for r in runs if r.text == "•")
    right = text.x + typeface()[Style.REGULAR].width(text.text, text.size)
    assert right == pytest.approx(A4.right - block.indent)
    assert bullet.x > right  # the bullet goes where the line starts: on the right


def test_arabic_is_joined_and_italic_arabic_is_drawn_upright() -> None:
    spans = [Span("مرحبا ", Style.ITALIC), Span("world", Style.ITALIC)]
    (line,) = wrap_lines(spans, 400.0, 12.0)
    assert line.rtl  # the first letter is Arabic: "world" ends the line, on its left
    assert line.pieces[0] == ("world ", Style.ITALIC, 0.0)
    # joined, in display order, in the regular face (DejaVu Sans has no oblique Arabic)
    assert [(t, s) for t, s, _x in line.pieces[1:]] == [
        ("\ufe8e\ufe92\ufea3\ufeae\ufee3", Style.REGULAR)
    ]


def test_plain_text_single_line_is_drawn_as_written() -> None:
    assert single_line("T-1  ·  court", Style.REGULAR, 10.0).pieces == (
        ("T-1  ·  court", Style.REGULAR, 0.0),
    )


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.characters(
            codec="utf-8", exclude_categories=("Cs", "Co", "Cn"), exclude_characters="\x00"
        ),
        max_size=40,
    ),
    st.sampled_from(list(Style)),
)
def test_whatever_the_font_can_print_is_drawn_from_the_subset(text: str, style: Style) -> None:
    # what the campaign checks let through must be drawable with the batch's subsets: every
    # character layout draws is in the style's face and among the subset's characters
    text = "".join(c for c in text if not typeface().missing(c) and c not in EXPLICIT)
    tail = " \u05e9 (x)"  # right-to-left text in every paragraph, and brackets to mirror
    subset = drawn_characters(set(text + tail) | LAYOUT_CHARACTERS) | {" "}
    for line in wrap_lines([Span(text, style), Span(tail, style)], 120.0, 11.0):
        for piece, used, _x in line.pieces:
            assert all(typeface()[used].has(c) and c in subset for c in piece), piece


@pytest.mark.parametrize(
    "text",
    [
        "Office 0\nMinistry of Justice\nStreet 5 | Astana\nby fax: +7 7172 70 00 00",
        "Генеральная прокуратура Республики Казахстан",
        "\nline after an empty one\n",
        "",
    ],
)
def test_text_drawn_as_written_is_laid_out_as_when_broken(text: str) -> None:
    spans = (Span(text, Style.BOLD),)
    written = layout._as_written(spans, 400.0, 11.0)
    assert written is not None
    assert written == layout._broken_lines(spans, 400.0, 11.0)


@pytest.mark.parametrize(
    "text",
    [
        "two  spaces",  # drawn as one
        " leading space",
        "soft\u00adhyphen",
        "no-break\u00a0space",
        "tab\there",
        "carriage\rreturn",
        "zero\u200bwidth",
        "שלום",  # right to left
        "مرحبا",  # to join
        "Peaceful assembly and free expression are rights " * 3,  # wider than the line
    ],
)
def test_text_that_needs_breaking_or_shaping_is_not_drawn_as_written(text: str) -> None:
    assert layout._as_written((Span(text),), 300.0, 11.0) is None


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.sampled_from("ab Жж\n\u00a0\u00ad·-,"), max_size=60),
    st.sampled_from(list(Style)),
    st.sampled_from([40.0, 120.0, 400.0]),
)
def test_text_drawn_as_written_whenever_it_may_be_matches_broken_lines(
    text: str, style: Style, width: float
) -> None:
    spans = (Span(text, style),)
    written = layout._as_written(spans, width, 11.0)
    if written is not None:
        assert written == layout._broken_lines(spans, width, 11.0)
