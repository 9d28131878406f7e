from __future__ import annotations

import pytest

from faxbatch.letters.envelopes import (
    PUNCH_MARK,
    EnvelopeSpec,
    envelope_spec,
    mark_rules,
    window,
    window_on_folded_sheet,
)
from faxbatch.letters.layout import MM, PAGE_SIZES

INCH = 72.0
A4_HEIGHT = PAGE_SIZES["A4"][1]
LETTER_HEIGHT = PAGE_SIZES["Letter"][1]


def from_top_mm(y: float, height: float = A4_HEIGHT) -> float:
    return round((height - y) / MM, 3)


@pytest.mark.parametrize(("form", "top_mm"), [("A", 27.0), ("B", 45.0)])
@pytest.mark.parametrize("envelope", ["DL", "C5"])
def test_din5008_address_field(envelope: str, form: str, top_mm: float) -> None:
    rect = window("A4", envelope, form)
    assert round(rect.x / MM, 3) == 20.0
    assert round(rect.w / MM, 3) == 85.0
    assert round(rect.h / MM, 3) == 45.0
    assert from_top_mm(rect.top) == top_mm
    assert from_top_mm(rect.y) == top_mm + 45.0


def test_dl_and_c5_share_the_field_but_fold_differently() -> None:
    dl = envelope_spec("A4", "DL", "A")
    c5 = envelope_spec("A4", "C5", "A")
    assert dl.window == c5.window
    assert [round(f / MM, 3) for f in dl.folds] == [87.0, 192.0]
    assert [round(f / MM, 3) for f in envelope_spec("A4", "DL", "B").folds] == [105.0, 210.0]
    assert c5.folds == (PUNCH_MARK,)
    assert round(PUNCH_MARK / MM, 3) == 148.5
    assert "148.5 mm" in c5.fold_instruction
    assert "87 mm and 192 mm" in dl.fold_instruction


def test_din5008_form_b_is_the_default_on_a4() -> None:
    assert envelope_spec("A4", "DL").din5008 == "B"
    assert envelope_spec("A4", "DL") == envelope_spec("A4", "DL", "B")


@pytest.mark.parametrize("form", ["A", "B"])
def test_dl_window_lands_on_the_address_field_of_the_folded_sheet(form: str) -> None:
    spec = envelope_spec("A4", "DL", form)
    seen = window_on_folded_sheet(spec)
    assert seen is not None
    field = spec.window
    # resting on the envelope's bottom, the window shows exactly the field's height ...
    assert seen.y == pytest.approx(field.y, abs=0.01)
    assert seen.top == pytest.approx(field.top, abs=0.01)
    # ... and, centred, 15-105 mm across: the whole field (20-105 mm)
    assert round(seen.x / MM, 3) == 15.0
    assert round(seen.right / MM, 3) == 105.0
    # the sheet has 5 mm of play either way in a 220 mm envelope; the text box stays visible
    for shift in (-5 * MM, 0.0, 5 * MM):
        assert seen.x - shift <= spec.text_box.x
        assert spec.text_box.right <= seen.right - shift + 0.01


def test_window_of_envelopes_given_on_the_sheet_is_not_computed() -> None:
    assert window_on_folded_sheet(envelope_spec("A4", "C5")) is None
    assert window_on_folded_sheet(envelope_spec("Letter", "us10")) is None


def test_us10_recipient_block_on_letter() -> None:
    spec = envelope_spec("Letter", "us10")
    assert spec.din5008 is None
    assert spec.window.x == pytest.approx(0.5 * INCH)
    assert LETTER_HEIGHT - spec.window.top == pytest.approx(2.042 * INCH)
    assert spec.window.w == pytest.approx(3.5 * INCH)
    assert spec.window.h == pytest.approx(0.875 * INCH)
    assert spec.punch_mark is None
    assert spec.folds == pytest.approx((11 / 3 * INCH, 22 / 3 * INCH))


@pytest.mark.parametrize(
    ("page_size", "envelope", "form", "words"),
    [
        ("A4", "us10", None, "us10 takes Letter"),
        ("Letter", "DL", None, "DL takes A4"),
        ("Letter", "C5", "A", "C5 takes A4"),
        ("Letter", "us10", "B", "leave it out with us10"),
        ("A4", "C4", None, "unknown envelope 'C4'"),
        ("A4", "DL", "C", "unknown DIN 5008 form 'C'"),
        ("A5", "DL", None, "unknown page size 'A5'"),
    ],
)
def test_impossible_combinations_explain_themselves(
    page_size: str, envelope: str, form: str | None, words: str
) -> None:
    with pytest.raises(ValueError, match=words):
        envelope_spec(page_size, envelope, form)


def _marks(spec: EnvelopeSpec, height: float) -> list[tuple[float, float]]:
    return [
        (round((height - r.y1) / MM, 2), round((r.x2 - r.x1) / MM, 2)) for r in mark_rules(spec)
    ]


def test_fold_and_punch_marks_sit_in_the_left_margin() -> None:
    dl_a = envelope_spec("A4", "DL", "A")
    assert _marks(dl_a, A4_HEIGHT) == [(87.0, 5.0), (192.0, 5.0), (148.5, 8.0)]
    assert _marks(envelope_spec("A4", "DL", "B"), A4_HEIGHT) == [
        (105.0, 5.0),
        (210.0, 5.0),
        (148.5, 8.0),
    ]
    assert _marks(envelope_spec("A4", "C5", "B"), A4_HEIGHT) == [(148.5, 8.0)]
    assert [round(y * 3 / 25.4, 2) for y, _ in _marks(envelope_spec("Letter", "us10"), 792)] == [
        11.0,
        22.0,
    ]
    for spec in (dl_a, envelope_spec("Letter", "us10")):
        for rule in mark_rules(spec):
            assert rule.y1 == rule.y2
            assert 5 * MM <= rule.x1 < rule.x2 <= 13 * MM < 25 * MM  # printable, clear of text
