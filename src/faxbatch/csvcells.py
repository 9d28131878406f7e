"""CSV cells that spreadsheets show as written and never run, for every CSV faxbatch writes.

Excel, LibreOffice and Google Sheets take a cell that starts with ``=``, ``+``, ``-`` or ``@``
(and, in some versions, a tab or a carriage return) for a formula, and run it: a recipient named
``=HYPERLINK("http://evil.example")`` would become a link in a print shop's sheet. Such a cell is
written as a formula whose value is the text, ``="=HYPERLINK(""http://evil.example"")"``: the
spreadsheet shows exactly the text, and saving the sheet as CSV writes the plain text back. Excel
keeps at most 255 characters in a text constant, so a longer cell is written with a leading
apostrophe instead (shown, but never run).

:func:`formula_safe` does this for ``manifest.csv`` and ``report.csv``; :func:`spreadsheet_safe`
also wraps cells a spreadsheet would turn into a number or a date (``+77272715802`` becomes
7.72727E+10), for the volunteers' ``numbers.csv``. :func:`csv_bytes` writes a whole file with one
of them; every CSV faxbatch writes goes through it or :func:`csv_row`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

__all__ = ["FORMULA_START", "csv_bytes", "csv_cell", "csv_row", "formula_safe", "spreadsheet_safe"]

#: a cell starting with one of these is taken for a formula (and is a way to attack its reader)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Excel keeps at most 255 characters in a text constant inside a formula
_MAX_WRAPPED = 255
# text a spreadsheet would read as a number or a date: digits with number punctuation only
_NUMBER_LIKE = re.compile(r"[\d\s.,:;/()+\-']*\d[\d\s.,:;/()+\-'eE%]*")

Protect = Callable[[str], str]


def _as_text(text: str) -> str:
    if len(text) > _MAX_WRAPPED:
        return "'" + text  # too long for a formula: shown with its apostrophe, but never run
    return '="' + text.replace('"', '""') + '"'


def formula_safe(text: str) -> str:
    """A CSV cell that no spreadsheet runs: a cell starting like a formula becomes ``="text"``."""
    return _as_text(text) if text.startswith(FORMULA_START) else text


def spreadsheet_safe(text: str) -> str:
    """A CSV cell shown exactly as ``text``: formulas, numbers and dates are wrapped as text."""
    if text and _NUMBER_LIKE.fullmatch(text):
        return _as_text(text)
    return formula_safe(text)


def csv_cell(value: Any) -> str:
    """One value as CSV text: lists joined with "; ", booleans as true/false, null as empty.

    A mapping is written as ``key: value; key: value``.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "; ".join(str(v) for v in value)
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    return str(value)


def csv_row(
    row: Mapping[str, Any], fields: Sequence[str], protect: Protect = formula_safe
) -> list[str]:
    """The cells of one row, in the order of ``fields``, each made safe by ``protect``."""
    return [protect(csv_cell(row.get(name))) for name in fields]


def csv_bytes(
    rows: Iterable[Mapping[str, Any]], fields: Sequence[str], protect: Protect = formula_safe
) -> bytes:
    """A CSV file with a header row, UTF-8 with BOM, CRLF line ends (what Excel expects)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(fields)
    for row in rows:
        writer.writerow(csv_row(row, fields, protect))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
