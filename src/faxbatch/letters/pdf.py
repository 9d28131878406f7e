"""A small streaming PDF writer for laid-out pages.

Why not reportlab's canvas: a batch holds thousands of documents that share one font subset per
style. reportlab subsets fonts per document, and its merged volumes then carry a font copy per
letter. Here a page is rendered once to a compressed content stream (:func:`render_page`) that is
written unchanged into the recipient's own file and into the print volume; each file embeds the
batch's subsets once. Output is deterministic: no dates, and the file ID is a hash of the content.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import BinaryIO

from faxbatch.letters.fonts import EmbeddedFont, Style
from faxbatch.letters.layout import Box, ByIdentity, Image, Item, Page, Rule, TextRun

_FONT_NAMES = {
    Style.REGULAR: b"/FR",
    Style.BOLD: b"/FB",
    Style.ITALIC: b"/FI",
    Style.BOLD_ITALIC: b"/FBI",
}


@dataclass(frozen=True)
class PageContent:
    """A page rendered once: its compressed content streams and what they need.

    A stream per part of the page's content, then one for its footer; letters whose pages share
    a part share that stream's bytes (and, in a volume, its object).
    """

    width: float
    height: float
    streams: tuple[bytes, ...]  # FlateDecode-compressed
    styles: frozenset[Style]
    #: the keys of the raster images it draws (an enclosure's page), written once per file
    images: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RasterImage:
    """A black-and-white image as a PDF image XObject holds it: 1 bit a pixel, 0 is black.

    ``data`` is the rows (each padded to a whole byte), Flate-compressed; ``key``, a digest of
    it, names the image in content streams (``/Im<key>``).
    """

    key: str
    width: int
    height: int
    data: bytes


def _num(value: float) -> bytes:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return (text if text not in ("-0", "") else "0").encode("ascii")


def _ops(
    items: Sequence[Item],
    fonts: Mapping[Style, EmbeddedFont],
    styles: set[Style],
    images: set[str] | None = None,
) -> bytes:
    """Content-stream operators drawing ``items`` (the keys of images drawn go into ``images``)."""
    ops: list[bytes] = [b"0 g 0 G"]
    for item in items:  # images first: an enclosure's page lies under our footer
        if isinstance(item, Image):
            ops.append(b"q %s 0 0 %s %s %s cm /Im%s Do Q"
                       % (_num(item.w), _num(item.h), _num(item.x), _num(item.y),
                          item.key.encode("ascii")))  # fmt: skip
            if images is not None:
                images.add(item.key)
    text_runs = [item for item in items if isinstance(item, TextRun)]
    if text_runs:
        ops.append(b"BT")
        current: tuple[Style, float] | None = None
        for run in text_runs:
            if current != (run.style, run.size):
                ops.append(_FONT_NAMES[run.style] + b" " + _num(run.size) + b" Tf")
                current = (run.style, run.size)
                styles.add(run.style)
            ops.append(fonts[run.style].shown(run.x, run.y, run.text))  # fmt: skip
        ops.append(b"ET")
    for item in items:
        if isinstance(item, Rule):
            ops.append(b"%.2f w %.2f %.2f m %.2f %.2f l S"
                       % (item.width, item.x1, item.y1, item.x2, item.y2))  # fmt: skip
        elif isinstance(item, Box):
            paint = b"f" if item.filled else b"S"
            ops.append(b"%.2f w %.2f %.2f %.2f %.2f re %s"
                       % (item.width, item.x, item.y, item.w, item.h, paint))  # fmt: skip
    return b"\n".join(ops)


@lru_cache(maxsize=256)
def _deflate(raw: bytes) -> bytes:
    """Compress a content stream; pages that repeat across letters are compressed once."""
    return zlib.compress(raw, 6)


#: at most this many parts' streams are kept (then the cache starts again)
DRAWN_PAGES = 256
#: the content streams of parts drawn before, by the identities of the fonts and of the items:
#: (stream, styles, images)
_DRAWN: ByIdentity[tuple[bytes, frozenset[Style], frozenset[str]]] = ByIdentity(DRAWN_PAGES)


def _content(
    items: Sequence[Item], fonts: Mapping[Style, EmbeddedFont], remember: bool = True
) -> tuple[bytes, frozenset[Style], frozenset[str]]:
    """A content stream (compressed) drawing ``items``, its styles and images.

    Items are immutable: items that are the very objects of a part drawn before (the lines of
    a body, placed at the same heights, see :func:`faxbatch.letters.layout.flow`; what every
    cover shares) have the same stream, which is not drawn again. ``remember``: False for a
    recipient's own items, which no other page has.
    """
    key = (fonts, *items)
    found = _DRAWN.get(key) if remember else None
    if found is not None:
        return found
    styles: set[Style] = set()
    images: set[str] = set()
    drawn = (_deflate(_ops(items, fonts, styles, images)), frozenset(styles), frozenset(images))
    if remember:
        _DRAWN.put(key, drawn)
    return drawn


def render_page(page: Page, fonts: Mapping[Style, EmbeddedFont]) -> PageContent:
    """Turn a laid-out page into compressed content streams: its parts, then its footer.

    A page's parts (see :attr:`faxbatch.letters.layout.Page.parts`) are streams of their own,
    so that in a print volume the parts letters share are one object, written once.
    """
    styles: set[Style] = set()
    images: set[str] = set()
    streams = []
    for items, own in page.content_parts():
        stream, drawn_styles, drawn_images = _content(items, fonts, remember=not own)
        streams.append(stream)
        styles |= drawn_styles
        images |= drawn_images
    if page.footer:
        streams.append(zlib.compress(_ops(page.footer, fonts, styles), 6))
    geometry = page.geometry
    return PageContent(
        geometry.width, geometry.height, tuple(streams), frozenset(styles), frozenset(images)
    )


def _text_string(text: str) -> bytes:
    """A PDF text string (UTF-16BE with BOM, in hex: safe for any character)."""
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode("ascii") + b">"


class PdfWriter:
    """Writes pages one by one to a binary stream; only offsets are kept in memory."""

    def __init__(
        self,
        out: BinaryIO,
        fonts: Mapping[Style, EmbeddedFont],
        *,
        title: str = "",
        producer: str = "faxbatch",
        images: Mapping[str, RasterImage] | None = None,
    ) -> None:
        self._out = out
        self._fonts = fonts
        self._images = images or {}
        self._image_ids: dict[str, int] = {}
        self._title = title
        self._producer = producer
        self._offsets: dict[int, int] = {}
        self._next_id = 1
        self._position = 0
        self._digest = hashlib.md5(usedforsecurity=False)
        self._catalog_id = self._reserve()
        self._pages_id = self._reserve()
        self._page_ids: list[int] = []
        self._font_ids: dict[Style, int] = {}
        self._bookmarks: list[tuple[str, int]] = []
        self._shared: dict[bytes, int] = {}
        self._write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")

    @property
    def page_count(self) -> int:
        """Pages written so far."""
        return len(self._page_ids)

    @property
    def position(self) -> int:
        """Bytes written so far."""
        return self._position

    def _reserve(self) -> int:
        number = self._next_id
        self._next_id += 1
        return number

    def _write(self, data: bytes, digest: bytes | None = None) -> None:
        """Write ``data``; the file's ID takes in ``digest`` for it when given (see _stream)."""
        self._out.write(data)
        self._digest.update(data if digest is None else digest)
        self._position += len(data)

    def _object(self, number: int, body: bytes) -> None:
        self._offsets[number] = self._position
        self._write(b"%d 0 obj\n" % number + body + b"\nendobj\n")

    def _stream(
        self, number: int, data: bytes, extra: bytes = b"", digest: bytes | None = None
    ) -> None:
        head = b"<< /Length %d /Filter /FlateDecode%s >>\nstream\n" % (len(data), extra)
        if digest is None:
            self._object(number, head + data + b"\nendstream")
            return
        # data whose ``digest`` is known (a font file, the same in every file of a batch): the
        # file's ID takes in the digest instead of hashing the data again
        self._offsets[number] = self._position
        self._write(b"%d 0 obj\n" % number + head)
        self._write(data, digest)
        self._write(b"\nendstream\nendobj\n")

    def add_page(self, content: PageContent) -> int:
        """Append a page; returns its index in this file (0-based)."""
        fonts = b" ".join(
            _FONT_NAMES[style] + b" %d 0 R" % self._font_id(style)
            for style in sorted(content.styles)
        )
        stream_ids = b" ".join(b"%d 0 R" % self._stream_id(data) for data in content.streams)
        resources = b"/Font << %s >> /ProcSet [/PDF /Text] " % fonts
        if content.images:
            xobjects = b" ".join(
                b"/Im%s %d 0 R" % (key.encode("ascii"), self._image_id(key))
                for key in sorted(content.images)
            )
            resources = b"/Font << %s >> /XObject << %s >> /ProcSet [/PDF /Text /ImageB] " % (
                fonts,
                xobjects,
            )
        page_id = self._reserve()
        self._object(
            page_id,
            b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 %s %s] /Resources << %s>> "
            b"/Contents [%s] >>"
            % (self._pages_id, _num(content.width), _num(content.height), resources, stream_ids),
        )
        self._page_ids.append(page_id)
        return len(self._page_ids) - 1

    def add_pages(self, contents: Sequence[PageContent]) -> int:
        """Append pages; returns the index of the first."""
        first = self.page_count
        for content in contents:
            self.add_page(content)
        return first

    def _stream_id(self, data: bytes) -> int:
        """Write a content stream, or point at the same bytes written before."""
        key = hashlib.sha1(data, usedforsecurity=False).digest()
        if key in self._shared:
            return self._shared[key]
        number = self._reserve()
        self._stream(number, data)
        if len(data) > 64:  # the parts of pages that repeat, letter after letter
            if len(self._shared) >= 4096:
                self._shared.clear()
            self._shared[key] = number
        return number

    def has_image(self, key: str) -> bool:
        """Whether the image ``key`` is in the file already (an image is written once)."""
        return key in self._image_ids

    def _image_id(self, key: str) -> int:
        """Write an image XObject at its first use; its object number."""
        if key not in self._image_ids:
            image = self._images[key]
            number = self._reserve()
            self._stream(
                number,
                image.data,
                b" /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
                b"/BitsPerComponent 1" % (image.width, image.height),
            )
            self._image_ids[key] = number
        return self._image_ids[key]

    def bookmark(self, title: str, page_index: int) -> None:
        """An outline entry (bookmark) pointing at a page."""
        self._bookmarks.append((title, page_index))

    def _font_id(self, style: Style) -> int:
        if style not in self._font_ids:
            self._font_ids[style] = self._reserve()
        return self._font_ids[style]

    def _write_font(self, style: Style, type0_id: int) -> None:
        font = self._fonts[style]
        cid_id, descriptor_id, file_id, cmap_id = (self._reserve() for _ in range(4))
        name = b"/" + font.base_font.encode("ascii")
        self._object(
            type0_id,
            b"<< /Type /Font /Subtype /Type0 /BaseFont %s /Encoding /Identity-H "
            b"/DescendantFonts [%d 0 R] /ToUnicode %d 0 R >>" % (name, cid_id, cmap_id),
        )
        self._object(
            cid_id,
            b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont %s "
            b"/CIDSystemInfo << /Registry (Adobe) /Ordering (Identity) /Supplement 0 >> "
            b"/FontDescriptor %d 0 R /CIDToGIDMap /Identity /DW 1000 /W [0 [%s]] >>"
            % (name, descriptor_id, font.width_array),
        )
        bbox = b" ".join(b"%d" % v for v in font.bbox)
        self._object(
            descriptor_id,
            b"<< /Type /FontDescriptor /FontName %s /Flags %d /FontBBox [%s] /ItalicAngle %s "
            b"/Ascent %d /Descent %d /CapHeight %d /StemV 80 /FontFile2 %d 0 R >>"
            % (
                name,
                font.flags,
                bbox,
                _num(font.italic_angle),
                font.ascent,
                font.descent,
                font.cap_height,
                file_id,
            ),
        )
        self._stream(
            file_id,
            font.font_file_z,
            b" /Length1 %d" % len(font.font_file),
            digest=font.font_file_digest,
        )
        self._stream(cmap_id, font.to_unicode_z)

    def _write_outline(self) -> int | None:
        if not self._bookmarks:
            return None
        outline_id = self._reserve()
        ids = [self._reserve() for _ in self._bookmarks]
        for n, (title, page_index) in enumerate(self._bookmarks):
            links = b""
            if n > 0:
                links += b" /Prev %d 0 R" % ids[n - 1]
            if n + 1 < len(ids):
                links += b" /Next %d 0 R" % ids[n + 1]
            self._object(
                ids[n],
                b"<< /Title %s /Parent %d 0 R%s /Dest [%d 0 R /Fit] >>"
                % (_text_string(title), outline_id, links, self._page_ids[page_index]),
            )
        self._object(
            outline_id,
            b"<< /Type /Outlines /First %d 0 R /Last %d 0 R /Count %d >>"
            % (ids[0], ids[-1], len(ids)),
        )
        return outline_id

    def close(self) -> None:
        """Write fonts, page tree, outline, catalog, cross-reference table and trailer."""
        for style, type0_id in sorted(self._font_ids.items()):
            self._write_font(style, type0_id)
        kids = b" ".join(b"%d 0 R" % page_id for page_id in self._page_ids)
        self._object(
            self._pages_id,
            b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(self._page_ids)),
        )
        outline_id = self._write_outline()
        catalog = b"<< /Type /Catalog /Pages %d 0 R" % self._pages_id
        if outline_id:
            catalog += b" /Outlines %d 0 R /PageMode /UseOutlines" % outline_id
        self._object(self._catalog_id, catalog + b" >>")
        info_id = self._reserve()
        info = b"<< /Producer " + _text_string(self._producer)
        if self._title:
            info += b" /Title " + _text_string(self._title)
        self._object(info_id, info + b" >>")
        size = self._next_id
        xref_at = self._position
        rows = [b"xref\n0 %d\n0000000000 65535 f \n" % size]
        rows.extend(b"%010d 00000 n \n" % self._offsets[number] for number in range(1, size))
        file_id = self._digest.hexdigest().encode("ascii")
        self._write(b"".join(rows))
        self._write(
            b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /ID [<%s> <%s>] >>\n"
            b"startxref\n%d\n%%%%EOF\n"
            % (size, self._catalog_id, info_id, file_id, file_id, xref_at)
        )
