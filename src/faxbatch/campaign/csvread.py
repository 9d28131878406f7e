"""CSV files faxbatch is given, read line by line, and refused when a quote is not closed.

The recipients file and the volunteers' verification sheet are read here (and issue 14's signers
file is to be). Spreadsheets' habits are accepted: a byte-order mark, and ``;`` or a tab instead
of ``,`` (the separator the first line uses most). Rows are read one at a time, never the whole
file.

A quote that is never closed makes Python's csv module read the rest of the file into one cell:
a hundred recipients vanish, or a volunteer's "wrong" is dropped and the fax goes to that number.
So a file is unusable (:class:`~faxbatch.errors.InputUnreadableError`, exit 4: faxbatch does not
guess which rows were meant), with the line where the quote opened, when

- the file ends inside a quoted cell;
- a quote closes with text right after it (``"Almaty"x``), the sign of a quote that closed the
  wrong cell;
- a cell runs over line breaks in a column that does not take them (the caller names the columns
  that do, such as a recipient's ``address``), or over more than :data:`MAX_CELL_LINES` lines in
  one that does;
- a cell is longer than the csv module's field limit, or a line longer than :data:`MAX_LINE`.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import chain

from faxbatch.errors import InputUnreadableError

__all__ = ["MAX_CELL_LINES", "MAX_LINE", "CsvRow", "decoded_lines", "delimiter_of", "read_rows"]

#: the longest line read, in bytes (a row of cells each under the csv field limit fits)
MAX_LINE = 1 << 20
#: the most lines a cell may run over where line breaks are allowed (an address has a handful)
MAX_CELL_LINES = 12

_LONE_CR = re.compile(r"(?<=\r)(?!\n)")
_HINT = (
    'close the quote (a quote inside a quoted cell is written twice: ""), or remove it, then '
    "save the file again; faxbatch does not guess which rows were meant"
)


@dataclass(frozen=True)
class CsvRow:
    """One row: the line it starts on (1-based) and its cells as written."""

    line: int
    cells: list[str]


def delimiter_of(line: str) -> str:
    """``,`` or, as spreadsheets in many countries save CSV, ``;`` or a tab: the most used."""
    counts = {sep: line.count(sep) for sep in (",", ";", "\t")}
    return max(counts, key=lambda sep: counts[sep]) if any(counts.values()) else ","


def decoded_lines(
    stream: io.BufferedIOBase, *, source: str, not_text: Callable[[int, str], Exception]
) -> Iterator[str]:
    """The lines of a binary stream as text (UTF-8, a byte-order mark dropped), line by line.

    ``not_text(line, reason)`` makes the error for a line that is not UTF-8. Line breaks are
    LF, CR LF or a lone CR, as with ``newline=""``.
    """
    number = 0
    while True:
        try:
            raw = stream.readline(MAX_LINE + 1)
        except OSError as exc:
            raise InputUnreadableError(
                f"{source}:{number + 1}: cannot read the file ({exc.strerror or exc})",
                hint="check that the file is readable",
            ) from None
        if not raw:
            return
        number += 1
        if len(raw) > MAX_LINE:
            raise InputUnreadableError(
                f"{source}:{number}: the line is longer than {MAX_LINE} bytes",
                hint="check that this is a CSV file (one row per line)",
            )
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise not_text(number, exc.reason) from None
        if "\r" in text:
            pieces = [piece for piece in _LONE_CR.split(text) if piece]
            number += len(pieces) - 1
            yield from pieces
        else:
            yield text


class _Feed:
    """The lines handed to the csv reader, counted, with those of the row being read kept."""

    def __init__(self, lines: Iterator[str], count: int) -> None:
        self._lines = lines
        self.count = count
        self.pending: list[str] = []

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.count += 1
        self.pending.append(line)
        return line


def read_rows(
    lines: Iterable[str],
    *,
    source: str,
    line_breaks: Callable[[Sequence[str]], Collection[int]] = lambda header: (),
) -> Iterator[CsvRow]:
    """Every row with a non-blank cell, the header first, each with the line it starts on.

    ``line_breaks(header)`` gives the indexes of the columns whose cells may hold line breaks
    (none by default). Raises :class:`InputUnreadableError` for a quote that is not closed (see
    the module's description) and for a cell or a line too long.
    """
    remaining = iter(lines)
    blank = 0
    for first in remaining:
        if first.strip():
            break
        blank += 1
    else:
        return
    delimiter = delimiter_of(first)
    feed = _Feed(chain([first], remaining), blank)
    reader = csv.reader(feed, delimiter=delimiter, strict=True)
    multiline: Collection[int] | None = None  # known once the header is read
    while True:
        start = feed.count + 1
        feed.pending.clear()
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise _broken(source, feed, start, delimiter, str(exc)) from None
        if not any(cell.strip() for cell in cells):
            continue
        _check_line_breaks(source, cells, start, multiline or ())
        if multiline is None:
            multiline = frozenset(line_breaks(cells))
        yield CsvRow(start, cells)


def _lines_in(text: str) -> int:
    """Line breaks in a cell (CR LF counts once)."""
    return text.count("\n") + text.count("\r") - text.count("\r\n")


def _check_line_breaks(
    source: str, cells: Sequence[str], start: int, multiline: Collection[int]
) -> None:
    line = start
    for index, cell in enumerate(cells):
        breaks = _lines_in(cell)
        if breaks and (index not in multiline or breaks >= MAX_CELL_LINES):
            allowed = f" (more than {MAX_CELL_LINES})" if index in multiline else ""
            raise InputUnreadableError(
                f"{source}:{line}: the cell in column {index + 1}, opened with a quote on line "
                f"{line}, runs over {breaks + 1} lines{allowed}, to line {line + breaks}: a quote "
                "is probably not closed",
                hint=_HINT,
            )
        line += breaks


def _broken(
    source: str, feed: _Feed, start: int, delimiter: str, problem: str
) -> InputUnreadableError:
    """The error for a row the csv reader could not finish."""
    opened, closed = _quote_opened("".join(feed.pending), delimiter, start)
    if problem.startswith("field larger"):
        at = opened or start
        return InputUnreadableError(
            f"{source}:{at}: a cell from line {at} runs past {csv.field_size_limit()} "
            f"characters (to line {feed.count}): a quote is probably not closed",
            hint=_HINT,
        )
    if opened is not None and closed is None:
        return InputUnreadableError(
            f"{source}:{opened}: the quote opened on line {opened} is never closed: the rest of "
            f"the file (to line {feed.count}) would be read as one cell",
            hint=_HINT,
        )
    if opened is not None and closed is not None:
        return InputUnreadableError(
            f"{source}:{opened}: the quote opened on line {opened} closes on line {closed} with "
            "text right after it: a quote is probably missing or not doubled",
            hint=_HINT,
        )
    return InputUnreadableError(
        f"{source}:{start}: the row cannot be read as CSV ({problem})", hint=_HINT
    )


def _quote_opened(text: str, delimiter: str, first_line: int) -> tuple[int | None, int | None]:
    """Where the quoted cell in trouble opens, and where it closes wrongly (None: never).

    The same reading as the csv module's (a quote opens a cell only at its start; ``""`` inside
    is a quote; a closing quote is followed by the separator, a line break or the end).
    """
    line, at_start, opened, inside = first_line, True, None, False
    i, size = 0, len(text)
    while i < size:
        char = text[i]
        following = text[i + 1 : i + 2]
        if inside:
            if char == '"':
                if following == '"':
                    i += 2
                    continue
                if following not in ("", delimiter, "\r", "\n"):
                    return opened, line
                inside, at_start = False, False
            elif char == "\n" or (char == "\r" and following != "\n"):
                line += 1
        elif char == '"' and at_start:
            inside, opened = True, line
        elif char == delimiter:
            at_start = True
        elif char == "\n" or (char == "\r" and following != "\n"):
            line, at_start = line + 1, True
        elif char != "\r":
            at_start = False
        i += 1
    return (opened if inside else None), None
