"""One recipient's postal letter, laid out for a window envelope.

No fax cover sheet and no "By fax" line: page 1 carries the sender's return line and the recipient's
address inside the envelope's window (see :mod:`faxbatch.letters.envelopes`), the letterhead and
date in a column to its right, fold and punch marks in the left margin when asked for; then the
letter as the fax prints it, and "Page N of M" on every page. An address that cannot fit the window
at the smallest allowed size raises :class:`AddressDoesNotFit`: it is never printed where the window
does not show it.

Pure layout: from the campaign and the recipient to laid-out pages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from faxbatch.campaign.model import Campaign, Recipient
from faxbatch.letters.document import (
    DoesNotFit,
    add_footers,
    footer_label,
    letter_text,
    letterhead,
)
from faxbatch.letters.enclosures import EnclosurePage, enclosure_pages
from faxbatch.letters.envelopes import GLYPH_BOTTOM, GLYPH_TOP, EnvelopeSpec, mark_rules
from faxbatch.letters.fonts import Style, typeface
from faxbatch.letters.labels import country_name, format_date
from faxbatch.letters.layout import (
    MM,
    Block,
    Geometry,
    Item,
    Page,
    Paragraph,
    Rule,
    Spacer,
    Span,
    TextRun,
    flow,
    line_width,
    single_line,
    text_runs,
    unbreakable,
    wrap_lines,
)
from faxbatch.letters.signatories import LetterExtras, annex_pages

#: address sizes, tried largest first; 10 pt is the smallest a sorting machine reads reliably
ADDRESS_SIZES = (11.0, 10.5, 10.0)
#: the return line is small print, but not smaller than 6 pt
RETURN_SIZES = (7.0, 6.5, 6.0)
RETURN_SEPARATOR = " · "
#: the sender's column starts this far right of the window (DIN 5008's information block: 125 mm)
COLUMN_GAP = 20 * MM
#: space between the window (or the sender's column) and the subject
BODY_GAP = 8 * MM


class AddressDoesNotFit(DoesNotFit):
    """An address (or the sender's return line) does not fit the envelope's window."""


@dataclass(frozen=True)
class AddressLine:
    """One line of the address as written, and the campaign field it comes from."""

    text: str
    field: str


def address_lines(recipient: Recipient, sender_country: str | None = None) -> list[AddressLine]:
    """Name, title, organization and address lines, in that order, empty ones left out.

    A letter posted abroad (the recipient's ``country`` is not ``sender_country``) ends with the
    destination country in capitals, in the sending country's language, as the postal union
    asks: from DE to KZ "KASACHSTAN", from US to KZ "KAZAKHSTAN".
    """
    path = recipient.field_path
    lines = [
        AddressLine(recipient.name, f"{path}.name"),
        AddressLine(recipient.title, f"{path}.title"),
        AddressLine(recipient.organization, f"{path}.organization"),
        *(AddressLine(line, f"{path}.address[{n}]") for n, line in enumerate(recipient.address)),
    ]
    country = country_line(recipient, sender_country)
    if country:
        lines.append(AddressLine(country, f"{path}.country"))
    return [line for line in lines if line.text]


def country_line(recipient: Recipient, sender_country: str | None) -> str:
    """The destination country's line of a letter posted abroad (empty for a domestic one).

    In the sending country's language; in English when the bundled font cannot draw that
    language's name (a Chinese or Japanese one, say).
    """
    if not (recipient.country and sender_country and recipient.country != sender_country):
        return ""
    name = country_name(recipient.country, sender_country).upper()
    face = typeface()[Style.REGULAR]
    if not all(face.has(char) or char.isspace() for char in name):
        name = country_name(recipient.country, "US").upper()
    return name


def return_line_text(campaign: Campaign) -> str:
    """``Sender · Street · City``: the organization (else the name) and the address lines."""
    return return_line_options(campaign)[0]


def return_line_options(campaign: Campaign, domestic: bool = False) -> list[str]:
    """The return lines to try, longest first: ``sender.return_line`` alone when it is given.

    Made from the sender: the organization (else the name) and the address; then, for a letter
    that stays in the sender's country, without its last address line when that names the
    country; then the shorter of name and organization in place of the other.
    """
    sender = campaign.sender
    if sender.return_line:
        return [sender.return_line]
    heads = [sender.organization or sender.name]
    if sender.organization and sender.name and len(sender.name) < len(sender.organization):
        heads.append(sender.name)
    address = [line.strip() for line in sender.address if line.strip()]
    addresses = [address]
    if domestic and address and sender.country and _names_country(address[-1], sender.country):
        addresses.append(address[:-1])
    options = []
    for head in heads:
        for lines in addresses:
            text = RETURN_SEPARATOR.join(part for part in [head.strip(), *lines] if part)
            if text not in options:
                options.append(text)
    return sorted(options, key=len, reverse=True)


def _names_country(line: str, country: str) -> bool:
    """Whether an address line is the name (or code) of ``country``, in English or its own."""
    names = {country, country_name(country, None), country_name(country, country)}
    if country == "US":
        names |= {"USA", "U.S.A.", "United States of America"}
    return line.strip().casefold() in {name.casefold() for name in names}


def _return_line(
    campaign: Campaign, spec: EnvelopeSpec, domestic: bool = False
) -> tuple[list[Item], float]:
    """The return line at the top of the window; returns its items and the y below them."""
    box = spec.text_box
    # the return line may run to the window's edge: hiding its end in an envelope that lets the
    # sheet slip sideways costs nothing, since the post office reads only the address
    room = spec.window.right - box.x
    options = [
        (text, size) for text in return_line_options(campaign, domestic) for size in RETURN_SIZES
    ]
    options.sort(key=lambda option: -option[1])  # the largest size of any line first
    for text, size in options:
        pieces = single_line(text, Style.REGULAR, size).pieces
        width = line_width(pieces, size)
        if width <= room + 0.01:
            baseline = box.top - GLYPH_TOP * size
            rule_y = baseline - GLYPH_BOTTOM * size - 0.8
            items: list[Item] = [
                TextRun(box.x + dx, baseline, piece, style, size)
                for piece, style, dx in pieces
                if piece.strip()
            ]
            items.append(Rule(box.x, rule_y, box.x + width, rule_y, 0.4))
            return items, rule_y - 0.2
    text = return_line_options(campaign, domestic)[-1]
    width = line_width(single_line(text, Style.REGULAR, RETURN_SIZES[-1]).pieces, RETURN_SIZES[-1])
    advice = (
        "shorten sender.return_line"
        if campaign.sender.return_line
        else "set sender.return_line to a short return address, e.g. 'Name · PO Box · City'"
    )
    raise AddressDoesNotFit(
        f"the sender's return line '{text}' is {width / MM:.0f} mm wide at "
        f"{RETURN_SIZES[-1]:g} pt, but the window of the {spec.label} holds {room / MM:.0f} mm: "
        f"{advice}"
    )


def check_return_line(campaign: Campaign, spec: EnvelopeSpec) -> None:
    """Raise :class:`AddressDoesNotFit` when no return line fits the window, even shortened.

    Every postal letter of the campaign shares it: check it once, before building (a domestic
    letter may drop the sender's country, so that is the shortest there is).
    """
    _return_line(campaign, spec, domestic=True)


def _wrap_line(text: str, width: float, size: float) -> list[tuple[str, bool]]:
    """One address line broken at spaces into lines no wider than ``width``.

    Each line comes with its direction (right-to-left lines sit flush right in the window).
    """
    return [
        ("".join(t for t, _, _ in line.pieces).strip(), line.rtl)
        for line in wrap_lines([Span(text)], width, size)
    ]


def _capacity(height: float, size: float) -> int:
    """How many lines of ``size`` fit in ``height`` (whole glyphs, baselines 1.2 × size apart)."""
    leading = 1.2 * size
    first = (GLYPH_TOP + GLYPH_BOTTOM) * size
    if height < first:
        return 0
    return 1 + int((height - first) / leading + 1e-6)


def _address_items(
    recipient: Recipient, spec: EnvelopeSpec, top: float, sender_country: str | None = None
) -> list[Item]:
    """The address lines, from ``top`` down, inside the text box; or AddressDoesNotFit."""
    box = spec.text_box
    face = typeface()[Style.REGULAR]
    if not any(line.strip() for line in recipient.address):
        raise AddressDoesNotFit(
            f"{recipient.field_path}.address is empty: a postal letter needs a postal address"
        )
    if len([line for line in recipient.address if line.strip()]) < 2:
        raise AddressDoesNotFit(
            f"{recipient.field_path}.address has a single line ('{recipient.address[0]}'): that is "
            "not an address the post can deliver; give the street (or PO box) and the city on "
            "lines of their own"
        )
    lines = address_lines(recipient, sender_country)
    problem = ""
    for size in ADDRESS_SIZES:
        too_wide = [
            (word, line.field, width)
            for line in lines
            for word, width in unbreakable(line.text, size)
            if width > box.w + 0.01
        ]
        wrapped = [(line.field, _wrap_line(line.text, box.w, size)) for line in lines]
        count = sum(len(texts) for _, texts in wrapped)
        capacity = _capacity(top - box.y, size)
        if not too_wide and count <= capacity:
            leading = 1.2 * size
            baseline = top - GLYPH_TOP * size
            items: list[Item] = []
            for _, texts in wrapped:
                for text, rtl in texts:
                    x = box.right - face.width(text, size) if rtl else box.x
                    items.append(TextRun(x, baseline, text, Style.REGULAR, size))
                    baseline -= leading
            return items
        if too_wide:
            word, where, width = too_wide[0]
            problem = (
                f"'{word}' in {where} is {width / MM:.0f} mm wide at {size:g} pt, but the window "
                f"of the {spec.label} holds lines of {box.w / MM:.0f} mm: shorten it or break it "
                "with a space"
            )
        else:
            wrapping = [where for where, texts in wrapped if len(texts) > 1]
            advice = (
                f"shorten {', '.join(wrapping)} (wrapped onto several lines)"
                if wrapping
                else "leave out a line (the title, or an address line) or join short lines"
            )
            problem = (
                f"the address needs {count} lines at {size:g} pt, but the window of the "
                f"{spec.label} holds {capacity}: {advice}"
            )
    raise AddressDoesNotFit(problem)


def window_items(campaign: Campaign, recipient: Recipient, spec: EnvelopeSpec) -> list[Item]:
    """The return line and the address, inside the window; or :class:`AddressDoesNotFit`."""
    sender = campaign.sender.country
    domestic = recipient.country is None or recipient.country == sender
    items, below = _return_line(campaign, spec, domestic)
    return items + _address_items(recipient, spec, below - 2.5, sender)


def _sender_column(
    campaign: Campaign, day: dt.date, x: float, top: float, width: float
) -> tuple[list[Item], float]:
    """Letterhead and date in a column right of the window; returns its items and its bottom."""
    blocks: list[Block] = [*letterhead(campaign, contact_separator="\n"), Spacer(6 * MM)]
    date = format_date(day, campaign.letter.language)
    blocks.append(Paragraph((Span(date),), size=12.0))
    items: list[Item] = []
    y = top
    for block in blocks:
        if isinstance(block, Spacer):
            y -= block.height
            continue
        runs, y = text_runs(block.spans, x, y, width, block.size, block.line_height)
        items.extend(runs)
        y -= block.space_after
    return items, y


def postal_document(
    campaign: Campaign,
    recipient: Recipient,
    body: Sequence[Paragraph],
    day: dt.date,
    spec: EnvelopeSpec,
    *,
    fold_marks: bool = True,
    translations: Sequence[tuple[Campaign, Sequence[Paragraph]]] = (),
    extras: LetterExtras | None = None,
    enclosures: Sequence[EnclosurePage] = (),
) -> list[Page]:
    """The whole postal letter for one recipient, footers on every page.

    ``translations``: the letter in other languages, each from a new page after the first;
    ``enclosures``: the enclosures' pages, after the letter.

    Raises :class:`AddressDoesNotFit` (a :class:`~faxbatch.letters.document.DoesNotFit`) when the
    address or the return line cannot fit the window, and :class:`ValueError` when ``spec`` is for
    another page size than the campaign's.
    """
    if spec.page_size != campaign.page_size:
        raise ValueError(
            f"the {spec.label} takes {spec.page_size} sheets, but the campaign prints on "
            f"{campaign.page_size}"
        )
    geometry = Geometry.for_size(campaign.page_size)
    head: list[Item] = [*mark_rules(spec)] if fold_marks else []
    head.extend(window_items(campaign, recipient, spec))
    column_x = spec.window.right + COLUMN_GAP
    column, column_bottom = _sender_column(
        campaign, day, column_x, geometry.top, geometry.right - column_x
    )
    head.extend(column)
    first_top = min(spec.window.y, column_bottom) - BODY_GAP
    pages = flow(letter_text(campaign, recipient, body, extras), geometry, first_top)
    pages[0].items[:0] = head
    for other, other_body in translations:
        pages += flow(letter_text(other, recipient, other_body, extras), geometry)
    if extras is not None:  # the annex of signatories, after the letters
        pages += annex_pages(extras.signers, campaign.letter.language, geometry)
    pages += enclosure_pages(enclosures, geometry)
    add_footers(pages, footer_label(campaign, recipient), campaign.letter.language)
    return pages
