"""Arabic letters in the forms they take in a word (isolated, initial, medial, final).

The PDF writer draws one glyph per character, so Arabic is shaped the way simple renderers do it:
each letter is replaced by its presentation form (Unicode's Arabic Presentation Forms-A and -B,
which the bundled DejaVu Sans has), and lam followed by alef by their ligature. The forms are
read from the Unicode character database (each presentation form decomposes to its letter), so
no table is kept here. Text is shaped in logical order, before it is measured and broken into
lines; :func:`shape` says which written character each shaped one comes from, so that styles and
line breaks stay where they were written.

ToUnicode maps in the PDF turn the forms back into the letters (see :func:`base_letters`), so
text copied out of a letter is the text that was written.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import cache

_FORM_TAGS = {"<isolated>": "isolated", "<final>": "final", "<initial>": "initial",
              "<medial>": "medial"}  # fmt: skip
LAM = "\u0644"
#: characters that make the letters on both sides join (tatweel, zero width joiner)
_JOIN_CAUSING = frozenset("\u0640\u200d")
#: the alefs lam joins with into one glyph (a required ligature in Arabic writing)
_ALEFS = frozenset("\u0622\u0623\u0625\u0627")
_PRESENTATION = (*range(0xFB50, 0xFE00), *range(0xFE70, 0xFF00))


@cache
def _tables() -> tuple[dict[str, dict[str, str]], dict[str, dict[str, str]], dict[str, str]]:
    """Forms by letter, lam-alef ligatures by alef, and each presentation form's letters."""
    forms: dict[str, dict[str, str]] = {}
    ligatures: dict[str, dict[str, str]] = {}
    letters: dict[str, str] = {}
    for code in _PRESENTATION:
        char = chr(code)
        tag, *parts = (unicodedata.decomposition(char) or "-").split()
        if tag not in _FORM_TAGS or not parts:
            continue
        decomposed = "".join(chr(int(part, 16)) for part in parts)
        if len(decomposed) == 1 and unicodedata.category(decomposed) == "Lo":
            forms.setdefault(decomposed, {}).setdefault(_FORM_TAGS[tag], char)
            letters[char] = decomposed
        elif len(decomposed) == 2 and decomposed[0] == LAM and decomposed[1] in _ALEFS:
            ligatures.setdefault(decomposed[1], {}).setdefault(_FORM_TAGS[tag], char)
            letters[char] = decomposed
    return forms, ligatures, letters


def is_arabic_letter(char: str) -> bool:
    """Whether ``char`` is an Arabic-script letter (one that joins, or may)."""
    return (
        "\u0600" <= char <= "\u08ff"
        and unicodedata.bidirectional(char) == "AL"
        and unicodedata.category(char) == "Lo"
    )


def forms_of(char: str) -> tuple[str, ...]:
    """Every glyph an Arabic letter may be drawn with (empty: Unicode has no forms for it)."""
    forms, ligatures, _ = _tables()
    found = tuple(forms.get(char, {}).values())
    return found + tuple(ligatures.get(char, {}).values()) if found else ()


def _joining(char: str) -> str:
    """The joining type: D (both sides), R (to the letter before only), C, T or U (none)."""
    forms = _tables()[0].get(char)
    if forms is not None:
        if "initial" in forms:
            return "D"
        return "R" if "final" in forms else "U"
    if char in _JOIN_CAUSING:
        return "C"
    if char != "\u200c" and unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return "T"  # marks and invisible characters do not break a word's joining
    return "U"


def needs_shaping(text: str) -> bool:
    """Whether ``text`` holds a letter that shaping would change."""
    forms = _tables()[0]
    return any(c in forms for c in text if "\u0600" <= c <= "\u08ff")


def shape(text: str) -> tuple[str, list[int]]:
    """``text`` with its Arabic letters in their contextual forms, and where each one came from.

    The second value gives, for each character of the result, the index in ``text`` of the
    character it stands for (a lam-alef ligature: the lam's; the alef is absorbed).
    """
    forms, ligatures, _ = _tables()
    joining = [_joining(c) for c in text]
    out: list[str] = []
    origin: list[int] = []
    absorbed: set[int] = set()

    def neighbour(i: int, step: int) -> int | None:
        i += step
        while 0 <= i < len(text) and joining[i] == "T":
            i += step
        return i if 0 <= i < len(text) else None

    for i, char in enumerate(text):
        if i in absorbed:
            continue
        kind = joining[i]
        if kind not in ("D", "R"):  # a letter that never joins (hamza) has an isolated form
            out.append(forms[char]["isolated"] if char in forms else char)
            origin.append(i)
            continue
        before = neighbour(i, -1)
        joins_before = before is not None and joining[before] in ("D", "C")
        after = neighbour(i, 1)
        if char == LAM and after is not None and text[after] in ligatures:
            ligature = ligatures[text[after]]
            out.append(ligature["final" if joins_before else "isolated"])
            origin.append(i)
            absorbed.add(after)  # the marks between lam and alef stay, after the ligature
            continue
        joins_after = kind == "D" and after is not None and joining[after] in ("D", "R", "C")
        if joins_before and joins_after:
            form = "medial"
        elif joins_after:
            form = "initial"
        elif joins_before:
            form = "final"
        else:
            form = "isolated"
        out.append(forms[char].get(form, char))
        origin.append(i)
    return "".join(out), origin


def base_letters(char: str) -> str:
    """The letters a presentation form stands for (itself for any other character)."""
    return _tables()[2].get(char, char)


def shaped_characters(chars: Iterable[str]) -> set[str]:
    """The forms (and lam-alef ligatures) that text made of ``chars`` may be drawn with."""
    forms, ligatures, _ = _tables()
    found: set[str] = set()
    chars = set(chars)
    for char in chars:
        found.update(forms.get(char, {}).values())
        if LAM in chars:
            found.update(ligatures.get(char, {}).values())
    return found
