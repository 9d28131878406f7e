"""The ways a campaign's letters get made without faxbatch, for the benchmarks to compare against.

- :func:`platypus_letters`: the way a Python user would write it: the campaign's YAML and CSV read
  with pyyaml and ``csv``, numbers formatted with phonenumbers, then for every recipient one
  reportlab ``SimpleDocTemplate`` with platypus ``Paragraph``\\ s and a ``Table`` for the cover,
  "Page N of M" drawn by the usual two-pass numbered canvas, and every letter merged into one
  volume with pypdf.
- :func:`typst_letters`: a Typst mail merge, one document compiled per letter (``typst`` package),
  merged with pypdf. Skipped (None) when the package is not installed.

Both make what faxbatch makes for a fax: a cover sheet, then the letter, a footer on every page.
"""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pypdf
import yaml

FONTS = Path(__file__).resolve().parent.parent / "src/faxbatch/letters/fonts"


@dataclass(frozen=True)
class Measured:
    """Letters made, the seconds they took, the merged volume and its pages."""

    letters: int
    seconds: float
    volume: bytes = field(repr=False)
    pages: int

    @property
    def volume_bytes(self) -> int:
        return len(self.volume)

    @property
    def rate(self) -> float:
        return self.letters / self.seconds


def _campaign(path: Path, sample: int) -> tuple[dict[str, Any], list[dict[str, str]]]:
    campaign = yaml.safe_load(path.read_text("utf-8"))
    with (path.parent / campaign["recipients_file"]).open(encoding="utf-8", newline="") as handle:
        rows = [row for _, row in zip(range(sample), csv.DictReader(handle), strict=False)]
    return campaign, rows


def _fax(number: str, region: str) -> str:
    import phonenumbers

    parsed = phonenumbers.parse(number, region)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def platypus_letters(campaign_path: Path, sample: int) -> Measured:
    """``sample`` letters of the campaign the way a reportlab user would make them."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas as pdfcanvas
    from reportlab.platypus import (
        PageBreak,
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    started = time.perf_counter()
    for name in ("DejaVuSans", "DejaVuSans-Bold"):
        pdfmetrics.registerFont(TTFont(name, str(FONTS / f"{name}.ttf")))
    # faxbatch's type and page: 12 pt on 1.3 leading, margins 25/22/22/24 mm, so both make the
    # same number of pages
    body_style = ParagraphStyle(
        "body", fontName="DejaVuSans", fontSize=12, leading=15.6, spaceAfter=7.2
    )
    head_style = ParagraphStyle("head", fontName="DejaVuSans-Bold", fontSize=22, leading=28)
    campaign, rows = _campaign(campaign_path, sample)
    letter, sender = campaign["letter"], campaign["sender"]
    reference, day = campaign["campaign"]["reference"], campaign["campaign"]["date"]
    paragraphs = [p.strip() for p in letter["body"].split("\n\n") if p.strip()]

    class NumberedCanvas(pdfcanvas.Canvas):  # type: ignore[misc]
        """The usual recipe: keep every page's state, then draw "Page N of M" on each."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._saved: list[dict[str, Any]] = []

        def showPage(self) -> None:
            self._saved.append(dict(self.__dict__))
            self._startPage()

        def save(self) -> None:
            total = len(self._saved)
            for state in self._saved:
                self.__dict__.update(state)
                self.setFont("DejaVuSans", 8)
                self.drawString(20 * mm, 10 * mm, f"{reference}")
                self.drawRightString(190 * mm, 10 * mm, f"Page {self._pageNumber} of {total}")
                super().showPage()
            super().save()

    volume = pypdf.PdfWriter()
    for row in rows:
        buffer = io.BytesIO()
        doc = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            invariant=1,
            leftMargin=25 * mm,
            rightMargin=22 * mm,
            topMargin=22 * mm,
            bottomMargin=24 * mm,
        )
        cover = Table(
            [
                ["To:", row["name"]],
                ["Organization:", row["organization"]],
                ["Fax:", _fax(row["fax"], campaign["defaults"]["country"])],
                ["From:", sender["name"]],
                ["Email:", sender["email"]],
                ["Date:", str(day)],
                ["Regarding:", letter["subject"]],
            ],
            colWidths=[40 * mm, 120 * mm],
        )
        cover.setStyle(
            TableStyle(
                [
                    ("FONT", (0, 0), (-1, -1), "DejaVuSans", 11),
                    ("FONT", (0, 0), (0, -1), "DejaVuSans-Bold", 11),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.5, colors.black),
                ]
            )
        )
        story = [Paragraph("FAX", head_style), Spacer(1, 10 * mm), cover, Spacer(1, 10 * mm)]
        story.append(Paragraph(campaign["cover"]["comments"], body_style))
        story.append(PageBreak())
        for line in (row["name"], row["organization"], *row["address"].split(" | ")):
            story.append(Paragraph(line, body_style))
        story += [Spacer(1, 8 * mm), Paragraph(f"<b>{letter['subject']}</b>", body_style)]
        story += [Spacer(1, 4 * mm), Paragraph(f"Dear {row['name']},", body_style)]
        story += [Paragraph(text, body_style) for text in paragraphs]
        story += [Spacer(1, 6 * mm), Paragraph("Sincerely,", body_style)]
        story += [Paragraph(line, body_style) for line in letter["signature"]]
        doc.build(story, canvasmaker=NumberedCanvas)
        volume.append(pypdf.PdfReader(io.BytesIO(buffer.getvalue())))
    out = io.BytesIO()
    volume.write(out)
    return Measured(len(rows), time.perf_counter() - started, out.getvalue(), len(volume.pages))


def _typst_source(campaign: dict[str, Any], row: dict[str, str], fax: str) -> str:
    def t(text: object) -> str:  # a Typst string literal
        return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'

    letter, sender = campaign["letter"], campaign["sender"]
    reference = campaign["campaign"]["reference"]
    body = "\n".join(f"#par({t(p.strip())})\n" for p in letter["body"].split("\n\n") if p.strip())
    fields = [
        ("To", row["name"]),
        ("Organization", row["organization"]),
        ("Fax", fax),
        ("From", sender["name"]),
        ("Date", campaign["campaign"]["date"]),
        ("Regarding", letter["subject"]),
    ]
    table = ", ".join(f"[*{name}:*], [#{t(value)}]" for name, value in fields)
    breaks = " \\\n"  # a line break in Typst markup
    address = breaks.join(f"#{t(x)}" for x in (row["name"], *row["address"].split(" | ")))
    signature = breaks.join(f"#{t(x)}" for x in letter["signature"])
    comments, subject = t(campaign["cover"]["comments"]), t(letter["subject"])
    return f"""
#set page(paper: "a4", margin: (left: 25mm, right: 22mm, top: 22mm, bottom: 24mm),
  footer: context [#text(size: 8pt)[#{t(reference)} #h(1fr) Page #counter(page).display() of
  #counter(page).final().first()]])
#set text(font: "DejaVu Sans", size: 12pt)
#set par(leading: 0.45em, spacing: 0.9em)
#text(size: 22pt, weight: "bold")[FAX]
#v(10mm)
#table(columns: (40mm, 120mm), stroke: (bottom: 0.5pt), {table})
#v(10mm)
#{comments}
#pagebreak()
{address}
#v(8mm)
*#{subject}*

Dear #{t(row["name"])},

{body}
Sincerely,

{signature}
"""


def typst_letters(campaign_path: Path, sample: int) -> Measured | None:
    """``sample`` letters as a Typst mail merge compiled once per letter, or None without Typst."""
    try:
        import typst
    except ImportError:
        return None
    started = time.perf_counter()
    campaign, rows = _campaign(campaign_path, sample)
    volume = pypdf.PdfWriter()
    for row in rows:
        source = _typst_source(campaign, row, _fax(row["fax"], campaign["defaults"]["country"]))
        pdf: bytes = typst.compile(source.encode("utf-8"), font_paths=[str(FONTS)])  # type: ignore[misc]
        volume.append(pypdf.PdfReader(io.BytesIO(pdf)))
    out = io.BytesIO()
    volume.write(out)
    return Measured(len(rows), time.perf_counter() - started, out.getvalue(), len(volume.pages))
