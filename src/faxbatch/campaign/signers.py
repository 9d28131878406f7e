"""Signatories kept in a spreadsheet: ``signatories: {file: signers.csv, mode: annex}``.

A joint letter carries its signatories in an annex; a fax action sends each supporter's letter in
their own name. Either way the signers come from a CSV file like the recipients file (same
spreadsheet habits, read row by row through :mod:`faxbatch.campaign.inputs`, never whole), with
the columns ``name, organization, country, role, city, email, address`` (any may be missing; a
row needs a name or an organization).

A row that cannot be used (neither name nor organization, a country that is no ISO code, the same
signer twice) becomes a :class:`Signer` with ``problems``, each naming its line: the build lists
them and goes on with the other rows. Signer ids are made from the name (the organization when
there is none) the way recipient ids are, and are unique in the file.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from faxbatch.campaign.inputs import SIGNERS, Origin, folders_of
from faxbatch.campaign.model import Campaign
from faxbatch.campaign.recipient_file import Row, iter_rows, split_lines

__all__ = ["SIGNER_COLUMNS", "Signer", "check_signers_file", "iter_signers", "usable_signers"]

#: the columns a signers file may have
SIGNER_COLUMNS = ("name", "organization", "country", "role", "city", "email", "address")


@dataclass(frozen=True)
class Signer:
    """One signatory: a person (perhaps for an organization) or an organization."""

    id: str
    name: str
    organization: str = ""
    country: str | None = None
    role: str = ""
    city: str = ""
    email: str = ""
    address: tuple[str, ...] = ()
    #: the line of the signers file the row starts on
    line: int = 0
    #: what keeps the row from being used, each a sentence naming the file and line
    problems: tuple[str, ...] = ()

    @property
    def display_name(self) -> str:
        """The name to show; the organization for an organization signing as such."""
        return self.name or self.organization

    @property
    def usable(self) -> bool:
        """Whether the row signs (nothing wrong with it)."""
        return not self.problems


@cache
def _regions() -> frozenset[str]:
    import phonenumbers

    return frozenset(phonenumbers.SUPPORTED_REGIONS)


def _origin(campaign: Campaign) -> Origin:
    return Origin(str(campaign.source), campaign.lines.get("signatories.file"), "signatories.file")


def _rows(path: Path, origin: Origin, folders: Sequence[Path] | None) -> Iterator[Row]:
    return iter_rows(
        path,
        SIGNER_COLUMNS,
        origin=origin,
        folders=folders,
        kind=SIGNERS,
        row_word="signer",
        own_columns=False,
    )


def check_signers_file(path: Path, origin: Origin, folders: tuple[Path, ...]) -> int:
    """Check a signers file's header (every problem at once) and count its rows.

    Raises :class:`~faxbatch.errors.CampaignError` for a header that is wrong and
    :class:`~faxbatch.errors.InputUnreadableError` for a file that cannot be read as CSV.
    """
    return sum(1 for _row in _rows(path, origin, folders))


def iter_signers(campaign: Campaign) -> Iterator[Signer]:
    """Every row of the campaign's signers file as a :class:`Signer`, in file order.

    Rows that cannot be used come with their ``problems`` (the caller reports them and leaves
    them out); the ids are the same on every reading of an unchanged file.
    """
    from faxbatch.campaign.loader import slugify  # the loader imports this module

    if campaign.signatories is None:
        return
    path = campaign.signatories.file
    name = path.name
    used: set[str] = set()
    seen: dict[bytes, int] = {}  # a digest of each signer read, and its line
    for row in _rows(path, _origin(campaign), folders_of(campaign)):
        yield _signer(name, row, used, seen, slugify)


def usable_signers(campaign: Campaign) -> Iterator[Signer]:
    """The signers that sign (rows with problems left out)."""
    return (signer for signer in iter_signers(campaign) if signer.usable)


def _signer(
    source: str,
    row: Row,
    used: set[str],
    seen: dict[bytes, int],
    slugify: Callable[[str], str],
) -> Signer:
    """A signer from a row, its problems written down, not raised."""
    cells = row.cells
    where = f"{source}:{row.line}"
    problems: list[str] = []
    name, organization = cells.get("name", ""), cells.get("organization", "")
    if not name and not organization:
        problems.append(f"{where}: the signer has neither a name nor an organization.")
    written = cells.get("country", "")
    country = written.upper() or None
    if country is not None and country not in _regions():
        problems.append(
            f"{where}: '{written}' is not a country code; use the two-letter ISO 3166 code, "
            "e.g. KZ."
        )
        country = None
    if "_extra" in cells:
        problems.append(f"{where}: the row has more cells than the header has columns.")
    same = "\x1f".join(
        " ".join(part.casefold().split()) for part in (name, organization, country or "")
    )
    digest = hashlib.blake2b(same.encode("utf-8", "surrogatepass"), digest_size=12).digest()
    if not problems and digest in seen:
        problems.append(
            f"{where}: the same signer ({name or organization}) is on line {seen[digest]} "
            "already; each signs once."
        )
    elif not problems:
        seen[digest] = row.line
    base = slugify(name or organization or "signer")
    sid, n = base, 2
    while sid in used:
        sid, n = f"{base}-{n}", n + 1
    if not problems:
        used.add(sid)
    return Signer(
        id=sid,
        name=name,
        organization=organization,
        country=country,
        role=cells.get("role", ""),
        city=cells.get("city", ""),
        email=cells.get("email", ""),
        address=split_lines(cells.get("address", "")),
        line=row.line,
        problems=tuple(problems),
    )
