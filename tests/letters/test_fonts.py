"""letters/fonts: which characters the typeface cannot print, however the text looks."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from faxbatch.letters import shaping
from faxbatch.letters.fonts import Style, is_invisible, is_space, typeface


def _missing_char_by_char(text: str) -> list[str]:
    """What the typeface cannot print, asked of every character on its own (the rule itself)."""
    regular = typeface()[Style.REGULAR]
    seen: list[str] = []
    for char in text:
        if char in "\n\r\t" or char in seen:
            continue
        if shaping.is_arabic_letter(char):
            forms = shaping.forms_of(char)
            if forms and all(regular.has(form) for form in forms):
                continue
        elif regular.has(char) or is_space(char) or is_invisible(char):
            continue
        seen.append(char)
    return seen


_TEXT = st.text(
    st.sampled_from("aZ 09\n\t\r\x00\x07\u00ad\u200b\u0416\u049b\u0620\u0628\u05d0\u2603\U0001f600")
    | st.characters(),
    max_size=30,
)


@given(_TEXT)
def test_missing_is_what_each_character_says(text: str) -> None:
    assert typeface().missing(text) == _missing_char_by_char(text)


def test_missing_finds_a_control_character_in_latin_text() -> None:
    assert typeface().missing("Dear Sir,\n\x07ring") == ["\x07"]
    assert typeface().missing("Қазақстан\tAlmaty\r\n") == []
    assert typeface().missing("") == []
