"""letters/fonts: which characters the typeface cannot print, however the text looks."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from faxbatch.letters.fonts import typeface

_TEXT = st.text(
    st.sampled_from("aZ 09\n\t\r\x00\x07\u00ad\u200b\u0416\u049b\u0620\u0628\u05d0\u2603\U0001f600")
    | st.characters(),
    max_size=30,
)


@given(_TEXT)
def test_missing_is_what_each_character_says(text: str) -> None:
    assert typeface().missing(text) == typeface().missing_each(text)


def test_missing_finds_a_control_character_in_latin_text() -> None:
    assert typeface().missing("Dear Sir,\n\x07ring") == ["\x07"]
    assert typeface().missing("Қазақстан\tAlmaty\r\n") == []
    assert typeface().missing("") == []
