"""The PDFs a campaign appends to every letter (``enclosures:``), checked when it is read.

An enclosure is read through :mod:`faxbatch.campaign.inputs` (inside the campaign's folder, at most
:data:`~faxbatch.campaign.inputs.ENCLOSURE` bytes) and opened with PDFium, the PDF engine of
Chromium, which later draws its pages (:mod:`faxbatch.letters.enclosures`). A file that is not a
PDF, is damaged, is encrypted (also with an empty password: its owner restricted it), has no pages
or a page PDFium cannot load is refused here, before anything is built: exit 4, naming the file and
why.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from faxbatch.campaign.inputs import ENCLOSURE, Origin
from faxbatch.errors import CampaignError, InputUnreadableError

if TYPE_CHECKING:
    import pypdfium2

#: every enclosure together: each page is sent to every recipient, and costs a fax page each time
MAX_PAGES = 40
#: a page bigger than this (either side, in points: about A2) is a poster, not an enclosure
MAX_SIDE = 1700.0

_WHY = {  # PDFium's FPDF_ERR_* codes
    2: "the file cannot be read",
    3: "it is not a PDF, or it is damaged",
    4: "it is encrypted with a password",
    5: "it uses an encryption PDFium does not support",
    6: "a page cannot be read",
}
_PASSWORD_ERRORS = (4, 5)


_DAMAGED = "export or print the document to PDF again from the program that made it"


@dataclass(frozen=True)
class EnclosureFacts:
    """What checking an enclosure found: its digest, and its pages' sizes (points)."""

    sha256: str
    sizes: tuple[tuple[float, float], ...]


def _unreadable(origin: Origin, name: str, why: str, hint: str) -> InputUnreadableError:
    return InputUnreadableError(f"{origin}: cannot use the enclosure '{name}': {why}", hint=hint)


@contextmanager
def open_pdf(data: bytes, origin: Origin, name: str) -> Iterator[pypdfium2.PdfDocument]:
    """The enclosure opened with PDFium (closed after), or :class:`InputUnreadableError`."""
    import pypdfium2  # a native library: loaded only when a campaign has enclosures
    import pypdfium2.raw as pdfium_c

    hint = "open it and save a copy without a password ('print to PDF' does), and name the copy"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PDFium's notes on odd files: the checks below decide
        try:
            document = pypdfium2.PdfDocument(data)
        except pypdfium2.PdfiumError as exc:
            why = _WHY.get(exc.err_code or -1, "PDFium cannot open it")
            if exc.err_code not in _PASSWORD_ERRORS:
                hint = _DAMAGED
            raise _unreadable(origin, name, why, hint) from None
    try:
        if pdfium_c.FPDF_GetSecurityHandlerRevision(document.raw) != -1:
            raise _unreadable(
                origin,
                name,
                "it is encrypted (its author restricted printing or copying it)",
                hint,
            )
        yield document
    finally:
        document.close()


def too_many_pages(origin: Origin, pages: int) -> CampaignError:
    """The error of enclosures with more than :data:`MAX_PAGES` pages together (exit 3)."""
    return CampaignError(
        f"the enclosures have {pages} pages; every letter would carry them all "
        f"(at most {MAX_PAGES})",
        source=origin.source,
        line=origin.line,
        field=origin.field,
        hint="enclose a short statement, and link to a longer document in the letter instead",
    )


def check_enclosure(data: bytes, origin: Origin, name: str) -> EnclosureFacts:
    """Check that an enclosure's bytes are a PDF faxbatch can draw; what it found.

    Raises :class:`InputUnreadableError` (exit 4) naming the file and why, and
    :class:`CampaignError` (exit 3) for a file of more than :data:`MAX_PAGES` pages.
    """
    import pypdfium2

    sizes: list[tuple[float, float]] = []
    with open_pdf(data, origin, name) as document:
        count = len(document)
        if count == 0:
            raise _unreadable(origin, name, "it has no pages", "name a PDF with pages")
        if count > MAX_PAGES:  # told before its pages are looked at one by one
            raise too_many_pages(origin, count)
        for index in range(count):
            try:
                page = document[index]
            except pypdfium2.PdfiumError:
                raise _unreadable(
                    origin,
                    name,
                    f"page {index + 1} of {count} cannot be read (the file is damaged)",
                    _DAMAGED,
                ) from None
            try:
                width, height = page.get_size()
            finally:
                page.close()
            if not (1.0 <= width <= MAX_SIDE and 1.0 <= height <= MAX_SIDE):
                raise _unreadable(
                    origin,
                    name,
                    f"page {index + 1} is {width / 72 * 25.4:.0f} × {height / 72 * 25.4:.0f} mm, "
                    "no size for a page of a letter",
                    "enclose pages of at most A2; faxbatch scales them to the campaign's page size",
                )
            sizes.append((round(width, 2), round(height, 2)))
    return EnclosureFacts(hashlib.sha256(data).hexdigest(), tuple(sizes))


__all__ = [
    "ENCLOSURE",
    "MAX_PAGES",
    "EnclosureFacts",
    "check_enclosure",
    "open_pdf",
    "too_many_pages",
]
