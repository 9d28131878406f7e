"""Arabic shaping, checked against arabic-reshaper; and what the font must hold for it."""

from __future__ import annotations

import arabic_reshaper
from arabic_reshaper.ligatures import LIGATURES
from hypothesis import given, settings
from hypothesis import strategies as st

from faxbatch.letters.fonts import Style, drawn_characters, typeface
from faxbatch.letters.shaping import base_letters, forms_of, is_arabic_letter, shape

LAM_ALEF = {
    "ARABIC LIGATURE LAM WITH ALEF",
    "ARABIC LIGATURE LAM WITH ALEF WITH HAMZA ABOVE",
    "ARABIC LIGATURE LAM WITH ALEF WITH HAMZA BELOW",
    "ARABIC LIGATURE LAM WITH ALEF WITH MADDA ABOVE",
}
# the reshaper with the one ligature Arabic writing requires (lam-alef), marks kept
RESHAPER = arabic_reshaper.ArabicReshaper(
    configuration={
        "delete_harakat": False,
        "support_ligatures": True,
        **{name: name in LAM_ALEF for name, _ in LIGATURES},
    }
)
LETTERS = "ابتثجحخدذرزسشصضطظعغفقكلمنهويءآأؤإئةىپچژگکی"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=LETTERS + "لا  َُِّ،.1", max_size=16))
def test_shape_matches_arabic_reshaper(text: str) -> None:
    shaped, origin = shape(text)
    assert shaped == RESHAPER.reshape(text)
    assert len(origin) == len(shaped) and origin == sorted(origin)


def test_letters_take_their_forms_and_lam_alef_joins() -> None:
    shaped, origin = shape("سلام")  # seen: initial, lam-alef (final), isolated meem
    assert shaped == "\ufeb3\ufefc\ufee1"
    assert origin == [0, 1, 3]
    assert "".join(base_letters(c) for c in shaped) == "سلام"


def test_non_joiner_breaks_the_joining() -> None:
    joined, _ = shape("بب")
    apart, _ = shape("ب\u200cب")
    assert joined == "\ufe91\ufe90" and apart == "\ufe8f\u200c\ufe8f"


def test_every_form_of_a_covered_letter_is_in_the_font() -> None:
    regular = typeface()[Style.REGULAR]
    for char in LETTERS:
        assert is_arabic_letter(char)
        assert forms_of(char) and all(regular.has(form) for form in forms_of(char))
    # a letter Unicode gives no forms cannot be joined: it is missing, not drawn unjoined
    assert typeface().missing("\u0620") == ["\u0620"]
    assert typeface().missing("سلام שלום") == []


def test_subsets_hold_the_forms_and_mirrors_but_no_invisible_characters() -> None:
    drawn = drawn_characters("سلام (x)\u00ad\u200b")
    assert {"\ufeb3", "\ufefc", "\ufee1", "(", ")"} <= drawn
    assert "\u00ad" not in drawn and "\u200b" not in drawn
    assert drawn_characters("a(b") == set("a(b")  # no right-to-left text: no mirrors added
