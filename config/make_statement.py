"""Make config/statement.pdf, the example campaign's enclosure, from the appeal's statement.

The statement is shared/seed/statement.txt: its first line is the title, then paragraphs (up to
the web page's "Related Articles", which are no part of it). The PDF
is a US Letter page (the example campaign prints on A4: faxbatch scales the page to fit) with a
red title, set in Helvetica, which is not embedded: an enclosure as organizers get them, which
faxbatch draws as black-and-white images anyway. reportlab's invariant mode makes the file the same
on every run.

    python config/make_statement.py ../shared/seed/statement.txt config/statement.pdf
"""

from __future__ import annotations

import sys
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer


def main(source: Path, target: Path) -> None:
    lines = [line.strip() for line in source.read_text(encoding="utf-8").splitlines()]
    if "Related Articles" in lines:
        lines = lines[: lines.index("Related Articles")]
    title, *rest = [line for line in lines if line]
    body = ParagraphStyle("body", fontName="Helvetica", fontSize=10, leading=12.6, spaceAfter=4)
    head = ParagraphStyle(
        "head", fontName="Helvetica-Bold", fontSize=15, leading=18, textColor=colors.darkred
    )
    story = [Paragraph(title, head), Spacer(1, 8)]
    story += [Paragraph(text.replace("&", "&amp;").replace("<", "&lt;"), body) for text in rest]
    document = SimpleDocTemplate(
        str(target),
        pagesize=LETTER,
        leftMargin=0.8 * inch,
        rightMargin=0.8 * inch,
        topMargin=0.7 * inch,
        bottomMargin=0.7 * inch,
        title=title,
        author="Socialist Action (US)",
        invariant=1,
    )
    document.build(story)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
