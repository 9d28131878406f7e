"""Who signs and who gets copies: the annex of signatories, a signer's own letter, "cc:".

- :func:`annex_pages`: the "Signatories" annex, grouped by country (names in the letter's
  language), in two or three columns as the entries' lengths allow, the last page's columns
  balanced; its pages follow the letter and count in "Page N of M".
- :func:`signature_lines`: the signature, with "and 312 organizations and individuals listed in
  the annex" (in the letter's language and the plural form it takes).
- :func:`as_signer`: the campaign as one signer sends it (letterhead, cover "From", signature).
- :func:`closing_blocks`: "This letter was also sent to: ..." and the "cc:" block.

Pure layout, like the rest of the stage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from faxbatch.campaign.model import Campaign, Recipient, Sender
from faxbatch.campaign.signers import Signer
from faxbatch.letters import labels
from faxbatch.letters.fonts import Style, typeface
from faxbatch.letters.layout import (
    ASCENT,
    MM,
    Block,
    Geometry,
    Page,
    Paragraph,
    Span,
    TextRun,
    line_width,
    single_line,
    text_runs,
    wrap_lines,
)

__all__ = [
    "LetterExtras",
    "annex_pages",
    "as_signer",
    "closing_blocks",
    "country_heading",
    "entry_text",
    "signature_lines",
    "signer_address",
]

ENTRY = 10.0  # an annex entry: small, still clear after a 200 dpi fax
COUNTRY = 11.0
HEADING = 15.0
COLUMN_GAP = 6 * MM
ENTRY_GAP = 2.0  # between two entries
INDENT = 3 * MM  # an entry's lines after its first
GROUP_GAP = 6.0  # above a country's heading (not at the top of a column)


@dataclass(frozen=True)
class LetterExtras:
    """What a letter carries besides its text: the annex's signers, the other recipients."""

    #: the signers of the annex (empty: no annex)
    signers: tuple[Signer, ...] = ()
    #: the organizations of the other recipients (``letter.also_sent_to``)
    also_sent_to: tuple[str, ...] = ()

    def for_recipient(self, recipient: Recipient) -> LetterExtras:
        """The annex of one recipient: only its ``signers_from`` countries, when it names any."""
        if not recipient.signers_from or not self.signers:
            return self
        chosen = set(recipient.signers_from)
        return replace(self, signers=tuple(s for s in self.signers if s.country in chosen))


def signature_lines(campaign: Campaign, extras: LetterExtras | None) -> tuple[str, ...]:
    """The signature block's lines, with the annex's count when there is one."""
    signature = campaign.letter.signature or (campaign.sender.name,)
    if extras is None or not extras.signers:
        return signature
    language = campaign.letter.language
    count = labels.labels(language).signers(len(extras.signers), language)
    return (*signature, count)


def closing_blocks(campaign: Campaign, extras: LetterExtras | None) -> list[Block]:
    """After the signature: "This letter was also sent to: ..." and the "cc:" block."""
    words = labels.labels(campaign.letter.language)
    blocks: list[Block] = []
    others = extras.also_sent_to if extras is not None else ()
    if campaign.letter.also_sent_to and others:
        blocks.append(
            Paragraph(
                (Span(words.also_sent_to + " ", Style.BOLD), Span("; ".join(others) + ".")),
                size=11.0,
                space_before=8 * MM,
            )
        )
    if campaign.copies_to:
        names = [copy.name or copy.email for copy in campaign.copies_to]
        blocks.append(
            Paragraph(
                (Span(words.cc + " ", Style.BOLD), Span(", ".join(names))),
                size=11.0,
                space_before=4 * MM if blocks else 8 * MM,
            )
        )
    return blocks


def signer_address(signer: Signer, language: str) -> tuple[str, ...]:
    """A signer's address lines for a letterhead: the address, the city, the country."""
    lines = list(signer.address)
    if signer.city and not any(signer.city in line for line in lines):
        lines.append(signer.city)
    if signer.country:
        name = country_heading(signer.country, language)
        if not any(name in line for line in lines):
            lines.append(name)
    return tuple(lines)


def as_signer(campaign: Campaign, signer: Signer) -> Campaign:
    """The campaign as ``signer`` sends it: their letterhead, cover "From" and signature.

    The organizers' numbers and return line are not theirs and go; the sender's country stays
    (it reads the recipients' numbers and says where postal letters leave from).
    """
    sender = Sender(
        name=signer.name or signer.organization,
        organization=signer.organization if signer.name else "",
        address=signer_address(signer, campaign.letter.language),
        email=signer.email,
        country=campaign.sender.country,
    )
    signature = tuple(
        line
        for line in (signer.name, signer.role, signer.organization if signer.name else "")
        if line
    )
    letter = replace(campaign.letter, signature=signature or (signer.organization,))
    return replace(campaign, sender=sender, letter=letter)


def country_heading(country: str | None, language: str) -> str:
    """A country's name in ``language`` (in English when the font cannot draw it)."""
    if not country:
        return labels.labels(language).no_country
    name = labels.country_name_in(country, language)
    face = typeface()[Style.BOLD]
    if not all(face.has(char) or char.isspace() for char in name):
        name = labels.country_name_in(country, "en")
    return name


def entry_text(signer: Signer) -> tuple[Span, ...]:
    """One annex entry: the name in bold, then role, organization and city."""
    rest = [signer.role, signer.organization if signer.name else "", signer.city]
    tail = ", ".join(part for part in rest if part)
    head = Span(signer.display_name, Style.BOLD)
    return (head, Span(", " + tail)) if tail else (head,)


def _groups(signers: Sequence[Signer], language: str) -> list[tuple[str, list[Signer]]]:
    """Signers by country: countries by name, signers by name; no country last."""
    by_country: dict[str | None, list[Signer]] = {}
    for signer in signers:
        by_country.setdefault(signer.country, []).append(signer)
    named = [(country_heading(code, language), code) for code in by_country if code is not None]
    named.sort(key=lambda pair: (pair[0].casefold(), pair[1]))
    groups: list[tuple[str, list[Signer]]] = []
    for name, code in named:
        members = sorted(by_country[code], key=lambda s: (s.display_name.casefold(), s.id))
        groups.append((name, members))
    if None in by_country:
        members = sorted(by_country[None], key=lambda s: (s.display_name.casefold(), s.id))
        groups.append((country_heading(None, language), members))
    return groups


@dataclass(frozen=True)
class _Item:
    """A country heading or an entry, laid out at (0, 0) in its column's width."""

    runs: tuple[TextRun, ...]
    height: float
    heading: str = ""  # the country's name, for a heading
    group: int = 0


def _columns(signers: Sequence[Signer], frame: float) -> int:
    """Three columns when nearly every entry fits one line of a third, two when of a half."""
    widths = sorted(line_width(_one_line(signer), ENTRY) for signer in signers)
    longest = widths[int(0.9 * (len(widths) - 1))] if widths else 0.0
    for count in (3, 2):
        if longest <= (frame - (count - 1) * COLUMN_GAP) / count:
            return count
    return 2 if frame > 120 * MM else 1


def _one_line(signer: Signer) -> tuple[tuple[str, Style, float], ...]:
    pieces: list[tuple[str, Style, float]] = []
    x = 0.0
    for span in entry_text(signer):
        line = single_line(span.text, span.style, ENTRY)
        pieces.extend((text, style, x + dx) for text, style, dx in line.pieces)
        x += line_width(line.pieces, ENTRY)
    return tuple(pieces)


def _items(groups: list[tuple[str, list[Signer]]], width: float) -> list[_Item]:
    items: list[_Item] = []
    for number, (name, members) in enumerate(groups):
        heading, below = text_runs((Span(name, Style.BOLD),), 0.0, 0.0, width, COUNTRY)
        items.append(_Item(tuple(heading), -below + 1.0, heading=name, group=number))
        for signer in members:
            runs, height = _entry_runs(entry_text(signer), width)
            items.append(_Item(runs, height + ENTRY_GAP, group=number))
    return items


def _entry_runs(spans: tuple[Span, ...], width: float) -> tuple[tuple[TextRun, ...], float]:
    """An entry's lines at (0, 0), the lines after the first indented; and its height."""
    step = round(ENTRY * 1.2, 2)
    drop = (step - ENTRY) / 2 + ASCENT * ENTRY
    runs: list[TextRun] = []
    y = 0.0
    for number, line in enumerate(wrap_lines(spans, width - INDENT, ENTRY)):
        x = INDENT if number else 0.0
        if line.rtl:
            x = width - (0.0 if number == 0 else INDENT) - line_width(line.pieces, ENTRY)
        runs.extend(
            TextRun(x + dx, y - drop, text, style, ENTRY)
            for text, style, dx in line.pieces
            if text.strip()
        )
        y -= step
    return tuple(runs), -y


def _fill(
    items: list[_Item], start: int, columns: int, height: float, width: float
) -> tuple[list[list[_Item]], int]:
    """Items from ``start`` into ``columns`` columns of ``height``: the columns and the next index.

    A heading never ends a column; a column that starts inside a country repeats its heading.
    """
    filled: list[list[_Item]] = []
    k = start
    for _ in range(columns):
        column: list[_Item] = []
        used = 0.0
        if k < len(items) and not items[k].heading:  # the country goes on: its heading again
            group = items[k].group
            heading = next(i for i in reversed(items[:k]) if i.heading and i.group == group)
            column.append(heading)
            used += heading.height
        while k < len(items):
            item = items[k]
            need = item.height + (GROUP_GAP if item.heading and column else 0.0)
            if item.heading and k + 1 < len(items):
                need += items[k + 1].height  # a heading stays with its first entry
            if used + need > height + 0.01 and (column and not _only_heading(column)):
                break
            if item.heading and column:
                used += GROUP_GAP
                column.append(_Item((), GROUP_GAP))
            column.append(item)
            used += item.height
            k += 1
        filled.append(column)
        if k >= len(items):
            break
    return filled, k


def _only_heading(column: list[_Item]) -> bool:
    return all(item.heading or not item.runs for item in column)


def annex_pages(signers: Sequence[Signer], language: str, geometry: Geometry) -> list[Page]:
    """The "Signatories" annex: pages of columns, countries by name, the last page balanced."""
    if not signers:
        return []
    words = labels.labels(language)
    frame = geometry.frame_width
    columns = _columns(signers, frame)
    width = (frame - (columns - 1) * COLUMN_GAP) / columns
    items = _items(_groups(signers, language), width)
    pages: list[Page] = []
    k = 0
    while k < len(items):
        page = Page(geometry)
        title = words.signatories if not pages else words.signatories_continued
        size = HEADING if not pages else COUNTRY + 1
        page.items.append(TextRun(geometry.left, geometry.top - size, title, Style.BOLD, size))
        top = geometry.top - size * 2.2
        height = top - geometry.bottom
        filled, after = _fill(items, k, columns, height, width)
        if after >= len(items) and columns > 1:
            filled = _balanced(items, k, columns, height, width, filled)
        for number, column in enumerate(filled):
            x = geometry.left + number * (width + COLUMN_GAP)
            y = top
            for item in column:
                page.items.extend(replace(run, x=run.x + x, y=run.y + y) for run in item.runs)
                y -= item.height
        pages.append(page)
        k = after
    return pages


def _balanced(
    items: list[_Item],
    start: int,
    columns: int,
    height: float,
    width: float,
    filled: list[list[_Item]],
) -> list[list[_Item]]:
    """The last page's columns about as tall as each other (the shortest height that fits)."""
    low, high = 0.0, height
    best = filled
    for _ in range(20):
        middle = (low + high) / 2
        trial, after = _fill(items, start, columns, middle, width)
        if after >= len(items):
            best, high = trial, middle
        else:
            low = middle
    return best
