"""The bidirectional algorithm, checked against python-bidi (the Unicode algorithm in Rust)."""

from __future__ import annotations

import bidi
from hypothesis import given, settings
from hypothesis import strategies as st

from faxbatch.letters.direction import (
    MIRROR,
    explicit_controls,
    has_rtl,
    levels,
    line_order,
    paragraph_level,
)
from faxbatch.letters.fonts import is_invisible

# Latin, digits, Hebrew with points, Arabic with marks and presentation forms, Arabic-Indic
# digits, spaces, tabs, numeric separators and terminators, brackets, direction marks, joiners
ALPHABET = "abZ 12٠١۳שׁלָعَبﻻﺑ()[]{}«»<>-+.,:;/%$#!?\"'\t\u200e\u200f\u061c\u200d\u00ad\u00a0\u2009"


def _visual(text: str) -> str:
    base = paragraph_level(text)
    order = line_order(text, levels(text, base), base)
    return "".join(text[i] for i in order)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=24))
def test_display_order_matches_python_bidi(text: str) -> None:
    # python-bidi places the characters the algorithm ignores (X9) where it likes; they are
    # never drawn, so compare what is
    theirs = bidi.get_display(text)
    assert isinstance(theirs, str)
    mine = _visual(text)
    assert [c for c in mine if not is_invisible(c)] == [c for c in theirs if not is_invisible(c)]


def test_numbers_and_latin_words_keep_their_order_inside_rtl_text() -> None:
    text = "שלום 2012 abc def עולם"
    assert _visual(text) == "םלוע abc def 2012 םולש"


def test_paragraph_direction_is_that_of_the_first_letter() -> None:
    assert paragraph_level("123 שלום abc") == 1
    assert paragraph_level("(abc) שלום") == 0
    assert paragraph_level("123 ...") == 0
    assert paragraph_level("\u200fabc") == 1  # a right-to-left mark makes it so


def test_brackets_are_mirrored_in_rtl_runs() -> None:
    text = "שלום (עולם)"
    resolved = levels(text, 1)
    order = line_order(text, resolved, 1)
    shown = "".join(MIRROR.get(text[i], text[i]) if resolved[i] % 2 else text[i] for i in order)
    assert shown == "(םלוע) םולש"


def test_explicit_controls_are_found_and_rtl_detected() -> None:
    assert explicit_controls("a\u202bb\u202cc\u202b") == ["\u202b", "\u202c"]
    assert explicit_controls("plain \u200f text") == []
    assert has_rtl("abc ש") and has_rtl("ﻻ") and not has_rtl("Алматы 2012")
