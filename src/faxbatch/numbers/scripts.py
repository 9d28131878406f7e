"""Call scripts: what a volunteer says when the office picks up, in the office's language.

Each language's script is data shipped with the package (``call_scripts/<code>.json``): two or three
short lines asking whether the number is the office's fax and whether a letter may be sent to it,
with ``{office}`` and ``{recipient}`` in them. A script in a script the caller may not read
(Cyrillic) carries a reading aid in Latin letters, ``latin``, and a table of its letters
(``letters``) by which the office's and recipient's names are spelt out in Latin letters too. A
language may name others offices often speak (``also``: a Kazakh office is asked in Russian as
well). A language without a script gets the English one, marked as such.

The names are the campaign's text: they are put into the lines as they are (never as a format
string) and the page escapes them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType

__all__ = ["SCRIPT_LANGUAGES", "CallScript", "call_scripts", "transliterate"]

_FOLDER = "call_scripts"


def _shipped() -> tuple[str, ...]:
    folder = resources.files("faxbatch.numbers") / _FOLDER
    return tuple(
        sorted(
            entry.name.removesuffix(".json")
            for entry in folder.iterdir()
            if entry.name.endswith(".json")
        )
    )


#: the languages faxbatch ships a call script for
SCRIPT_LANGUAGES = _shipped()


@dataclass(frozen=True)
class CallScript:
    """One language's call script, with the office's and recipient's names put in."""

    language: str  # the script's language code (``kk``)
    name: str  # the language's own name (``Қазақша``)
    lines: tuple[str, ...]
    #: the lines in Latin letters, to read aloud (empty: the lines are in Latin letters)
    latin: tuple[str, ...] = ()
    #: the language the office was asked for when this is the English fallback (else empty)
    instead_of: str = ""

    @property
    def text(self) -> str:
        """The lines as one text (for a spreadsheet cell)."""
        return " ".join(self.lines)

    @property
    def latin_text(self) -> str:
        """The Latin lines as one text (empty when there are none)."""
        return " ".join(self.latin)


def _base(language: str) -> str:
    """``ru`` for ``ru-KZ`` or ``ru_kz``."""
    return language.replace("_", "-").split("-")[0].lower()


@cache
def _data(code: str) -> dict[str, object]:
    text = (resources.files("faxbatch.numbers") / _FOLDER / f"{code}.json").read_text("utf-8")
    data: dict[str, object] = json.loads(text)
    return data


def _strings(data: dict[str, object], key: str) -> tuple[str, ...]:
    value = data.get(key, [])
    return tuple(str(item) for item in value) if isinstance(value, list) else ()


def transliterate(text: str, letters: Mapping[str, str]) -> str:
    """``text`` with each letter of the table in Latin letters (capitals kept capital)."""
    out: list[str] = []
    for char in text:
        lower = char.lower()
        if lower in letters:
            latin = letters[lower]
            out.append(latin[:1].upper() + latin[1:] if char != lower else latin)
        else:
            out.append(char)
    return "".join(out)


_PLACEHOLDER = re.compile(r"\{(office|recipient)\}")


def _filled(line: str, values: dict[str, str]) -> str:
    """The line with its placeholders replaced in one pass (a name's own braces stay text)."""
    return _PLACEHOLDER.sub(lambda match: values[match[1]], line)


@dataclass(frozen=True)
class _Table:
    """A letter table (lower-case letter: its Latin spelling), read once and never changed."""

    letters: Mapping[str, str]
    #: no ASCII letter lowers to a letter of the table: ASCII text spells as itself
    ascii_free: bool

    @classmethod
    def of(cls, letters: dict[str, str]) -> _Table:
        return cls(MappingProxyType(letters), not any(key.isascii() for key in letters))

    def spell(self, text: str) -> str:
        """``text`` in Latin letters (see :func:`transliterate`)."""
        if self.ascii_free and text.isascii():
            return text
        return transliterate(text, self.letters)


@cache
def _letters(code: str, names_in: str = "") -> _Table:
    """``code``'s letter table, over ``names_in``'s."""
    letters = _data(code).get("letters", {})
    table = {str(k): str(v) for k, v in letters.items()} if isinstance(letters, dict) else {}
    return _Table.of(dict(_letters(names_in).letters) | table if names_in else table)


def _script(
    code: str, office: str, recipient: str, instead_of: str = "", names_in: str = ""
) -> CallScript:
    """``code``'s script; the names are spelt in Latin letters with ``names_in``'s letters too."""
    data = _data(code)
    values = {"office": office, "recipient": recipient}
    # a Kazakh office's name in the Russian script keeps its Kazakh letters (қ, ң, ә)
    table = _letters(code, names_in)
    latin_values = {name: table.spell(value) for name, value in values.items()}
    latin = _strings(data, "latin")
    if not latin:
        # a script in Latin letters with a name in Cyrillic: the name spelt out for the caller
        latin_values = {name: _every_letter().spell(value) for name, value in values.items()}
        if latin_values != values:
            latin = _strings(data, "lines")
    return CallScript(
        language=code,
        name=str(data.get("name", code)),
        lines=tuple(_filled(line, values) for line in _strings(data, "lines")),
        latin=tuple(_filled(line, latin_values) for line in latin),
        instead_of=instead_of,
    )


@cache
def _every_letter() -> _Table:
    """Every shipped letter table in one."""
    table: dict[str, str] = {}
    for code in SCRIPT_LANGUAGES:
        table |= _letters(code).letters
    return _Table.of(table)


def call_scripts(language: str, office: str, recipient: str) -> tuple[CallScript, ...]:
    """The scripts to call an office speaking ``language`` with: its own first, then ``also``."""
    code = _base(language)
    if code not in SCRIPT_LANGUAGES:
        return (_script("en", office, recipient, instead_of=language),)
    scripts = [_script(code, office, recipient)]
    for other in _strings(_data(code), "also"):
        if other in SCRIPT_LANGUAGES and other != code:
            scripts.append(_script(other, office, recipient, names_in=code))
    return tuple(scripts)
