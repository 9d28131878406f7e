"""Recipients kept in a spreadsheet: ``recipients_file: offices.csv`` in the campaign.

Organizers keep long lists (hundreds of offices, thousands of signatories) in spreadsheets. The file
is read row by row, never whole, so a campaign of 50,000 recipients costs no more memory than one of
500. The header names the columns, with the same names as the recipient keys of the campaign file.
A column faxbatch does not know (``case_number``, ``email``, ``notes``) is the recipients' own
field: kept with each recipient, usable as a ``{case_number}`` placeholder in the letter's texts and
listed in the manifest; :class:`Header` names those columns, and one a letter away from a known
column gets a "did you mean" warning (``orgnization``). Excel's habits are
accepted: a byte-order mark, and ``;`` or tab instead of ``,``. In the address cell, lines are
separated by line breaks or by `` | ``; in list cells (``channels``) items by ``;`` or ``,``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from faxbatch.campaign.csvread import decoded_lines, read_rows
from faxbatch.campaign.hints import close_word
from faxbatch.campaign.inputs import RECIPIENTS, InputKind, Origin, open_input
from faxbatch.errors import CampaignError

#: the one column whose cells may hold line breaks (an address's lines)
MULTILINE_COLUMNS = ("address",)


@dataclass(frozen=True)
class Row:
    """One recipient row: its line in the file and its non-empty cells by column."""

    line: int
    cells: dict[str, str]


@dataclass(frozen=True)
class Header:
    """The recipients file's header: its own columns (not recipient keys), and warnings."""

    fields: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def _own_columns(path: Path, header: Sequence[str], columns: Sequence[str], line: int) -> Header:
    """The header's columns that are no recipient key; a warning for each close to one."""
    fields = tuple(name for name in dict.fromkeys(header) if name and name not in columns)
    warnings = []
    for name in fields:
        close = close_word(name, columns)
        if close:
            warnings.append(
                f"{path.name}:{line}: column '{name}' is not a recipient field, so it is kept as "
                f"the recipients' own field; did you mean '{close}'?"
            )
    return Header(fields, tuple(warnings))


def _check_header(
    path: Path,
    header: Sequence[str],
    columns: Sequence[str],
    line: int,
    what: str = "recipients file",
    row_word: str = "recipient",
    *,
    own_columns: bool = True,
) -> None:
    """Every problem of the header line at once.

    Repeated columns, no name column; unknown columns too unless the file may have columns of its
    own (``own_columns``: the recipients file may, the signers file not).
    """
    problems: list[CampaignError] = []
    seen: set[str] = set()
    for number, name in enumerate(header, start=1):
        if not name:
            continue
        if name not in columns and not own_columns:
            close = close_word(name, columns)
            hint = f"did you mean '{close}'?" if close else f"known columns: {', '.join(columns)}"
            problems.append(
                CampaignError(
                    f"column {number} '{name}' is not a {row_word} field",
                    source=str(path),
                    line=line,
                    hint=hint,
                )
            )
        elif name in seen:
            problems.append(
                CampaignError(f"column '{name}' appears twice", source=str(path), line=line)
            )
        seen.add(name)
    if "name" not in seen and "organization" not in seen:
        near = [(n, c) for n in seen for c in (close_word(n, ("name", "organization")),) if c]
        problems.append(
            CampaignError(
                f"the {what} needs a 'name' or an 'organization' column",
                source=str(path),
                line=line,
                hint=(f"did you mean '{near[0][1]}' for '{near[0][0]}'?" if near else None),
            )
        )
    if problems:
        raise CampaignError.several(problems)


def iter_rows(
    path: Path,
    columns: Sequence[str],
    *,
    origin: Origin,
    folders: Sequence[Path] | None,
    kind: InputKind = RECIPIENTS,
    row_word: str = "recipient",
    header: list[Header] | None = None,
    own_columns: bool = True,
) -> Iterator[Row]:
    """Rows of the file, one at a time, with their line numbers (the header checked first).

    The file is opened through :func:`faxbatch.campaign.inputs.open_input` (inside ``folders``, a
    regular file, under the size limit) and read with :mod:`faxbatch.campaign.csvread`: a quote that
    is not closed makes the whole file unusable (:class:`~faxbatch.errors.InputUnreadableError`).
    ``kind`` names the file in messages (the signers file is read here too), ``row_word`` a row.
    A row's cells hold the recipients' own columns too; ``header``, when given, gets the file's
    :class:`Header` once the header line is read. Without ``own_columns``, an unknown column is
    an error.
    """
    what = kind.what

    def not_utf8(line: int, reason: str) -> CampaignError:
        return CampaignError(
            f"the {what} is not UTF-8 text ({reason})",
            source=str(path),
            line=line,
            hint="save it as 'CSV UTF-8' from your spreadsheet program",
        )

    def multiline(header: Sequence[str]) -> list[int]:
        return [i for i, name in enumerate(header) if name.strip() in MULTILINE_COLUMNS]

    with open_input(path, kind, origin, folders=folders) as stream:
        lines = decoded_lines(stream, source=str(path), not_text=not_utf8)
        rows = read_rows(lines, source=str(path), line_breaks=multiline)
        first = next(rows, None)
        if first is None:
            raise CampaignError(
                f"the {what} is empty",
                source=str(path),
                line=1,
                hint=f"its first row names the columns, e.g. {','.join(columns[:4])}",
            )
        names = tuple(cell.strip() for cell in first.cells)
        _check_header(path, names, columns, first.line, what, row_word, own_columns=own_columns)
        if header is not None:
            header.append(_own_columns(path, names, columns, first.line))
        for row in rows:
            cells = row.cells
            values = {
                name: cell.strip()
                for name, cell in zip(names, cells, strict=False)
                if name and cell.strip()
            }
            if len(cells) > len(names) and any(c.strip() for c in cells[len(names) :]):
                values["_extra"] = "; ".join(c.strip() for c in cells[len(names) :] if c.strip())
            if values:
                yield Row(row.line, values)


def split_lines(cell: str) -> tuple[str, ...]:
    """An address cell as lines (line breaks or `` | `` separate them)."""
    parts = [part.strip() for chunk in cell.splitlines() for part in chunk.split(" | ")]
    return tuple(part for part in parts if part)


def split_list(cell: str) -> tuple[str, ...]:
    """A list cell as items (``;`` or ``,`` separate them)."""
    return tuple(item.strip() for item in cell.replace(";", ",").split(",") if item.strip())
