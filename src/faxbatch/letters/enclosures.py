"""Enclosures drawn as pages of the letter: each page of the PDF as a black-and-white image.

Every page of an enclosure is drawn by PDFium (pypdfium2) once per build, at 200 dpi on the
campaign's page (the resolution of a "fine" fax), in grey, text and lines without smoothing,
then made black and white (Floyd–Steinberg dithering: greys and colours become dot patterns,
black text stays solid). The image is cut to what the page draws (its white margins dropped) and
placed on a page of the campaign's size:

- scaled as the whole page would be to fit the campaign's page (never enlarged), centred; a
  landscape page is turned a quarter (its top to the left) when the campaign's page is portrait;
- if what it draws then reaches into the fax header zone (the top 15 mm), the footer's band (the
  bottom 20 mm) or the side margins (10 mm), it is made smaller still and moved just inside.

So an enclosure meets every rule our own pages meet, whatever it holds: no fonts to embed, nothing
in the header zone, black on white; its pages carry our footer ("Page N of M"). The same image
goes into the postal letters. Rendering is deterministic: the same PDF and the same PDFium give
the same pixels, and the image's key is a digest of its bytes (the build cache keys on it).
"""

from __future__ import annotations

import hashlib
import warnings
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from faxbatch.campaign.enclosures import open_pdf
from faxbatch.campaign.inputs import ENCLOSURE, Origin, folders_of, read_input
from faxbatch.campaign.model import Campaign, Enclosure
from faxbatch.errors import InputUnreadableError
from faxbatch.letters.layout import FAX_HEADER_ZONE, MM, PAGE_SIZES, Geometry, Image, Page
from faxbatch.letters.pdf import RasterImage

if TYPE_CHECKING:  # native libraries, loaded only when a campaign has enclosures
    import pypdfium2
    from PIL import Image as PILImage

#: dots per inch on the campaign's page (fax "fine" resolution is 204 × 196)
DPI = 200
#: the part of a page an enclosure may draw in: clear of the header zone, the footer and margins
TOP_CLEAR = FAX_HEADER_ZONE + 3 * MM
BOTTOM_CLEAR = 20 * MM
SIDE_CLEAR = 10 * MM
#: below this grey level (0 black, 255 white) a pixel counts as drawn when cutting the margins
_INK = 250


@dataclass(frozen=True)
class EnclosurePage:
    """One page of an enclosure, ready to place: its image and where it goes (points)."""

    image: RasterImage
    x: float
    y: float
    w: float
    h: float
    #: the file and page it comes from, for messages
    source: str = ""


def enclosure_pages(pages: Sequence[EnclosurePage], geometry: Geometry) -> list[Page]:
    """The laid-out pages of the enclosures (an empty page stays empty: it gets the footer)."""
    laid = []
    for page in pages:
        items: list[Image] = []
        if page.w > 0 and page.h > 0:
            items.append(Image(page.x, page.y, page.w, page.h, page.image.key))
        laid.append(Page(geometry, list(items)))
    return laid


def render_enclosures(campaign: Campaign) -> tuple[EnclosurePage, ...]:
    """Every page of the campaign's enclosures, drawn for its page size (in order).

    Reads each file again through :mod:`faxbatch.campaign.inputs`; a file changed since the
    campaign was read (another digest) is refused (:class:`InputUnreadableError`).
    """
    pages: list[EnclosurePage] = []
    for enclosure in campaign.enclosures:
        pages.extend(_render_file(campaign, enclosure))
    return tuple(pages)


def _render_file(campaign: Campaign, enclosure: Enclosure) -> list[EnclosurePage]:
    line = campaign.lines.get("enclosures")
    origin = Origin(str(campaign.source), line, "enclosures")
    data = read_input(
        enclosure.name,
        ENCLOSURE,
        origin,
        base=Path(campaign.source).parent,
        folders=folders_of(campaign),
    )
    if hashlib.sha256(data).hexdigest() != enclosure.sha256:
        raise InputUnreadableError(
            f"{origin}: the enclosure '{enclosure.name}' changed while the batch was built",
            hint="build again once the file is final",
        )
    width, height = PAGE_SIZES[campaign.page_size]
    made = []
    with open_pdf(data, origin, enclosure.name) as document:
        for index in range(len(document)):
            where = f"{enclosure.name}, page {index + 1}"
            gray = _draw(document, index, width, height, origin, where)
            made.append(_place(gray, width, height, where))
    return made


def _draw(
    document: pypdfium2.PdfDocument,
    index: int,
    width: float,
    height: float,
    origin: Origin,
    where: str,
) -> PILImage.Image:
    """A page drawn in grey at :data:`DPI` on the campaign's page, turned upright for it."""
    import pypdfium2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            page = document[index]
            try:
                w, h = page.get_size()
                turn = w > h and width < height
                if turn:
                    w, h = h, w
                fit = min(1.0, width / w, height / h)
                bitmap = page.render(
                    scale=DPI / 72 * fit,
                    rotation=270 if turn else 0,  # counter-clockwise: its top to the left
                    grayscale=True,
                    fill_color=(255, 255, 255, 255),
                    no_smoothtext=True,
                    no_smoothpath=True,
                    draw_annots=True,
                    may_draw_forms=False,
                )
                image: PILImage.Image = bitmap.to_pil().convert("L")
                bitmap.close()
            finally:
                page.close()
        except pypdfium2.PdfiumError as exc:
            raise InputUnreadableError(
                f"{origin}: cannot draw {where}: {exc}",
                hint="export or print the document to PDF again from the program that made it",
            ) from None
    return image


def _place(gray: PILImage.Image, width: float, height: float, where: str) -> EnclosurePage:
    """The page's black-and-white image, cut to what it draws, and its box on our page."""
    from PIL import Image as PILImage

    bilevel = gray.convert("1")  # Floyd–Steinberg: deterministic for the same pixels
    # the drawn part: where the grey image is darker than almost-white
    box = gray.point(lambda value: 255 if value < _INK else 0).getbbox()
    unit = 72 / DPI  # points per pixel of the drawing
    if box is None:
        empty = _raster(PILImage.new("1", (1, 1), 1))
        return EnclosurePage(empty, 0.0, 0.0, 0.0, 0.0, where)
    left, top, right, bottom = box
    cut = bilevel.crop(box)
    page_w, page_h = gray.width * unit, gray.height * unit
    # where the drawn part lies when the whole page is centred on ours
    x = (width - page_w) / 2 + left * unit
    y = (height - page_h) / 2 + (gray.height - bottom) * unit
    w, h = (right - left) * unit, (bottom - top) * unit
    room_x0, room_x1 = SIDE_CLEAR, width - SIDE_CLEAR
    room_y0, room_y1 = BOTTOM_CLEAR, height - TOP_CLEAR
    shrink = min(1.0, (room_x1 - room_x0) / w, (room_y1 - room_y0) / h)
    if shrink < 1.0:  # smaller, about the page's centre, then kept inside the room
        cx, cy = width / 2, height / 2
        x, y = cx + (x - cx) * shrink, cy + (y - cy) * shrink
        w, h = w * shrink, h * shrink
    x = min(max(x, room_x0), room_x1 - w)
    y = min(max(y, room_y0), room_y1 - h)
    return EnclosurePage(_raster(cut), round(x, 2), round(y, 2), round(w, 2), round(h, 2), where)


def _raster(image: PILImage.Image) -> RasterImage:
    """A bilevel image as an image XObject's data (rows padded to bytes, 0 black, 1 white)."""
    data = zlib.compress(image.tobytes(), 9)
    key = hashlib.sha256(b"%d %d " % image.size + data).hexdigest()[:16]
    return RasterImage(key, image.width, image.height, data)
