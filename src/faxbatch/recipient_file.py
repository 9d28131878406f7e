"""Recipients kept in a spreadsheet: ``recipients_file: offices.csv`` in the campaign.

Organizers keep long lists (hundreds of offices, thousands of signatories) in spreadsheets. The file
is read row by row, never whole, so a campaign of 50,000 recipients costs no more memory than one of
500. The header names the columns, with the same names as the recipient keys of the campaign file;
a column faxbatch does not know is an error with a "did you mean" hint. Excel's habits are
accepted: a byte-order mark, and ``;`` or tab instead of ``,``. In the address cell, lines are
separated by line breaks or by `` | ``; in list cells (``channels``) items by ``;`` or ``,``.
"""

from __future__ import annotations

import csv
import difflib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from faxbatch.errors import CampaignError, InputUnreadableError


@dataclass(frozen=True)
class Row:
    """One recipient row: its line in the file and its non-empty cells by column."""

    line: int
    cells: dict[str, str]


def _open(path: Path) -> Iterator[str]:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            yield from handle
    except UnicodeDecodeError as exc:
        raise CampaignError(
            f"the recipients file is not UTF-8 text ({exc.reason})",
            source=str(path),
            hint="save it as 'CSV UTF-8' from your spreadsheet program",
        ) from None
    except OSError as exc:
        raise InputUnreadableError(
            f"{path}: cannot read the recipients file ({exc.strerror or exc})",
            hint="the path is relative to the campaign file; check it exists and is readable",
        ) from None


def _dialect(first_line: str) -> str:
    counts = {sep: first_line.count(sep) for sep in (",", ";", "\t")}
    return max(counts, key=lambda sep: counts[sep]) if any(counts.values()) else ","


def read_header(path: Path, columns: Sequence[str]) -> tuple[str, ...]:
    """The columns of the file, checked against the known ``columns``."""
    for line in _open(path):
        if not line.strip():
            continue
        reader = csv.reader([line], delimiter=_dialect(line))
        header = tuple(cell.strip() for cell in next(reader))
        _check_header(path, header, columns)
        return header
    raise CampaignError(
        "the recipients file is empty",
        source=str(path),
        line=1,
        hint=f"its first row names the columns, e.g. {','.join(columns[:4])}",
    )


def _check_header(path: Path, header: Sequence[str], columns: Sequence[str]) -> None:
    seen: set[str] = set()
    for number, name in enumerate(header, start=1):
        if not name:
            continue
        if name not in columns:
            close = difflib.get_close_matches(name, columns, n=1, cutoff=0.5)
            hint = (
                f"did you mean '{close[0]}'?" if close else f"known columns: {', '.join(columns)}"
            )
            raise CampaignError(
                f"column {number} '{name}' is not a recipient field",
                source=str(path),
                line=1,
                hint=hint,
            )
        if name in seen:
            raise CampaignError(f"column '{name}' appears twice", source=str(path), line=1)
        seen.add(name)
    if "name" not in seen and "organization" not in seen:
        raise CampaignError(
            "the recipients file needs a 'name' or an 'organization' column",
            source=str(path),
            line=1,
        )


def iter_rows(path: Path, columns: Sequence[str]) -> Iterator[Row]:
    """Rows of the file, one at a time, with their line numbers (the header checked first)."""
    header = read_header(path, columns)
    lines = _open(path)
    first, consumed = "", 0
    for first in lines:
        consumed += 1
        if first.strip():
            break
    reader = csv.reader(lines, delimiter=_dialect(first))
    previous = 0
    for cells in reader:
        line = consumed + previous + 1  # where the row starts (a quoted cell may span lines)
        previous = reader.line_num
        values = {
            name: cell.strip()
            for name, cell in zip(header, cells, strict=False)
            if name and cell.strip()
        }
        if len(cells) > len(header) and any(c.strip() for c in cells[len(header) :]):
            values["_extra"] = "; ".join(c.strip() for c in cells[len(header) :] if c.strip())
        if values:
            yield Row(line, values)


def split_lines(cell: str) -> tuple[str, ...]:
    """An address cell as lines (line breaks or `` | `` separate them)."""
    parts = [part.strip() for chunk in cell.splitlines() for part in chunk.split(" | ")]
    return tuple(part for part in parts if part)


def split_list(cell: str) -> tuple[str, ...]:
    """A list cell as items (``;`` or ``,`` separate them)."""
    return tuple(item.strip() for item in cell.replace(";", ",").split(",") if item.strip())
