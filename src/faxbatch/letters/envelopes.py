"""Window envelopes: where the address must sit on the sheet, and where the sheet is folded.

Pure geometry, in PDF points with the origin at the bottom left of the page (as in
:mod:`faxbatch.letters.layout`). Three envelopes are known (see ``../shared/DOMAIN.md``):

- ``DL`` (220 × 110 mm) and ``C5`` (229 × 162 mm) take A4 sheets laid out after DIN 5008: the
  address field is 85 × 45 mm, 20 mm from the left edge and 27 mm (form A) or 45 mm (form B) from
  the top. The field is the same on the sheet for both envelopes; what differs is the fold. For DL
  the sheet is folded twice, at the fold marks (form A: 87 and 192 mm, form B: 105 and 210 mm from
  the top); folded, both forms give a 105 mm packet whose front shows the field 45–90 mm below the
  packet's top, which, resting on the bottom of the 110 mm envelope, is 50–95 mm below the
  envelope's top: exactly DL's window (45 mm high, 15 mm above the bottom edge). For C5 the sheet
  is folded once, in the middle (148.5 mm, where DIN 5008's punch mark is).
- ``us10`` (9.5 × 4.125 in) takes Letter sheets folded in thirds; the recipient block sits 0.5 in
  from the left and 2.042 in from the top, at most 3.5 × 0.875 in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from faxbatch.campaign.model import (
    DEFAULT_DIN5008,
    Din5008Form,
    Envelope,
    PageSize,
    envelope_problem,
)
from faxbatch.letters.layout import MM, PAGE_SIZES, Rule

INCH = 72.0


#: How far a line of DejaVu Sans reaches above and below its baseline, in em (the font's own
#: ascender and descender: accented capitals such as Й included). Text counts as inside a window
#: only when all of this is inside.
GLYPH_TOP = 0.93
GLYPH_BOTTOM = 0.24

#: DIN 5008's mid-page punch mark, from the top of an A4 sheet
PUNCH_MARK = 148.5 * MM

_FOLD_MARKS_MM: dict[Din5008Form, tuple[float, float]] = {"A": (87.0, 192.0), "B": (105.0, 210.0)}
_FIELD_TOP_MM: dict[Din5008Form, float] = {"A": 27.0, "B": 45.0}

#: marks in the left margin: inside the printable area of office printers (5 mm), short enough to
#: stay clear of the text (which starts at 25 mm)
MARK_START = 5 * MM
FOLD_MARK_END = 10 * MM
PUNCH_MARK_END = 13 * MM
MARK_WIDTH = 0.6


@dataclass(frozen=True)
class Rect:
    """A rectangle on the page: lower left corner, width and height (points)."""

    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        """Right edge."""
        return self.x + self.w

    @property
    def top(self) -> float:
        """Top edge."""
        return self.y + self.h

    def inset(self, left: float, right: float, top: float, bottom: float) -> Rect:
        """The rectangle shrunk by the given distances on each side."""
        return Rect(self.x + left, self.y + bottom, self.w - left - right, self.h - top - bottom)

    def contains(self, x0: float, y0: float, x1: float, y1: float, slack: float = 0.05) -> bool:
        """Whether the box (x0, y0)–(x1, y1) lies inside (``slack`` points of rounding allowed)."""
        return (
            x0 >= self.x - slack
            and y0 >= self.y - slack
            and x1 <= self.right + slack
            and y1 <= self.top + slack
        )

    def overlaps(self, x0: float, y0: float, x1: float, y1: float) -> bool:
        """Whether the box (x0, y0)–(x1, y1) has any area in common with this rectangle."""
        return x0 < self.right and x1 > self.x and y0 < self.top and y1 > self.y


@dataclass(frozen=True)
class EnvelopeSpec:
    """One envelope on one page size: the window on the sheet, the folds, the marks."""

    envelope: Envelope
    page_size: PageSize
    din5008: Din5008Form | None  # None for us10
    #: the part of the sheet that shows through the window (page coordinates)
    window: Rect
    #: where the return line and the address are laid out: the window less a margin for the
    #: sheet's play inside the envelope
    text_box: Rect
    #: fold lines, as distances from the top of the sheet (points)
    folds: tuple[float, ...]
    #: DIN 5008's punch mark, from the top (A4 only)
    punch_mark: float | None
    #: how the print shop folds and stuffs the sheets, in words
    fold_instruction: str

    @property
    def label(self) -> str:
        """``DL window envelope, DIN 5008 form B``, for people."""
        if self.din5008:
            return f"{self.envelope} window envelope, DIN 5008 form {self.din5008}"
        return "US #10 window envelope"


def envelope_spec(page_size: str, envelope: str, din5008: str | None = None) -> EnvelopeSpec:
    """The window and folds of ``envelope`` on ``page_size`` sheets.

    ``din5008`` (``A`` or ``B``) chooses the DIN 5008 form on A4; it defaults to B there and must be
    left out for ``us10``. Raises :class:`ValueError` with a sentence for a combination that does
    not exist.
    """
    problem = envelope_problem(page_size, envelope, din5008)
    if problem is not None:
        raise ValueError(problem)
    if envelope == "us10":
        return _us10()
    form = DEFAULT_DIN5008 if din5008 is None else din5008
    return _din5008("DL" if envelope == "DL" else "C5", "A" if form == "A" else "B")


def window(page_size: str, envelope: str, din5008: str | None = None) -> Rect:
    """The window rectangle of ``envelope`` on the page (see :func:`envelope_spec`)."""
    return envelope_spec(page_size, envelope, din5008).window


def _din5008(envelope: Literal["DL", "C5"], form: Din5008Form) -> EnvelopeSpec:
    _, height = PAGE_SIZES["A4"]
    field_top = height - _FIELD_TOP_MM[form] * MM
    field = Rect(20 * MM, field_top - 45 * MM, 85 * MM, 45 * MM)
    # DIN 5008 starts the address text at 25 mm; the right 5 mm stay free because an A4 sheet
    # has 5 mm of play on either side in a DL envelope (210 mm in 220 mm)
    text_box = field.inset(5 * MM, 5 * MM, 1.5 * MM, 1.5 * MM)
    if envelope == "DL":
        upper, lower = _FOLD_MARKS_MM[form]
        folds: tuple[float, ...] = (upper * MM, lower * MM)
        instruction = (
            f"fold twice, at the fold marks ({upper:g} mm and {lower:g} mm from the top), the "
            "address panel outwards, and insert with the address towards the window"
        )
    else:
        folds = (PUNCH_MARK,)
        instruction = (
            "fold once, in the middle (at the punch mark, 148.5 mm from the top), the address "
            "half outwards, and insert with the address towards the window"
        )
    return EnvelopeSpec(envelope, "A4", form, field, text_box, folds, PUNCH_MARK, instruction)


def _us10() -> EnvelopeSpec:
    _, height = PAGE_SIZES["Letter"]
    block = Rect(0.5 * INCH, height - 2.042 * INCH - 0.875 * INCH, 3.5 * INCH, 0.875 * INCH)
    third = 11.0 / 3
    return EnvelopeSpec(
        "us10",
        "Letter",
        None,
        block,
        block,  # the block is already the safe area inside the window
        (third * INCH, 2 * third * INCH),
        None,
        "fold in thirds (at the fold marks, 3 2/3 in and 7 1/3 in from the top), the address "
        "panel outwards, and insert with the address towards the window",
    )


def mark_rules(spec: EnvelopeSpec) -> list[Rule]:
    """Fold marks (and the punch mark on A4) as short rules in the left margin.

    Only the folds this envelope needs are marked: a DL letter gets DIN 5008's two fold marks, a
    C5 letter is folded at the punch mark, a us10 letter at its thirds.
    """
    _, height = PAGE_SIZES[spec.page_size]
    rules = [
        Rule(MARK_START, height - fold, FOLD_MARK_END, height - fold, MARK_WIDTH)
        for fold in spec.folds
        if fold != spec.punch_mark
    ]
    if spec.punch_mark is not None:
        y = height - spec.punch_mark
        rules.append(Rule(MARK_START, y, PUNCH_MARK_END, y, MARK_WIDTH))
    return rules


def window_on_folded_sheet(spec: EnvelopeSpec) -> Rect | None:
    """Where a DL envelope's window falls on the A4 sheet, folded and resting on the bottom.

    The sheet is centred sideways (5 mm of play either way). Returns None where the window's
    position on the envelope is not known (C5, us10: their block is given on the sheet itself).
    A DL window is 90 × 45 mm, 20 mm from the left and 15 mm from the bottom of the envelope.
    """
    if spec.envelope != "DL" or spec.din5008 is None:
        return None
    envelope_w, envelope_h = 220.0, 110.0
    upper, lower = _FOLD_MARKS_MM[spec.din5008]
    packet_h = max(upper, lower - upper, 297.0 - lower)  # the tallest panel sets the packet
    # the front panel is the sheet's top panel, hinged at the upper fold; one shorter than the
    # packet (form A: 87 of 105 mm) ends that much below the packet's top, upright in the window
    offset = packet_h - upper
    packet_top_in_envelope = envelope_h - packet_h
    window_top = envelope_h - 15.0 - 45.0  # in the envelope, from its top
    sheet_top = window_top - packet_top_in_envelope - offset  # on the sheet, from its top
    sheet_left = 20.0 - (envelope_w - 210.0) / 2
    _, height = PAGE_SIZES["A4"]
    return Rect(sheet_left * MM, height - (sheet_top + 45.0) * MM, 90.0 * MM, 45.0 * MM)
