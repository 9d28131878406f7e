"""One recipient's fax: a cover sheet, then the letter, with "Page N of M" on every page.

Pure layout: from the campaign, the recipient and the number chosen for it to laid-out pages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from faxbatch.campaign.model import Campaign, Recipient
from faxbatch.letters import labels
from faxbatch.letters.enclosures import EnclosurePage, enclosure_pages
from faxbatch.letters.fonts import Style, typeface
from faxbatch.letters.layout import (
    MM,
    Block,
    Box,
    Geometry,
    Item,
    Page,
    Paragraph,
    Rule,
    Spacer,
    Span,
    TextRun,
    flow,
    line_count,
    line_width,
    single_line,
    text_runs,
)
from faxbatch.letters.markdown import fill, fill_blocks
from faxbatch.letters.signatories import (
    LetterExtras,
    annex_pages,
    closing_blocks,
    signature_lines,
)

BODY = 12.0
SMALL = 11.0  # letterhead details: still readable after a 200 dpi fax
FOOTER = 10.0
COVER_LABEL = 12.0
COVER_VALUE = 15.0


class DoesNotFit(Exception):
    """A page's content does not fit where it must (a cover sheet on one page)."""


@dataclass(frozen=True)
class FaxTarget:
    """The number a document is meant for, as printed on it."""

    fax: str  # international form, e.g. "+7 727 271 5802"
    phone: str = ""


def letterhead(campaign: Campaign, contact_separator: str = " · ") -> list[Block]:
    """The sender's block at the top of the letter.

    Phone, fax and email share one line; a narrow column gives each a line of its own (with a
    line break as the separator).
    """
    sender = campaign.sender
    words = labels.labels(campaign.letter.language)
    blocks: list[Block] = []
    head = sender.organization or sender.name
    blocks.append(Paragraph((Span(head, Style.BOLD),), size=15.0, space_after=2.0))
    lines = list(sender.address)
    if sender.organization and sender.name:
        lines.insert(0, sender.name)
    contact = contact_separator.join(
        part
        for part in (
            f"{words.phone} {sender.phone}" if sender.phone else "",
            f"{words.fax} {sender.fax}" if sender.fax else "",
            sender.email,
        )
        if part
    )
    if contact:
        lines.append(contact)
    if lines:
        blocks.append(Paragraph((Span("\n".join(lines)),), size=SMALL))
    return blocks


def letter_blocks(
    campaign: Campaign,
    recipient: Recipient,
    body: Sequence[Paragraph],
    day: dt.date,
    target: FaxTarget | None,
    extras: LetterExtras | None = None,
) -> list[Block]:
    """Everything of the letter, in reading order, ready to flow over pages."""
    language = campaign.letter.language
    blocks = letterhead(campaign)
    blocks.append(Spacer(8 * MM))
    date = labels.format_date(day, language)
    blocks.append(Paragraph((Span(date),), size=BODY, align="right", space_after=6.0))
    address = [recipient.name, recipient.title, recipient.organization, *recipient.address]
    address = [line for line in address if line]
    if target:
        address.append(labels.labels(language).by_fax.format(fax=target.fax))
    blocks.append(Paragraph((Span("\n".join(address)),), size=BODY, space_after=8 * MM, own=True))
    return blocks + letter_text(campaign, recipient, body, extras)


def letter_text(
    campaign: Campaign,
    recipient: Recipient,
    body: Sequence[Paragraph],
    extras: LetterExtras | None = None,
) -> list[Block]:
    """The letter from its subject on (a postal letter places its head itself).

    ``extras``: the annex's signers (their count signs too) and the other recipients.
    """
    letter = campaign.letter
    values = recipient.placeholder_values()
    blocks: list[Block] = []
    subject = fill(letter.subject, values)
    blocks.append(
        Paragraph(
            (Span(subject, Style.BOLD),),
            size=BODY,
            keep_with_next=True,
            space_after=4.0,
            own=subject != letter.subject,
        )
    )
    if campaign.reference:
        blocks.append(
            Paragraph(
                (
                    Span(
                        labels.labels(letter.language).reference_line.format(
                            reference=campaign.reference
                        )
                    ),
                ),
                size=SMALL,
                keep_with_next=True,
            )
        )
    blocks.append(Spacer(5 * MM))
    own = recipient.greeting if letter.language == (recipient.language or letter.language) else ""
    greeting = fill(own or letter.greeting, values)
    if greeting:
        personal = greeting != letter.greeting
        blocks.append(Paragraph((Span(greeting),), size=BODY, space_after=0.6 * BODY, own=personal))
    text = fill_blocks(body, values)
    if text:  # the closing never starts a page without at least two lines of the body's end
        text[-1] = replace(text[-1], keep_with_next=True)
        geometry = Geometry.for_size(campaign.page_size)
        if len(text) > 1 and line_count(text[-1], geometry) < 2:
            text[-2] = replace(text[-2], keep_with_next=True)
    blocks.extend(text)
    closing = fill(letter.closing, values)
    signature = signature_lines(campaign, extras)
    # closing and signature stay together, with room to sign by hand
    blocks.append(
        Paragraph(
            (Span(closing),),
            size=BODY,
            keep_with_next=True,
            space_before=0.9 * BODY,
            space_after=12 * MM,
        )
    )
    blocks.append(Paragraph((Span("\n".join(signature)),), size=BODY))
    blocks.extend(closing_blocks(campaign, extras))
    return blocks


#: items every cover of a batch may share, by their values (see :func:`_shared`)
_SHARED: dict[Item, Item] = {}
#: at most this many items and rows are kept (then the cache of items starts again)
SHARED_ITEMS = 4096


def _shared(page: Page, *items: Item) -> None:
    """Add items that are no recipient's own: the very objects any cover before used."""
    if len(_SHARED) >= SHARED_ITEMS:
        _SHARED.clear()
    page.begin(False)
    page.items.extend(_SHARED.setdefault(item, item) for item in items)


def _row(
    page: Page,
    label: str,
    value: str,
    y: float,
    geometry: Geometry,
    bold: bool = False,
    own: bool = False,
) -> float:
    """One labelled line of the cover sheet; returns the y below it.

    ``own``: the value is the recipient's (its name, its number); any other row is laid out once
    for all the covers that have it at the same height.
    """
    items, below = (_row_items if own else _shared_row)(label, value, y, geometry, bold)
    page.begin(own)
    page.items.extend(items)
    return below


def _row_items(
    label: str, value: str, y: float, geometry: Geometry, bold: bool
) -> tuple[tuple[Item, ...], float]:
    """The items of a cover's row, and the y below it."""
    label_width = 40 * MM
    style = Style.BOLD if bold else Style.REGULAR
    head = TextRun(geometry.left, y - COVER_VALUE * 0.9, label, Style.BOLD, COVER_LABEL)
    runs, below = text_runs(
        (Span(value or "—", style),),
        geometry.left + label_width,
        y,
        geometry.frame_width - label_width,
        COVER_VALUE,
    )
    return (head, *runs), below - 2.0


#: the rows no recipient owns, the same objects for every cover that has them at one height
_shared_row = lru_cache(maxsize=SHARED_ITEMS)(_row_items)


def cover_page(
    campaign: Campaign,
    recipient: Recipient,
    day: dt.date,
    total_pages: int,
    target: FaxTarget | None,
    geometry: Geometry,
) -> Page:
    """The fax cover sheet: who to, who from, what about, how many pages."""
    page = Page(geometry)
    sender = campaign.sender
    values = recipient.placeholder_values()
    language = campaign.letter.language
    words = labels.labels(language)
    top = geometry.top
    _shared(page, TextRun(geometry.left, top - 40, words.fax_title, Style.BOLD, 48.0))
    if campaign.cover.urgent:
        face = typeface()[Style.BOLD]
        width = face.width(words.urgent, 22.0) + 16
        x = geometry.right - width
        _shared(
            page,
            Box(x, top - 44, width, 40, width=3.0),
            TextRun(x + 8, top - 32, words.urgent, Style.BOLD, 22.0),
        )
    y = top - 60
    _shared(page, Rule(geometry.left, y, geometry.right, y, 1.5))
    y -= 8

    y = _row(page, words.date, labels.format_date(day, language), y, geometry)
    y = _row(page, words.pages, words.pages_value.format(count=total_pages), y, geometry)
    y -= 6
    _shared(page, Rule(geometry.left, y, geometry.right, y))
    y -= 8
    name = recipient.name or recipient.organization
    y = _row(page, words.to, name, y, geometry, bold=True, own=True)
    if recipient.title:
        y = _row(page, "", recipient.title, y, geometry, own=True)
    if recipient.organization and recipient.name:
        y = _row(page, words.organization, recipient.organization, y, geometry, own=True)
    y = _row(page, words.fax, target.fax if target else "", y, geometry, bold=True, own=True)
    if target and target.phone:
        y = _row(page, words.phone, target.phone, y, geometry, own=True)
    y -= 6
    _shared(page, Rule(geometry.left, y, geometry.right, y))
    y -= 8
    y = _row(page, words.sender, sender.name, y, geometry, bold=True)
    if sender.organization:
        y = _row(page, words.organization, sender.organization, y, geometry)
    contacts = ((words.fax, sender.fax), (words.phone, sender.phone), (words.email, sender.email))
    for label, value in contacts:
        if value:
            y = _row(page, label, value, y, geometry)
    for number, copy in enumerate(campaign.copies_to):
        shown = f"{copy.name}, {copy.email}" if copy.name else copy.email
        y = _row(page, words.copies_to if number == 0 else "", shown, y, geometry)
    y -= 6
    _shared(page, Rule(geometry.left, y, geometry.right, y))
    y -= 8
    subject = fill(campaign.letter.subject, values)
    own = subject != campaign.letter.subject
    y = _row(page, words.regarding, subject, y, geometry, bold=True, own=own)
    if campaign.reference:
        y = _row(page, words.reference, campaign.reference, y, geometry)
    template = recipient.cover_comments or campaign.cover.comments
    comments = fill(template, values)
    if comments:
        y -= 10
        _shared(
            page,
            TextRun(geometry.left, y - COVER_LABEL, words.comments, Style.BOLD, COVER_LABEL),
        )
        y -= COVER_LABEL * 1.6
        runs, y = text_runs((Span(comments),), geometry.left, y, geometry.frame_width, 14.0)
        if recipient.cover_comments or comments != template:
            page.begin(True)
            page.items.extend(runs)
        else:
            _shared(page, *runs)
    if y < geometry.bottom:
        raise DoesNotFit(
            "the cover sheet does not fit on one page; shorten cover.comments or the names on it"
        )
    return page


def add_footers(pages: Sequence[Page], left: str, language: str = "en") -> None:
    """Put "Page N of M" (in ``language``, and a short document label) at the foot of every page."""
    words = labels.labels(language)
    total = len(pages)
    face = typeface()[Style.REGULAR]
    label = single_line(left, Style.REGULAR, FOOTER).pieces if left else ()
    for number, page in enumerate(pages, start=1):
        geometry = page.geometry
        text = words.page(number, total)
        x = geometry.right - face.width(text, FOOTER)
        page.footer.append(TextRun(x, geometry.footer_baseline, text, Style.REGULAR, FOOTER))
        page.footer.extend(
            TextRun(geometry.left + dx, geometry.footer_baseline, piece, style, FOOTER)
            for piece, style, dx in label
            if piece.strip()
        )


def fax_document(
    campaign: Campaign,
    recipient: Recipient,
    body: Sequence[Paragraph],
    day: dt.date,
    target: FaxTarget,
    translations: Sequence[tuple[Campaign, Sequence[Paragraph]]] = (),
    extras: LetterExtras | None = None,
    enclosures: Sequence[EnclosurePage] = (),
) -> list[Page]:
    """The whole fax for one recipient: cover sheet and letter, footers on every page.

    ``translations``: the same letter in other languages (the campaign in that language, and the
    body), each from a page of its own after the first; the cover (in the first language) and
    "Page N of M" count every page. ``extras``: the annex of signatories (after the letters, in
    the first language) and the other recipients' organizations. ``enclosures``: the
    enclosures' pages, after the letter and its annex.
    """
    geometry = Geometry.for_size(campaign.page_size)
    letter = flow(letter_blocks(campaign, recipient, body, day, target, extras), geometry)
    for other, other_body in translations:
        letter += flow(letter_blocks(other, recipient, other_body, day, target, extras), geometry)
    if extras is not None:
        letter += annex_pages(extras.signers, campaign.letter.language, geometry)
    letter += enclosure_pages(enclosures, geometry)
    cover = cover_page(campaign, recipient, day, len(letter) + 1, target, geometry)
    pages = [cover, *letter]
    add_footers(pages, footer_label(campaign, recipient), campaign.letter.language)
    return pages


def footer_label(campaign: Campaign, recipient: Recipient) -> str:
    """The small print at the foot of every page: reference and recipient id."""
    label = f"{campaign.reference} · {recipient.id}" if campaign.reference else recipient.id
    while _label_width(label) > 110 * MM and len(label) > 4:
        label = label[:-2] + "…"
    return label


def _label_width(text: str) -> float:
    return line_width(single_line(text, Style.REGULAR, FOOTER).pieces, FOOTER)
