"""Print volumes: a channel's documents merged into PDFs a print shop can run as they are.

A :class:`VolumeSet` streams documents into ``print/<prefix>-volume-NNN.pdf`` (``fax`` and ``post``
volumes apart, since they go to different machines), with a bookmark per document. It starts a new
volume at a document boundary whenever the next document would take the current one over its page
or byte limit (the limits default to what common upload forms take). With ``duplex`` every
document starts on a front side: a truly blank pad page (an empty content stream) goes in after a
document that ended on a front side; pads belong to no document and are not counted in its
"Page N of M". After :meth:`VolumeSet.close` each volume's record holds its pages, sheets,
documents, bytes and sha256.
"""

from __future__ import annotations

import hashlib
import math
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Literal

from faxbatch.files import naming
from faxbatch.letters.fonts import EmbeddedFont, Style
from faxbatch.letters.layout import PAGE_SIZES
from faxbatch.letters.pdf import PageContent, PdfWriter, RasterImage

Channel = Literal["fax", "post"]

#: limits that fit common upload forms (a US print-and-mail API takes 5 MB)
DEFAULT_MAX_PAGES = 500
DEFAULT_MAX_BYTES = 5_000_000

#: an empty content stream: nothing drawn, nothing for a printer to put on paper
BLANK_STREAM = zlib.compress(b"", 6)


def blank_page(page_size: str) -> PageContent:
    """A truly blank page of ``page_size``: one empty content stream, no fonts."""
    width, height = PAGE_SIZES[page_size]
    return PageContent(width, height, (BLANK_STREAM,), frozenset())


@dataclass(frozen=True)
class Placement:
    """Where one document went: its volume file and its pages there (1-based, pads excluded)."""

    doc_id: str
    title: str
    channel: Channel
    volume: str  # relative to the batch folder, e.g. "print/post-volume-001.pdf"
    first_page: int
    last_page: int

    @property
    def pages(self) -> int:
        """The document's own pages."""
        return self.last_page - self.first_page + 1


@dataclass(frozen=True)
class VolumeRecord:
    """One finished volume file."""

    file: str  # relative to the batch folder
    channel: Channel
    number: int
    documents: int
    pages: int  # pads included
    pad_pages: int
    sheets: int
    bytes: int
    sha256: str
    page_size: str
    duplex: bool
    envelope: str | None = None
    din5008: str | None = None


# Generous per-object sizes for the byte estimate: the writer's real output is always smaller,
# so a volume closed under the estimate is under the limit.
_PAGE_OBJECT = 260  # page dictionary, font references, xref row
_STREAM_OBJECT = 90  # stream dictionary, "stream"/"endstream", xref row
_FONT_OBJECTS = 1600  # Type0, CIDFont, descriptor, two stream dictionaries, xref rows
_IMAGE_OBJECT = 260  # image dictionary, "stream"/"endstream", xref row, resource entries
_BOOKMARK = 200  # outline item dictionary and xref row, without its title
_PAGE_TREE_ENTRY = 12  # "NNNNNN 0 R " in /Kids
_FIXED = 1200  # header, page tree, outline root, catalog, info, xref head, trailer (no text)


class _Volume:
    """One open volume file and what is known of it."""

    def __init__(
        self, path: Path, relative: str, number: int, writer: PdfWriter, handle: BinaryIO
    ) -> None:
        self.path = path
        self.relative = relative
        self.number = number
        self.writer = writer
        self.handle = handle
        self.documents = 0
        self.pad_pages = 0
        self.styles: set[Style] = set()
        self.tail_estimate = 0  # bytes still to come at close, besides the fonts


class VolumeSet:
    """Writes one channel's documents into size-limited volumes, streaming."""

    def __init__(
        self,
        folder: Path,
        prefix: Channel,
        fonts: Mapping[Style, EmbeddedFont],
        page_size: str,
        *,
        duplex: bool = False,
        max_pages: int = DEFAULT_MAX_PAGES,
        max_bytes: int = DEFAULT_MAX_BYTES,
        title: str = "",
        producer: str = "faxbatch",
        envelope: str | None = None,
        din5008: str | None = None,
        keep_placements: bool = True,
        images: Mapping[str, RasterImage] | None = None,
    ) -> None:
        if page_size not in PAGE_SIZES:
            raise ValueError(f"unknown page size {page_size!r}; use A4 or Letter")
        if max_pages < 1 or max_bytes < 1:
            raise ValueError("volume limits must be positive")
        self.folder = Path(folder)
        self.prefix = prefix
        self.fonts = fonts
        #: the images documents draw (enclosures' pages), each written once per volume
        self.images = images or {}
        self.page_size = page_size
        self.duplex = duplex
        self.max_pages = max_pages
        self.max_bytes = max_bytes
        self.title = title
        self.producer = producer
        self.envelope = envelope
        self.din5008 = din5008
        self.volumes: list[VolumeRecord] = []
        #: every document's placement, when kept (a big build writes them down as they come)
        self.placements: list[Placement] = []
        self._keep_placements = keep_placements
        #: what a print shop should know: documents over a limit, in words
        self.warnings: list[str] = []
        self._current: _Volume | None = None
        self._closed = False
        self._writing = self.folder / "print"  # the file being written, for error messages

    # -- public ----------------------------------------------------------------------------------
    def add_document(
        self, doc_id: str, bookmark_title: str, contents: Sequence[PageContent]
    ) -> Placement:
        """Append one document (all its pages) and bookmark it; returns where it went."""
        with naming(self._writing):
            return self._add_document(doc_id, bookmark_title, contents)

    def _add_document(
        self, doc_id: str, bookmark_title: str, contents: Sequence[PageContent]
    ) -> Placement:
        if self._closed:
            raise RuntimeError("the volume set is closed")
        if not contents:
            raise ValueError(f"document {doc_id} has no pages")
        self._check_sizes(doc_id, contents)
        volume = self._current
        if volume is not None and not self._fits(volume, bookmark_title, contents):
            self._close_volume()
            volume = None
        alone_too_big = self._too_big_alone(bookmark_title, contents)
        if alone_too_big and volume is not None:
            self._close_volume()  # an oversized document gets a volume of its own
            volume = None
        if volume is None:
            volume = self._open_volume()
        writer = volume.writer
        if self.duplex and writer.page_count % 2 == 1:
            writer.add_page(blank_page(self.page_size))
            volume.pad_pages += 1
            volume.tail_estimate += _PAGE_TREE_ENTRY
        first = writer.add_pages(contents)
        writer.bookmark(bookmark_title, first)
        volume.documents += 1
        volume.styles.update(*(content.styles for content in contents))
        volume.tail_estimate += _PAGE_TREE_ENTRY * len(contents) + _bookmark_cost(bookmark_title)
        placement = Placement(
            doc_id, bookmark_title, self.prefix, volume.relative, first + 1, first + len(contents)
        )
        if self._keep_placements:
            self.placements.append(placement)
        if alone_too_big:
            self.warnings.append(
                f"{doc_id} ({len(contents)} pages) is larger than one volume may be "
                f"({self.max_pages} pages, {self.max_bytes} bytes); it has {volume.relative} "
                "to itself"
            )
            self._close_volume()
        return placement

    def close(self) -> list[VolumeRecord]:
        """Finish the open volume; returns the records of every volume written."""
        if not self._closed:
            if self._current is not None:
                with naming(self._writing):
                    self._close_volume()
            self._closed = True
        return list(self.volumes)

    def abort(self) -> None:
        """Close the open file without finishing it (after an error; the staging folder goes)."""
        if self._current is not None:
            self._current.handle.close()
            self._current = None
        self._closed = True

    def __enter__(self) -> VolumeSet:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    # -- limits ----------------------------------------------------------------------------------
    def _check_sizes(self, doc_id: str, contents: Sequence[PageContent]) -> None:
        width, height = PAGE_SIZES[self.page_size]
        for n, content in enumerate(contents, start=1):
            if abs(content.width - width) > 0.5 or abs(content.height - height) > 0.5:
                raise ValueError(
                    f"page {n} of {doc_id} is {content.width:g} × {content.height:g} pt, "
                    f"not {self.page_size}"
                )

    def _document_cost(self, title: str, contents: Sequence[PageContent]) -> int:
        """Bytes a document adds at most: pages, streams, page-tree entries, bookmark."""
        cost = _bookmark_cost(title)
        for content in contents:
            cost += _PAGE_OBJECT + _PAGE_TREE_ENTRY
            cost += sum(len(stream) + _STREAM_OBJECT for stream in content.streams)
        return cost

    def _fixed_cost(self) -> int:
        """Header, page tree, outline root, catalog, info (title, producer), xref, trailer."""
        info = f"{self.title}, volume 999{self.producer}".encode("utf-16-be")
        return _FIXED + 2 * len(info)

    def _font_cost(self, styles: set[Style]) -> int:
        total = 0
        for style in styles:
            font = self.fonts[style]
            total += len(font.font_file_z) + len(font.to_unicode_z) + len(font.width_array)
            total += len(font.base_font) * 2 + _FONT_OBJECTS
        return total

    def _estimate(self, volume: _Volume | None, title: str, contents: Sequence[PageContent]) -> int:
        """The volume's size at close, at most, if this document went in next."""
        styles = set(volume.styles) if volume else set()
        styles.update(*(content.styles for content in contents))
        written = volume.writer.position if volume else 0
        tail = volume.tail_estimate if volume else self._fixed_cost()
        pad = 0
        if volume and self.duplex and volume.writer.page_count % 2 == 1:
            pad = _PAGE_OBJECT + _PAGE_TREE_ENTRY + len(BLANK_STREAM) + _STREAM_OBJECT
        images = {key for content in contents for key in content.images}
        images = {key for key in images if volume is None or not volume.writer.has_image(key)}
        image_cost = sum(len(self.images[key].data) + _IMAGE_OBJECT for key in images)
        fonts = self._font_cost(styles)
        return written + tail + pad + self._document_cost(title, contents) + fonts + image_cost

    def _fits(self, volume: _Volume, title: str, contents: Sequence[PageContent]) -> bool:
        pages = volume.writer.page_count
        pad = 1 if self.duplex and pages % 2 == 1 else 0
        if pages + pad + len(contents) > self.max_pages:
            return False
        return self._estimate(volume, title, contents) <= self.max_bytes

    def _too_big_alone(self, title: str, contents: Sequence[PageContent]) -> bool:
        if len(contents) > self.max_pages:
            return True
        return self._estimate(None, title, contents) > self.max_bytes

    # -- files -----------------------------------------------------------------------------------
    def _open_volume(self) -> _Volume:
        number = len(self.volumes) + 1
        relative = f"print/{self.prefix}-volume-{number:03d}.pdf"
        path = self.folder / relative
        self._writing = path
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("wb")
        title = f"{self.title}, volume {number}" if self.title else f"volume {number}"
        writer = PdfWriter(
            handle, self.fonts, title=title, producer=self.producer, images=self.images
        )
        self._current = _Volume(path, relative, number, writer, handle)
        self._current.tail_estimate = self._fixed_cost()
        return self._current

    def _close_volume(self) -> None:
        volume = self._current
        assert volume is not None
        self._current = None
        volume.writer.close()
        volume.handle.close()
        pages = volume.writer.page_count
        self.volumes.append(
            VolumeRecord(
                file=volume.relative,
                channel=self.prefix,
                number=volume.number,
                documents=volume.documents,
                pages=pages,
                pad_pages=volume.pad_pages,
                sheets=math.ceil(pages / 2) if self.duplex else pages,
                bytes=volume.path.stat().st_size,
                sha256=_sha256(volume.path),
                page_size=self.page_size,
                duplex=self.duplex,
                envelope=self.envelope,
                din5008=self.din5008,
            )
        )


def _bookmark_cost(title: str) -> int:
    # the title is written as UTF-16 hex: four digits per code unit
    return _BOOKMARK + 2 * len(title.encode("utf-16-be")) + 8


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
