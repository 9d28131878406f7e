"""Builders for the print-shop tests: a small campaign, fonts, documents and a batch folder."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
from functools import cache
from pathlib import Path

from faxbatch.campaign.model import Campaign, Letter, PageSize, Recipient, Sender
from faxbatch.letters.document import FaxTarget, add_footers, fax_document
from faxbatch.letters.envelopes import envelope_spec
from faxbatch.letters.fonts import LAYOUT_CHARACTERS, EmbeddedFont, Style, embed_all
from faxbatch.letters.layout import Geometry, Page, TextRun
from faxbatch.letters.markdown import parse_body
from faxbatch.letters.pdf import PageContent, PdfWriter, render_page
from faxbatch.letters.postal import AddressDoesNotFit, postal_document
from faxbatch.printshop.ticket import job_json, job_text
from faxbatch.printshop.volumes import Placement, VolumeRecord, VolumeSet

DAY = dt.date(2012, 5, 10)
KAZAKH = "ӘәҒғҚқҢңӨөҰұҮүҺһІі"
CYRILLIC = "".join(chr(c) for c in range(0x410, 0x450)) + "Ёё"
CHARS = frozenset(LAYOUT_CHARACTERS | set(KAZAKH + CYRILLIC + "·…–—•«»×"))

SHORT_BODY = "We protest against the trial.\n\n- release him\n- drop the charges\n"
LONG_BODY = "\n\n".join(
    f"Paragraph {n}: we protest against the trial of the activists, ask for their release and "
    "for an investigation of the police violence on May Day in Almaty." * 2
    for n in range(14)
)

RECIPIENTS = (
    Recipient(
        id="court",
        name="The Presiding Judge",
        organization="Almaty City Court",
        address=("ул. Толе би 55", "050000 Алматы", "Қазақстан"),
        fax="++7727 2715802",
        index=0,
    ),
    Recipient(
        id="admin",
        name="Head of the Presidential Administration",
        organization="Administration of the President of the Republic of Kazakhstan",
        address=("Astana", "Kazakhstan"),
        fax="8 (7172) 74-55-24",
        index=1,
    ),
    Recipient(id="ministry", name="Foreign Ministry", address=("Astana", "Kazakhstan"), index=2),
)


@cache
def fonts() -> dict[Style, EmbeddedFont]:
    """The four styles, subset once for every test."""
    return embed_all(dict.fromkeys(Style, CHARS))[0]


def make_campaign(
    page_size: PageSize = "A4",
    body: str = SHORT_BODY,
    recipients: tuple[Recipient, ...] = RECIPIENTS,
    sender: Sender | None = None,
) -> Campaign:
    return Campaign(
        source=Path("campaign.yaml"),
        title="Free the activists",
        reference="T-1",
        sender=sender
        or Sender(
            name="Ann Organizer",
            organization="Solidarity Group",
            address=("1 Main Street", "Springfield"),
            email="ann@example.org",
        ),
        letter=Letter(subject="The trial of Dmitry Tikhonov", body=body, signature=("Ann",)),
        recipients=recipients,
        page_size=page_size,
    )


def render(pages: list[Page]) -> list[PageContent]:
    return [render_page(page, fonts()) for page in pages]


def synthetic(label: str, count: int, size: PageSize = "A4") -> list[PageContent]:
    """A document of ``count`` pages, each saying which it is, with "Page N of M" footers."""
    geometry = Geometry.for_size(size)
    pages = [
        Page(geometry, [TextRun(geometry.left, geometry.top - 20, f"{label} {n}", Style.BOLD, 14)])
        for n in range(1, count + 1)
    ]
    add_footers(pages, label)
    return render(pages)


def pdf_file(contents: list[PageContent]) -> bytes:
    buffer = io.BytesIO()
    writer = PdfWriter(buffer, fonts())
    writer.add_pages(contents)
    writer.close()
    return buffer.getvalue()


def postal(
    campaign: Campaign, recipient: Recipient, envelope: str, din5008: str | None
) -> list[Page]:
    spec = envelope_spec(campaign.page_size, envelope, din5008)
    return postal_document(campaign, recipient, parse_body(campaign.letter.body), DAY, spec)


def build_folder(
    folder: Path,
    *,
    page_size: PageSize = "A4",
    envelope: str = "DL",
    din5008: str | None = "B",
    body: str = SHORT_BODY,
    max_pages: int = 500,
) -> tuple[list[VolumeRecord], list[Placement]]:
    """A batch as the pipeline will write it: faxes, fax and post volumes, ticket, manifest."""
    campaign = make_campaign(page_size, body)
    parsed = parse_body(body)
    records: list[VolumeRecord] = []
    placements: list[Placement] = []
    manifest = []
    (folder / "faxes").mkdir(parents=True)
    with VolumeSet(
        folder, "fax", fonts(), page_size, duplex=False, max_pages=max_pages, title="faxes"
    ) as faxes:
        for recipient in campaign.recipients:
            if not recipient.fax:
                continue
            target = FaxTarget(fax=recipient.fax)
            contents = render(fax_document(campaign, recipient, parsed, DAY, target))
            data = pdf_file(contents)
            (folder / f"faxes/{recipient.id}.pdf").write_bytes(data)
            placed = faxes.add_document(recipient.id, f"{recipient.id}: fax", contents)
            manifest.append(
                {
                    "recipient_id": recipient.id,
                    "channel": "fax",
                    "file": f"faxes/{recipient.id}.pdf",
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "volume": placed.volume,
                    "volume_first_page": placed.first_page,
                    "volume_last_page": placed.last_page,
                }
            )
    records += faxes.volumes
    placements += faxes.placements
    with VolumeSet(
        folder,
        "post",
        fonts(),
        page_size,
        duplex=True,
        max_pages=max_pages,
        title="letters",
        envelope=envelope,
        din5008=din5008,
    ) as post:
        for recipient in campaign.recipients:
            try:
                contents = render(postal(campaign, recipient, envelope, din5008))
            except AddressDoesNotFit:
                continue  # the pipeline rejects such a letter, with the reason
            placed = post.add_document(recipient.id, f"{recipient.id}: letter", contents)
            manifest.append(
                {
                    "recipient_id": recipient.id,
                    "channel": "post",
                    "volume": placed.volume,
                    "volume_first_page": placed.first_page,
                    "volume_last_page": placed.last_page,
                }
            )
    records += post.volumes
    placements += post.placements
    (folder / "print/job.json").write_bytes(job_json(records, placements, title="T-1"))
    (folder / "print/job.txt").write_bytes(job_text(records, placements, title="T-1"))
    summary = {"campaign": {"page_size": page_size}, "documents": manifest}
    (folder / "manifest.json").write_text(json.dumps(summary), encoding="utf-8")
    return records, placements
