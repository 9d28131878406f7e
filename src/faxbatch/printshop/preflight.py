"""Preflight: a built batch checked the way print shops and fax machines will meet it.

:func:`run_preflight` reads a batch folder (and never writes to it) and lists every failure in
words, naming the file, the page and what is wrong:

- every page has the configured page size and no rotation;
- every font is embedded (``FontFile``, ``FontFile2`` or ``FontFile3``, descendant fonts included);
- nothing is drawn within the printable margin (5 mm) of any page, nor in the fax header zone
  (the top 12 mm, where the sending station prints its header line) of a fax;
- no image on a fax page has greys or colours (an enclosure's pages are black-and-white images);
- every postal letter's first page holds its return line and address inside the envelope's window,
  and nothing that touches the window sticks out of it;
- pad pages are truly blank (no content operators);
- every content stream decompresses whole and parses into PDF operators (a damaged stream is a
  failure, never a page read as blank), and every page a document owns draws text: the same text,
  at the same places, as the same page of the document's own PDF (and the same images: an
  enclosure's page that shows another page is caught);
- the job ticket (``print/job.json``) matches the files: volumes present, no others, bytes,
  sha256, pages, pad pages, sheets, documents, bookmarks, page ranges and totals; and the
  manifest's checksums and page ranges agree.

Every file it reads (the ticket, the manifest, each ``file`` they name, the PDFs of ``faxes/``
and ``post/``) must lie inside the batch folder once symbolic links are resolved, and be a regular
file: anything else is a failure, and the file is not opened.

Positions come from the content streams themselves (pypdf's parser; ``cm``, ``q``/``Q``, the
text operators, paths and XObjects followed), so a PDF made by another tool is checked the same way.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import multiprocessing
import os
import re
import signal
import stat
import threading
import zlib
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import pypdf
from pypdf.errors import PdfReadError
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    ContentStream,
    DictionaryObject,
    IndirectObject,
    NumberObject,
    PdfObject,
    StreamObject,
    TextStringObject,
)

from faxbatch.errors import WorkerDiedError
from faxbatch.letters.envelopes import GLYPH_BOTTOM, GLYPH_TOP, Rect, envelope_spec
from faxbatch.letters.layout import (
    MM,
    PAGE_SIZES,
)
from faxbatch.printshop.objects import ObjectCache, SharingReader
from faxbatch.printshop.rules import (
    PRINTABLE_MARGIN,
    SIZE_TOLERANCE,
    Mark,
    PageRules,
    check_marks,
    marks_clear,
)
from faxbatch.printshop.ticket import JOB_JSON, SCHEMA_VERSION

#: at most this many failures are listed, the rest counted
MAX_FAILURES = 200
#: a content stream larger than this once decompressed is not read (a decompression bomb)
MAX_STREAM_BYTES = 64 << 20
#: the operators of PDF content streams (ISO 32000-1, table 51), and pypdf's inline images
OPERATORS = frozenset(
    b"b B b* B* BDC BI BMC BT BX c cm CS cs d d0 d1 Do DP EI EMC ET EX f F f* G g gs h i ID j J "
    b"K k l m M MP n q Q re RG rg ri s S SC sc SCN scn sh T* Tc Td TD Tf Tj TJ TL Tm Tr Ts Tw Tz "
    b"v w W W* y ' \"".split()
) | {b"INLINE IMAGE"}

Matrix = tuple[float, float, float, float, float, float]
_IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def _mul(m: Matrix, n: Matrix) -> Matrix:
    """``m`` then ``n`` (PDF's row-vector convention: p' = p × m × n)."""
    a, b, c, d, e, f = m
    aa, bb, cc, dd, ee, ff = n
    return (
        a * aa + b * cc,
        a * bb + b * dd,
        c * aa + d * cc,
        c * bb + d * dd,
        e * aa + f * cc + ee,
        e * bb + f * dd + ff,
    )


def _apply(m: Matrix, x: float, y: float) -> tuple[float, float]:
    return (x * m[0] + y * m[2] + m[4], x * m[1] + y * m[3] + m[5])


def _mark(kind: str, m: Matrix, x0: float, y0: float, x1: float, y1: float, text: str = "") -> Mark:
    """A mark covering the box (x0, y0)–(x1, y1) of the space that ``m`` maps to the page."""
    a, b, c, d, e, f = m  # the four corners, as _apply maps them
    xs = (x0 * a + y0 * c + e, x0 * a + y1 * c + e, x1 * a + y0 * c + e, x1 * a + y1 * c + e)
    ys = (x0 * b + y0 * d + f, x0 * b + y1 * d + f, x1 * b + y0 * d + f, x1 * b + y1 * d + f)
    return Mark(kind, min(xs), min(ys), max(xs), max(ys), text)


@dataclass(frozen=True)
class _Font:
    """What measuring and reading a font's strings needs."""

    two_byte: bool
    widths: Mapping[int, float]
    default_width: float
    to_unicode: Mapping[int, str]
    #: what :meth:`measure` found for each string
    _memo: dict[bytes, tuple[str, float, int, int]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def codes(self, raw: bytes) -> list[int]:
        if self.two_byte:
            return [raw[i] << 8 | raw[i + 1] for i in range(0, len(raw) - 1, 2)]
        return list(raw)

    def text(self, codes: list[int]) -> str:
        if self.to_unicode:
            return "".join(self.to_unicode.get(code, "?") for code in codes)
        return bytes(code for code in codes if code < 256).decode("latin-1")

    def measure(self, raw: bytes) -> tuple[str, float, int, int]:
        """A string's text, the sum of its glyph widths (1/1000 em), its codes and its spaces.

        The same words recur on every page and in every document: each string is measured once.
        """
        found = self._memo.get(raw)
        if found is None:
            codes = self.codes(raw)
            units = math.fsum(self.widths.get(code, self.default_width) for code in codes)
            spaces = 0 if self.two_byte else codes.count(32)
            found = (self.text(codes), units, len(codes), spaces)
            if len(self._memo) < _MEMO_STRINGS:
                self._memo[raw] = found
        return found

    @cached_property
    def fingerprint(self) -> bytes:
        """A digest of everything this font tells the interpreter (equal fonts, equal digests)."""
        content = repr(
            (
                self.two_byte,
                self.default_width,
                sorted(self.widths.items()),
                sorted(self.to_unicode.items()),
            )
        )
        return hashlib.sha256(content.encode("utf-8", "surrogatepass")).digest()


#: at most this many strings of one font are remembered (a hostile font may have millions)
_MEMO_STRINGS = 1 << 16


_FALLBACK_FONT = _Font(False, {}, 600.0, {})


def _resolve(obj: Any) -> Any:
    return obj.get_object() if isinstance(obj, (IndirectObject, PdfObject)) else obj


def _numbers(obj: Any) -> list[float]:
    return [float(_resolve(v)) for v in _resolve(obj) or []]


def _load_font(font: DictionaryObject) -> _Font:
    subtype = font.get("/Subtype")
    to_unicode = _read_to_unicode(font.get("/ToUnicode"))
    if subtype == "/Type0":
        descendant = _resolve(_resolve(font["/DescendantFonts"])[0])
        widths: dict[int, float] = {}
        w = [_resolve(v) for v in _resolve(descendant.get("/W")) or []]
        i = 0
        while i < len(w):
            first = int(w[i])
            if i + 1 < len(w) and isinstance(w[i + 1], ArrayObject):
                for k, value in enumerate(_numbers(w[i + 1])):
                    widths[first + k] = value
                i += 2
            elif i + 2 < len(w):
                last, value = int(w[i + 1]), float(w[i + 2])
                for code in range(max(first, 0), min(last, 0xFFFF) + 1):  # two bytes at most
                    widths[code] = value
                i += 3
            else:
                break
        default = float(_resolve(descendant.get("/DW", 1000)))
        return _Font(True, widths, default, to_unicode)
    first_char = int(_resolve(font.get("/FirstChar", 0)))
    simple = {first_char + k: v for k, v in enumerate(_numbers(font.get("/Widths")))}
    # the standard 14 fonts may come without widths: 0.6 em is close to Helvetica's average
    return _Font(False, simple, 600.0 if not simple else 0.0, to_unicode)


_BFCHAR = re.compile(rb"beginbfchar(.*?)endbfchar", re.S)
_BFRANGE = re.compile(rb"beginbfrange(.*?)endbfrange", re.S)
_HEX = re.compile(rb"<([0-9A-Fa-f]*)>")


def _read_to_unicode(obj: Any) -> dict[int, str]:
    stream = _resolve(obj)
    if not isinstance(stream, StreamObject):
        return {}
    data = stream.get_data()
    mapping: dict[int, str] = {}

    def text(hex_digits: bytes) -> str:
        return bytes.fromhex(hex_digits.decode("ascii")).decode("utf-16-be", "replace")

    for block in _BFCHAR.findall(data):
        values = _HEX.findall(block)
        for src, dst in zip(values[::2], values[1::2], strict=False):
            mapping[int(src, 16)] = text(dst)
    for block in _BFRANGE.findall(data):
        values = _HEX.findall(block)
        for lo, hi, dst in zip(values[::3], values[1::3], values[2::3], strict=False):
            start = ord(text(dst)[-1:] or "?")
            for offset, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                mapping[code] = chr(start + offset)
    return mapping


@dataclass
class _GState:
    ctm: Matrix = _IDENTITY
    font: _Font = _FALLBACK_FONT
    size: float = 0.0
    char_spacing: float = 0.0
    word_spacing: float = 0.0
    scale: float = 1.0
    leading: float = 0.0
    rise: float = 0.0


def _named_font(loaded: dict[object, _Font], fonts: Any, name: Any) -> _Font:
    """The font that ``name`` names in a ``/Font`` dictionary; ``loaded``: those read already."""
    ref = fonts.get(name) if fonts else None
    if ref is None:
        return _FALLBACK_FONT
    key = id(_resolve(ref)) if not isinstance(ref, IndirectObject) else (ref.idnum, ref.generation)
    if key not in loaded:
        content = _content(ref)
        font = _FONTS_BY_CONTENT.get(content) if content is not None else None
        if font is None:
            font = _shared_font(_load_font(_resolve(ref)))
            if content is not None:
                _remember(_FONTS_BY_CONTENT, content, font)
        loaded[key] = font
    return loaded[key]


def _content(ref: Any) -> tuple[object, ...] | None:
    """What an indirect object and all it reaches hold, when known (see SharingReader.closure).

    A font read from the same content reads the same: its reading is then remembered by it.
    """
    if not isinstance(ref, IndirectObject) or not isinstance(ref.pdf, SharingReader):
        return None
    return ref.pdf.closure(ref)


#: fonts read, and whether they are embedded, by their content (:func:`_content`)
_FONTS_BY_CONTENT: dict[tuple[object, ...], _Font] = {}
_EMBEDDED_BY_CONTENT: dict[tuple[object, ...], bool] = {}
#: the objects that files share, by their text (see :mod:`faxbatch.printshop.objects`)
_OBJECTS = ObjectCache()


def _remember(memo: dict[tuple[object, ...], Any], content: tuple[object, ...], value: Any) -> None:
    if len(memo) >= _SHARED_MAX:
        memo.clear()
    memo[content] = value


#: the fonts read so far in this process, one per content (see :func:`_shared_font`)
_SHARED_FONTS: dict[bytes, _Font] = {}
#: at most this many fonts are shared (then the sharing starts again)
_SHARED_MAX = 256


def _shared_font(font: _Font) -> _Font:
    """The font read before with the same content as ``font`` (else ``font`` itself).

    Every document's own file carries the batch's fonts again: sharing one of them across files
    shares what it measured (:meth:`_Font.measure`), so the words of a letter are measured once
    per batch instead of once per file. Equal fonts give equal results; the content decides.
    """
    shared = _SHARED_FONTS.get(font.fingerprint)
    if shared is not None:
        return shared
    if len(_SHARED_FONTS) >= _SHARED_MAX:
        _SHARED_FONTS.clear()
    _SHARED_FONTS[font.fingerprint] = font
    return font


class _Unreadable(Exception):
    """A content stream that cannot be decoded or parsed (its message says why)."""


@dataclass
class _Interpreter:
    """Follows a page's content streams and collects what they draw."""

    reader: pypdf.PdfReader
    marks: list[Mark] = field(default_factory=list)
    #: why a content stream could not be read (a page is then never taken as blank)
    problems: list[str] = field(default_factory=list)
    operators: int = 0
    state: _GState = field(default_factory=_GState)
    stack: list[_GState] = field(default_factory=list)
    tm: Matrix = _IDENTITY
    tlm: Matrix = _IDENTITY
    path: list[tuple[float, float]] = field(default_factory=list)
    fonts: dict[object, _Font] = field(default_factory=dict)
    depth: int = 0
    in_text: bool = False

    def signature(self) -> tuple[object, ...] | None:
        """The state a content stream starts from, when its result may be reused."""
        if self.stack or self.path:
            return None
        s = self.state
        text = (s.size, s.char_spacing, s.word_spacing, s.scale, s.leading, s.rise)
        return (s.ctm, s.font.fingerprint, text, self.in_text, self.tm, self.tlm)

    def run(
        self,
        stream: Any,
        resources: DictionaryObject,
        ctm: Matrix = _IDENTITY,
        data: bytes | None = None,
    ) -> None:
        """Follow one content stream (``data``: its bytes, when already decoded)."""
        try:
            operations = _operations(stream, self.reader, data)
        except _Unreadable as exc:
            self.problems.append(str(exc))
            return
        fonts = _resolve(resources.get("/Font")) or {}
        xobjects = _resolve(resources.get("/XObject")) or {}
        self.state.ctm = _mul(ctm, self.state.ctm) if ctm != _IDENTITY else self.state.ctm
        self.operators += len(operations)
        do = self._do
        for operands, operator in operations:
            try:
                do(operator, operands, fonts, xobjects)
            except _Unreadable as exc:
                self.problems.append(str(exc))
                return
            except (TypeError, ValueError, OverflowError, KeyError, IndexError, AttributeError):
                name = _printable(operator.decode("latin-1"), 20)
                self.problems.append(
                    f"a content stream's {name} operator has operands of the wrong kind"
                )
                return

    def font(self, fonts: Any, name: Any) -> _Font:
        """The font that ``name`` names in a resources' ``/Font`` dictionary, read once."""
        try:
            return _named_font(self.fonts, fonts, name)
        except _Unreadable:
            raise
        except Exception:  # a damaged font dictionary: the page cannot be read as it draws
            raise _Unreadable(f"font {_printable(str(name), 40)} cannot be read") from None

    def _do(self, op: bytes, args: list[Any], fonts: Any, xobjects: Any) -> None:
        s = self.state
        # the operators of text come first: most of a letter's operators are Tm, Tj and Tf
        if op == b"Tj" and args:
            self._show((args[0],))
        elif op == b"Tm" and len(args) == 6:
            self.tm = self.tlm = tuple(map(float, args))  # type: ignore[assignment]
        elif op == b"Tf" and len(args) == 2:
            s.font = self.font(fonts, args[0])
            s.size = float(args[1])
        elif op == b"q":
            self.stack.append(replace(s))
        elif op == b"Q":
            if self.stack:
                self.state = self.stack.pop()
        elif op == b"cm" and len(args) == 6:
            s.ctm = _mul(tuple(float(a) for a in args), s.ctm)  # type: ignore[arg-type]
        elif op == b"BT":
            self.tm = self.tlm = _IDENTITY
            self.in_text = True
        elif op == b"ET":
            self.in_text = False
        elif op in (b"Td", b"TD") and len(args) == 2:
            if op == b"TD":
                s.leading = -float(args[1])
            self._move(float(args[0]), float(args[1]))
        elif op == b"T*":
            self._move(0.0, -s.leading)
        elif op == b"TL" and args:
            s.leading = float(args[0])
        elif op == b"Tc" and args:
            s.char_spacing = float(args[0])
        elif op == b"Tw" and args:
            s.word_spacing = float(args[0])
        elif op == b"Tz" and args:
            s.scale = float(args[0]) / 100
        elif op == b"Ts" and args:
            s.rise = float(args[0])
        elif op == b"TJ" and args:
            self._show(list(args[0]))
        elif op == b"'" and args:
            self._move(0.0, -s.leading)
            self._show([args[0]])
        elif op == b'"' and len(args) == 3:
            s.word_spacing, s.char_spacing = float(args[0]), float(args[1])
            self._move(0.0, -s.leading)
            self._show([args[2]])
        elif op in (b"m", b"l") and len(args) == 2:
            self.path.append(_apply(s.ctm, float(args[0]), float(args[1])))
        elif op in (b"c", b"v", b"y"):
            values = [float(a) for a in args]
            self.path.extend(
                _apply(s.ctm, x, y) for x, y in zip(values[::2], values[1::2], strict=False)
            )
        elif op == b"re" and len(args) == 4:
            x, y, w, h = (float(a) for a in args)
            self.path.extend(_apply(s.ctm, px, py) for px in (x, x + w) for py in (y, y + h))
        elif op in (b"S", b"s", b"f", b"F", b"f*", b"B", b"B*", b"b", b"b*"):
            if self.path:
                xs = [p[0] for p in self.path]
                ys = [p[1] for p in self.path]
                self.marks.append(Mark("path", min(xs), min(ys), max(xs), max(ys)))
            self.path = []
        elif op == b"n":
            self.path = []
        elif op == b"Do" and args:
            self._xobject(xobjects, args[0])
        elif op == b"INLINE IMAGE":
            self.marks.append(_mark("image", s.ctm, 0, 0, 1, 1))

    def _move(self, tx: float, ty: float) -> None:
        self.tlm = _mul((1.0, 0.0, 0.0, 1.0, tx, ty), self.tlm)
        self.tm = self.tlm

    def _show(self, items: Sequence[Any]) -> None:
        s = self.state
        font = s.font
        advance = 0.0
        texts: list[str] = []
        for item in items:
            if isinstance(item, (int, float, NumberObject)) and not isinstance(item, bool):
                advance -= float(item) / 1000 * s.size * s.scale
                continue
            text, units, count, spaces = font.measure(_raw(item))
            width = units / 1000 * s.size + count * s.char_spacing + spaces * s.word_spacing
            advance += width * s.scale
            texts.append(text)
        matrix = _mul(self.tm, s.ctm)
        low, high = s.rise - GLYPH_BOTTOM * s.size, s.rise + GLYPH_TOP * s.size
        self.marks.append(_mark("text", matrix, 0.0, low, max(advance, 0.0), high, "".join(texts)))
        self.tm = _mul((1.0, 0.0, 0.0, 1.0, advance, 0.0), self.tm)

    def _xobject(self, xobjects: Any, name: Any) -> None:
        target = _resolve(xobjects.get(name)) if xobjects else None
        if not isinstance(target, StreamObject):
            return
        if target.get("/Subtype") == "/Image":
            mark = _mark("image", self.state.ctm, 0, 0, 1, 1, _image_digest(target))
            self.marks.append(replace(mark, bilevel=_bilevel(target)))
        elif target.get("/Subtype") == "/Form" and self.depth < 8:
            matrix = tuple(_numbers(target.get("/Matrix"))) or _IDENTITY
            resources = _resolve(target.get("/Resources")) or DictionaryObject()
            saved, saved_stack = replace(self.state), list(self.stack)
            self.depth += 1
            self.run(target, resources, matrix)  # type: ignore[arg-type]
            self.depth -= 1
            self.state, self.stack = saved, saved_stack


def _image_digest(image: StreamObject) -> str:
    """A short digest of an image's data as stored (the same image, the same digest)."""
    raw = getattr(image, "_data", b"")
    return hashlib.sha256(raw if isinstance(raw, bytes) else b"").hexdigest()[:16]


def _bilevel(image: StreamObject) -> bool:
    """Whether an image draws black and white only (no greys, no colours)."""
    if _resolve(image.get("/ImageMask")) is True:
        return True
    space = _resolve(image.get("/ColorSpace"))
    bits = _resolve(image.get("/BitsPerComponent"))
    return bits == 1 and (space is None or str(space) in ("/DeviceGray", "/CalGray", "/G"))


# A content stream's tokens, for the plain streams most PDFs (faxbatch's among them) are made of:
# hex strings, names, numbers, operators and arrays. Anything else (literal strings, dictionaries,
# inline images, comments) goes to pypdf's parser, which is complete but slow on long streams.
_TOKEN = re.compile(
    rb"\s*+(?:<([0-9A-Fa-f\s]*)>|(/[^\s/\[\]()<>{}%]*)|([+-]?(?:\d+\.?\d*|\.\d+))"
    rb"|([A-Za-z'\"*][A-Za-z0-9'\"*]*)|(\[)|(\]))"
)
#: a stream made of those tokens alone (possessive, and without groups: Python 3.11's re fails
#: on groups inside possessive repeats; a stream that is not plain fails without backtracking)
_PLAIN = re.compile(
    rb"(?:\s*+(?><[0-9A-Fa-f\s]*+>|/[^\s/\[\]()<>{}%]*+|[+-]?+(?:\d++\.?+\d*+|\.\d++)"
    rb"|[A-Za-z'\"*][A-Za-z0-9'\"*]*+|\[|\]))*+\s*+"
)


def _flate_data(stream: StreamObject) -> bytes | None:
    """A stream's data as stored, if it is Flate alone (decoded by :func:`_stream_data` itself)."""
    filters = stream.get("/Filter")
    names = (
        [str(_resolve(f)) for f in _resolve(filters)]
        if isinstance(_resolve(filters), ArrayObject)
        else ([str(_resolve(filters))] if filters is not None else [])
    )
    raw = getattr(stream, "_data", None)
    if names == ["/FlateDecode"] and not stream.get("/DecodeParms") and isinstance(raw, bytes):
        return raw
    return None


def _stream_data(stream: StreamObject) -> bytes:
    """A stream's decoded bytes; raises :class:`_Unreadable` when they cannot all be decoded.

    Flate streams (every faxbatch stream) are decompressed here, strictly: pypdf's own decoder
    salvages what it can from damaged data, which would make a damaged page look merely blank.
    """
    raw = _flate_data(stream)
    if raw is not None:
        inflater = zlib.decompressobj()
        try:
            data = inflater.decompress(raw, MAX_STREAM_BYTES)
        except zlib.error as exc:
            raise _Unreadable(f"a content stream does not decompress ({exc})") from None
        if inflater.unconsumed_tail:
            raise _Unreadable(
                f"a content stream is larger than {MAX_STREAM_BYTES >> 20} MB decompressed"
            )
        if not inflater.eof:
            raise _Unreadable("a content stream is cut short (its compressed data ends early)")
        return data
    try:
        return bytes(stream.get_data())
    except Exception as exc:
        raise _Unreadable(f"a content stream cannot be decoded ({exc})") from None


def _operations(
    stream: Any, reader: pypdf.PdfReader, data: bytes | None = None
) -> list[tuple[list[Any], bytes]]:
    """The (operands, operator) pairs of a content stream; raises :class:`_Unreadable`.

    ``data``: the stream's bytes as :func:`_stream_data` decoded them, if it already has.
    """
    if not isinstance(stream, StreamObject):
        raise _Unreadable("a page's contents are not a stream")
    if data is None:
        data = _stream_data(stream)
    operations = _plain_operations(data)
    if operations is None:
        try:
            operations = ContentStream(stream, reader).operations  # decodes as strictly
        except Exception as exc:
            raise _Unreadable(f"a content stream does not parse ({exc})") from None
    compatibility = 0  # BX ... EX: unknown operators allowed (PDF 8.2)
    for _operands, operator in operations:
        if operator == b"BX":
            compatibility += 1
        elif operator == b"EX":
            compatibility = max(0, compatibility - 1)
        elif operator not in OPERATORS and not compatibility:
            shown = operator[:20].decode("latin-1", "replace")
            raise _Unreadable(f"a content stream holds {shown!r}, which is no PDF operator")
    return operations


#: a plain stream whose tokens are all apart (whitespace between any two) and hold no arrays:
#: its tokens are then what ``data.split()`` gives (each one whole, as :data:`_TOKEN` reads it)
_SPACED = re.compile(
    rb"(?:\s*+(?><[0-9A-Fa-f]*+>|/[^\s/\[\]()<>{}%]*+|[+-]?+(?:\d++\.?+\d*+|\.\d++)"
    rb"|[A-Za-z'\"*][A-Za-z0-9'\"*]*+)(?=\s|\Z))*+\s*+"
)
_NUMBER_START = frozenset(b"+-.0123456789")


def _spaced_operations(data: bytes) -> list[tuple[list[Any], bytes]] | None:
    """:func:`_plain_operations` of a stream that :data:`_SPACED` matches, without its regex."""
    operations: list[tuple[list[Any], bytes]] = []
    operands: list[Any] = []
    for token in data.split():
        first = token[0]
        if first in _NUMBER_START:
            operands.append(float(token))
        elif first == 0x2F:  # /
            operands.append(token.decode("latin-1"))
        elif first == 0x3C:  # <
            digits = token[1:-1]
            operands.append(bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode("ascii")))
        else:
            if token in _NOT_PLAIN:
                return None
            operations.append((operands, token))
            operands = []
    return operations


def _plain_operations(data: bytes) -> list[tuple[list[Any], bytes]] | None:
    """Tokenise a plain content stream quickly; None when it holds anything else."""
    if _SPACED.fullmatch(data) is not None:
        return _spaced_operations(data)
    return _token_operations(data)


def _token_operations(data: bytes) -> list[tuple[list[Any], bytes]] | None:
    """Tokenise a plain content stream by :data:`_TOKEN`; None when it holds anything else."""
    if _PLAIN.fullmatch(data) is None:
        return None
    operations: list[tuple[list[Any], bytes]] = []
    operands: list[Any] = []
    array: list[Any] | None = None
    for hex_text, name, number, operator, opening, closing in _TOKEN.findall(data):
        target = array if array is not None else operands
        if number:
            target.append(float(number))
        elif operator:
            if array is not None or operator in _NOT_PLAIN:
                return None
            operations.append((operands, operator))
            operands = []
        elif name:
            target.append(name.decode("latin-1"))
        elif opening:
            if array is not None:
                return None  # nested arrays: leave them to pypdf
            array = []
        elif closing:
            if array is None:
                return None
            operands.append(array)
            array = None
        elif hex_text.isalnum() and not len(hex_text) % 2:  # hex digits only, paired
            target.append(bytes.fromhex(hex_text.decode("ascii")))
        else:  # a hex string (the only token that may be empty)
            digits = re.sub(rb"\s", b"", hex_text)
            target.append(bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode("ascii")))
    return operations if array is None else None


#: keywords of a content stream that the quick tokeniser leaves to pypdf
_NOT_PLAIN = frozenset((b"BI", b"ID", b"EI", b"true", b"false", b"null"))


def _raw(item: Any) -> bytes:
    if type(item) is bytes:  # the quick tokeniser's strings
        return item
    if isinstance(item, ByteStringObject):
        return bytes(item)
    if isinstance(item, TextStringObject):
        return item.original_bytes  # as written: get_original_bytes() may add a BOM
    if isinstance(item, bytes):
        return item
    return str(item).encode("latin-1", "replace")


#: what one content stream drew: its marks, its operators, and the state it left
_StreamResult = tuple[list[Mark], int, _GState, bool, Matrix, Matrix]
#: content streams' results by what determines them (see :class:`FileCache`)
_Streams = dict[tuple[object, ...], _StreamResult]
#: what a page's marks break (failures without the page's name), whether it draws text, and the
#: digest of its texts and images
_PageResult = tuple[tuple[str, ...], bool, str]
_Pages = dict[tuple[object, ...], _PageResult]


@dataclass
class FileCache:
    """What the pages of one PDF share, read once: fonts, and content streams that repeat.

    ``streams`` may be shared by several files (pass the same dict to each file's cache): a
    stream's result is reused when its decoded bytes are the same, it starts from the same state
    and its page names the same fonts (by content: their widths and their ToUnicode maps). A
    volume's pages are the documents' own pages, and a letter's pages repeat across documents.
    """

    fonts: dict[object, _Font] = field(default_factory=dict)
    streams: _Streams = field(default_factory=dict)
    embedded: dict[tuple[int, int], bool] = field(default_factory=dict)
    #: the digest of each content stream of this file (by object and generation number)
    digests: dict[tuple[int, int], bytes] = field(default_factory=dict)
    #: what the checks of a page found, by all that determines it (see :func:`_check_page`);
    #: like ``streams``, it may be shared by several files
    pages: _Pages = field(default_factory=dict)
    #: a stream's bytes, decoded for its digest, until it is read
    decoded: dict[tuple[int, int], bytes] = field(default_factory=dict)


#: a shared ``FileCache.streams`` is emptied when it holds this many streams
MAX_CACHED_STREAMS = 20_000


def _font_key(
    resources: DictionaryObject, loaded: dict[object, _Font]
) -> tuple[tuple[str, bytes], ...] | None:
    """The fonts a page names, by name and content; None: its streams' results are not reused."""
    if resources.get("/XObject"):
        return None  # forms may draw anything: not worth the bookkeeping
    fonts = _resolve(resources.get("/Font")) or {}
    if not isinstance(fonts, DictionaryObject):
        return None
    key = []
    for name, ref in fonts.items():
        if not isinstance(ref, IndirectObject):
            return None
        try:
            font = _named_font(loaded, fonts, name)
        except Exception:  # a damaged font: the page is read without reuse, as it always was
            return None
        key.append((str(name), font.fingerprint))
    return tuple(sorted(key))


def _digest(stream: StreamObject, cache: FileCache) -> tuple[bytes, bytes | None] | str:
    """The digest of a stream's decoded bytes (and the bytes, unless the digest was known).

    A stream that cannot be decoded gives why, as a string (and is not remembered).
    """
    ref = stream.indirect_reference
    number = (ref.idnum, ref.generation) if ref is not None else None
    if number is not None and number in cache.digests:
        return cache.digests[number], cache.decoded.pop(number, None)
    # the same Flate data decompresses to the same bytes: in any file, its digest is known
    raw = _flate_data(stream)
    known = _FLATE_DIGESTS.get(raw) if raw is not None else None
    if known is not None:
        if number is not None:
            cache.digests[number] = known
        return known, None
    try:
        data = _stream_data(stream)
    except _Unreadable as exc:
        return str(exc)
    digest = hashlib.sha256(data).digest()
    if number is not None:
        cache.digests[number] = digest
        cache.decoded[number] = data
    if raw is not None:
        global _FLATE_BYTES
        if _FLATE_BYTES + len(raw) > MAX_FLATE_BYTES:
            _FLATE_DIGESTS.clear()
            _FLATE_BYTES = 0
        _FLATE_DIGESTS[raw] = digest
        _FLATE_BYTES += len(raw)
    return digest, data


#: the digests of Flate streams that decompressed whole, by their data as stored
_FLATE_DIGESTS: dict[bytes, bytes] = {}
_FLATE_BYTES = 0
#: the Flate data remembered adds up to at most this many bytes (then it starts again)
MAX_FLATE_BYTES = 8 << 20


def _page_key(page: pypdf.PageObject, cache: FileCache) -> tuple[object, ...] | None:
    """All that decides what a page draws: its fonts (by content) and its streams' digests.

    None: a page whose marks are not reused (it shows XObjects, or a stream cannot be read).
    """
    resources = _resolve(page.get("/Resources"))
    if not isinstance(resources, DictionaryObject):
        return None
    fonts = _font_key(resources, cache.fonts)
    if fonts is None:
        return None
    contents = page.get("/Contents")
    resolved = _resolve(contents)
    streams = resolved if isinstance(resolved, ArrayObject) else [contents] if contents else []
    digests = []
    for entry in streams:
        stream = _resolve(entry)
        if not isinstance(stream, StreamObject) or stream.indirect_reference is None:
            return None
        found = _digest(stream, cache)
        if isinstance(found, str):
            return None
        digests.append(found[0])
    return (fonts, tuple(digests))


def page_marks(
    reader: pypdf.PdfReader,
    page: pypdf.PageObject,
    cache: FileCache | None = None,
    problems: list[str] | None = None,
) -> tuple[list[Mark], int]:
    """What a page draws, and how many content operators it has (0: truly blank).

    Why a content stream could not be read (it is then skipped) goes into ``problems``.
    """
    cache = cache if cache is not None else FileCache()
    interpreter = _Interpreter(reader, fonts=cache.fonts)
    resources = _resolve(page.get("/Resources"))
    if not isinstance(resources, DictionaryObject):
        resources = DictionaryObject()
    fonts = _font_key(resources, cache.fonts)
    contents = page.get("/Contents")
    resolved = _resolve(contents)
    streams = resolved if isinstance(resolved, ArrayObject) else [contents] if contents else []
    for entry in streams:
        stream = _resolve(entry)
        start = interpreter.signature()
        key, data = None, None
        if isinstance(stream, StreamObject) and fonts is not None and start is not None:
            found = _digest(stream, cache)
            if isinstance(found, str):  # cannot be decoded: a problem, never a blank page
                interpreter.problems.append(found)
                continue
            digest, data = found
            key = (digest, fonts, start)
        hit = cache.streams.get(key) if key else None
        if hit is not None:
            marks, operators, state, in_text, tm, tlm = hit
            interpreter.marks.extend(marks)
            interpreter.operators += operators
            interpreter.state = replace(state)
            interpreter.in_text, interpreter.tm, interpreter.tlm = in_text, tm, tlm
            continue
        first_mark, operators_before = len(interpreter.marks), interpreter.operators
        problems_before = len(interpreter.problems)
        interpreter.run(stream, resources, data=data)
        sound = len(interpreter.problems) == problems_before
        if key is not None and sound and not interpreter.stack and not interpreter.path:
            if len(cache.streams) >= MAX_CACHED_STREAMS:
                cache.streams.clear()
            cache.streams[key] = (
                interpreter.marks[first_mark:],
                interpreter.operators - operators_before,
                replace(interpreter.state),
                interpreter.in_text,
                interpreter.tm,
                interpreter.tlm,
            )
    if problems is not None:
        problems.extend(interpreter.problems)
    return interpreter.marks, interpreter.operators


# -- fonts ---------------------------------------------------------------------------------------
def _font_dicts(resources: Any, depth: int = 0) -> Iterator[DictionaryObject]:
    resources = _resolve(resources)
    if not isinstance(resources, DictionaryObject):
        return
    fonts = _resolve(resources.get("/Font")) or {}
    for ref in fonts.values():
        font = _resolve(ref)
        if isinstance(font, DictionaryObject):
            yield font
    xobjects = _resolve(resources.get("/XObject")) or {}
    for ref in xobjects.values():
        xobject = _resolve(ref)
        if isinstance(xobject, StreamObject) and xobject.get("/Subtype") == "/Form" and depth < 8:
            yield from _font_dicts(xobject.get("/Resources"), depth + 1)


def _embedded(font: DictionaryObject, cache: FileCache) -> bool:
    ref = font.indirect_reference
    key = (ref.idnum, ref.generation) if ref is not None else None
    if key is not None and key in cache.embedded:
        return cache.embedded[key]
    content = _content(ref)
    result = _EMBEDDED_BY_CONTENT.get(content) if content is not None else None
    if result is None:
        result = _has_font_file(font)
        if content is not None:
            _remember(_EMBEDDED_BY_CONTENT, content, result)
    if key is not None:
        cache.embedded[key] = result
    return result


def _has_font_file(font: DictionaryObject) -> bool:
    if font.get("/Subtype") == "/Type3":
        return True  # its glyphs are drawn by the PDF itself
    target = font
    if font.get("/Subtype") == "/Type0":
        descendants = _resolve(font.get("/DescendantFonts"))
        if not isinstance(descendants, ArrayObject) or not descendants:
            return False
        target = _resolve(descendants[0])
        if not isinstance(target, DictionaryObject):
            return False
    descriptor = _resolve(target.get("/FontDescriptor"))
    return isinstance(descriptor, DictionaryObject) and any(
        key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")
    )


def check_page(
    reader: pypdf.PdfReader,
    page: pypdf.PageObject,
    where: str,
    rules: PageRules,
    margin: float = PRINTABLE_MARGIN,
    cache: FileCache | None = None,
) -> list[str]:
    """Failures of one page, each starting with ``where`` (``file, page N``).

    Pass one ``cache`` for all pages of a file: what they share is then read once.
    """
    return _check_page(reader, page, where, rules, margin, cache)[0]


def _check_page(
    reader: pypdf.PdfReader,
    page: pypdf.PageObject,
    where: str,
    rules: PageRules,
    margin: float,
    cache: FileCache | None,
) -> tuple[list[str], str]:
    """The page's failures, and a digest of the text it draws and where (to compare pages)."""
    cache = cache if cache is not None else FileCache()
    failures: list[str] = []
    box = page.mediabox
    width, height = float(box.width), float(box.height)
    expected_w, expected_h = PAGE_SIZES[rules.page_size]
    if abs(width - expected_w) > SIZE_TOLERANCE or abs(height - expected_h) > SIZE_TOLERANCE:
        failures.append(
            f"{where}: the page is {width / MM:.0f} × {height / MM:.0f} mm, "
            f"not {rules.page_size} ({expected_w / MM:.0f} × {expected_h / MM:.0f} mm)"
        )
    rotation = int(page.get("/Rotate", 0) or 0) % 360
    if rotation:
        failures.append(f"{where}: the page is rotated by {rotation}°")
    for font in _font_dicts(page.get("/Resources")):
        if not _embedded(font, cache):
            name = str(font.get("/BaseFont", "(unnamed)")).lstrip("/")
            failures.append(f"{where}: font {name} is not embedded")
    # the same page (the same fonts, streams, size and rules) was checked before: what its
    # marks break is known (which document's page it is only changes the words of one message)
    page_key = _page_key(page, cache)
    key = None
    if page_key is not None:
        key = (page_key, width, height, replace(rules, text=None), rules.text is None, margin)
    known = cache.pages.get(key) if key is not None else None
    if known is None:
        problems: list[str] = []
        marks, operators = page_marks(reader, page, cache, problems)
        known = _marks_failures(marks, operators, problems, width, height, rules, margin)
        if key is not None and not problems:
            if len(cache.pages) >= MAX_CACHED_STREAMS:
                cache.pages.clear()
            cache.pages[key] = known
    # the bytes decoded for the page's key are for its marks only (none wanted on a hit)
    cache.decoded.clear()
    found, draws_text, digest = known
    failures.extend(f"{where}: {failure}" for failure in found)
    if rules.text is not None and not draws_text:
        failures.append(f"{where}: the page draws no text, but {rules.text}")
    return failures, digest


def _marks_failures(
    marks: list[Mark],
    operators: int,
    problems: list[str],
    width: float,
    height: float,
    rules: PageRules,
    margin: float,
) -> _PageResult:
    """What a page's marks break (without the page's name, nor the text rule's words)."""
    failures = list(dict.fromkeys(problems))
    if rules.blank:
        if operators:
            failures.append(f"the pad page is not blank ({operators} content operators)")
        return tuple(failures), True, ""
    texts = [mark for mark in marks if mark.kind == "text" and mark.text.strip()]
    if rules.window is not None or not marks_clear(marks, width, height, rules.fax, margin):
        failures.extend(
            failure.removeprefix(": ")
            for failure in check_marks(marks, width, height, rules, "", margin)
        )
    images = [mark for mark in marks if mark.kind == "image"]
    if rules.fax and any(not mark.bilevel for mark in images):
        failures.append(
            "an image has greys or colours; a fax is black on white (faxbatch draws "
            "enclosures as black-and-white images)"
        )
    # an enclosure's page is told apart by its image: what it shows, and where
    return tuple(failures), bool(texts) or bool(problems), _text_digest([*texts, *images])


def _printable(text: str, limit: int) -> str:
    """At most ``limit`` characters of a file's own text for a message, the unprintable as ``?``."""
    return "".join(c if c.isprintable() else "?" for c in text[:limit])


def _text_digest(texts: Sequence[Mark]) -> str:
    """A digest of the texts (and images) a page draws and where: pages compare by it."""
    joined = "".join(f"{mark.text}\x1e{mark.x0:.1f}\x1e{mark.y0:.1f}\x1f" for mark in texts)
    return hashlib.sha256(joined.encode("utf-8", "replace")).hexdigest()[:24]  # one update


# -- the batch -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Work:
    """A file whose pages are to be checked, with what its checks need (it can be pickled)."""

    kind: str  # "volume" or "single" (a document's own file)
    relative: str
    #: where it lies, inside the batch folder (:meth:`_Batch.locate`); read where it is checked,
    #: so that no process holds more than the few files it checks at a time
    path: str
    #: who names the file (for messages)
    source: str
    #: its size when it was deferred (to choose how many processes check the batch)
    size: int = 0
    #: a volume's entry in the job ticket, and the ticket's documents placed in it
    volume: Mapping[str, Any] = field(default_factory=dict)
    documents: tuple[Mapping[str, Any], ...] = ()
    #: a document's own file: a fax's, or a postal letter's (its first page's envelope window)
    fax: bool = False
    window: Rect | None = None


@dataclass(frozen=True)
class _Checked:
    """A file's failures, and the text digest of its pages (a volume: the pages documents own)."""

    failures: list[str]
    pages: dict[int, str]


def _check_files(works: Sequence[_Work], page_size: str, margin: float) -> list[_Checked]:
    """The failures of a few files that share pages (a volume and its documents' own files).

    Their content streams' results are shared (see :class:`FileCache`), and forgotten after.
    """
    streams: _Streams = {}
    seen: _Pages = {}
    checked = []
    for work in works:
        try:
            if work.kind == "volume":
                failures, owned = _volume_failures(work, page_size, margin, streams, seen)
                checked.append(_Checked(failures, owned))
            else:
                failures, digests = _single_failures(work, page_size, margin, streams, seen)
                checked.append(_Checked(failures, dict(enumerate(digests, start=1))))
        except Exception as exc:  # what no check foresaw: a failure of this file, never a pass
            said = _printable(str(exc), 80)
            checked.append(
                _Checked([f"{work.relative}: cannot be checked ({type(exc).__name__}: {said})"], {})
            )
    return checked


#: a batch whose files add up to more than this is checked by several processes
PARALLEL_BYTES = 8 << 20
#: the documents' own files checked together when no volume holds them
_LOOSE_GROUP = 64


def _groups(deferred: Sequence[tuple[int, _Work]], manifest: Mapping[str, Any]) -> list[list[int]]:
    """The deferred files in groups that share pages: each volume with its documents' files.

    A grouping only decides what is read once; every file is checked in full, in one group.
    """
    volume_of: dict[str, str] = {}
    for _name, entry in _manifest_files(manifest):
        if isinstance(entry.get("file"), str) and isinstance(entry.get("volume"), str):
            volume_of[entry["file"]] = entry["volume"]
    by_volume: dict[str, list[int]] = {}
    for index, (_slot, work) in enumerate(deferred):
        if work.kind == "volume":
            by_volume.setdefault(work.relative, []).append(index)
    loose: list[int] = []
    for index, (_slot, work) in enumerate(deferred):
        if work.kind == "volume":
            continue
        group = by_volume.get(volume_of.get(work.relative, ""))
        if group is not None:
            group.insert(-1, index)  # before its volume: the volume then reuses its pages
        else:
            loose.append(index)
    groups = list(by_volume.values())
    groups.extend(loose[n : n + _LOOSE_GROUP] for n in range(0, len(loose), _LOOSE_GROUP))
    return groups


def _worker_start() -> None:
    """A worker's start: Ctrl-C is the main process's to handle, pypdf's repairs not logged.

    The main process stops the workers; the failures say what pypdf repaired, in words.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.getLogger("pypdf").setLevel(logging.ERROR)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop a pool's workers now (Ctrl-C, an error): none goes on checking, nothing waits."""
    terminate = getattr(pool, "terminate_workers", None)  # Python 3.14
    if terminate is not None:
        terminate()
        return
    # before 3.14: the pool's own processes, by pid (shutdown forgets them: taken first)
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _check_deferred(
    batch: _Batch, page_size: str, manifest: Mapping[str, Any], workers: int | None
) -> None:
    """Check the deferred files' pages, and put their failures in their places."""
    deferred, batch.deferred = batch.deferred, []
    groups = _groups(deferred, manifest)
    total = sum(work.size for _slot, work in deferred)
    if workers is None:
        workers = min(_cores(), len(groups)) if total > PARALLEL_BYTES else 1
    jobs = [[deferred[index][1] for index in group] for group in groups]
    # the workers are forked (a spawned one would run the caller's main module again), and only
    # from a process of one thread: a fork copies the locks other threads may be holding
    if workers > 1 and len(jobs) > 1 and threading.active_count() == 1:
        context = multiprocessing.get_context("fork")
        # a worker that dies (killed, out of memory) is an error here, never a hang
        pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_start)
        try:
            futures = [pool.submit(_check_files, job, page_size, batch.margin) for job in jobs]
            results = [future.result() for future in futures]
        except BrokenProcessPool:
            _stop(pool)
            raise WorkerDiedError(
                "a process checking the pages died before it was done (killed by the system, "
                "most often for lack of memory); the batch was not checked",
                hint="run it again",
            ) from None
        except BaseException:
            _stop(pool)
            raise
        pool.shutdown()
    else:
        results = [_check_files(job, page_size, batch.margin) for job in jobs]
    placed: dict[int, list[str]] = {}
    for group, checked in zip(groups, results, strict=True):
        for index, result in zip(group, checked, strict=True):
            slot, work = deferred[index]
            placed[slot] = result.failures
            if work.kind == "volume":
                for number, digest in result.pages.items():
                    batch.volume_pages[(work.relative, number)] = digest
            else:
                batch.document_pages[work.relative] = list(result.pages.values())
    failures: list[str] = []
    for slot, failure in enumerate(batch.failures):
        failures.extend(placed.get(slot, [failure]))
    batch.failures = failures


@dataclass
class _Batch:
    folder: Path
    margin: float
    failures: list[str] = field(default_factory=list)
    #: the text digest of every page a volume's document owns, by (volume, page number)
    volume_pages: dict[tuple[str, int], str] = field(default_factory=dict)
    #: the text digest of every page of each document's own PDF, by file
    document_pages: dict[str, list[str]] = field(default_factory=dict)
    #: the folder is a batch's ``print/`` folder alone: ``print/x.pdf`` is ``x.pdf`` in it
    alone: bool = False
    #: files whose pages are still to be checked, with the index of their place in ``failures``
    deferred: list[tuple[int, _Work]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.root = self.folder.resolve()
        self._refused: set[str] = set()  # files already reported as not to be read

    def fail(self, message: str) -> None:
        self.failures.append(message)

    def refuse(self, relative: object, message: str) -> None:
        """A file not to be read, reported once however many entries name it."""
        if str(relative) not in self._refused:
            self._refused.add(str(relative))
            self.fail(message)

    def locate(self, relative: object, source: str) -> Path | None:
        """Where a file named by the batch lies, if inside the batch folder (else a failure)."""
        if not isinstance(relative, str) or not relative or "\0" in relative:
            self.refuse(relative, f"{relative!r} ({source}) is not a file name inside the batch")
            return None
        if self.alone:
            if not relative.startswith(PRINT_FOLDER):
                self.refuse(relative, f"{relative} ({source}) is not in the print folder")
                return None
            relative = relative[len(PRINT_FOLDER) :]
        if Path(relative).is_absolute():
            self.refuse(
                relative,
                f"{relative} ({source}) is an absolute path; a batch's files lie inside it, "
                "and it was not read",
            )
            return None
        try:
            resolved = (self.root / relative).resolve()
        except (OSError, RuntimeError) as exc:  # a loop of links
            self.refuse(relative, f"{relative} ({source}) cannot be resolved ({exc})")
            return None
        if not resolved.is_relative_to(self.root):
            self.refuse(
                relative,
                f"{relative} ({source}) resolves to {resolved}, outside the batch folder "
                f"{self.root}; it was not read",
            )
            return None
        return resolved

    def read_bytes(self, relative: object, source: str, missing: str | None = None) -> bytes | None:
        """A file of the batch, read only if it is a regular file inside the batch folder.

        ``source`` says who names the file (for messages); ``missing`` replaces the message for a
        file that is not there.
        """
        path = self.locate(relative, source)
        if path is None:
            return None
        try:
            return _regular_bytes(path)
        except _NotRegular:
            self.refuse(relative, _not_read(relative, source, _NotRegular(), missing))
        except OSError as exc:
            self.fail(_not_read(relative, source, exc, missing))
        return None

    def defer(self, work: _Work) -> None:
        """A file's pages, to check later (maybe in another process); its failures go here."""
        if work.relative in self._refused:
            return  # told already: not to be read
        with contextlib.suppress(OSError):  # a file that cannot be read is told when it is read
            work = replace(work, size=Path(work.path).lstat().st_size)
        self.failures.append("")  # its place: the failures stay in the order they are found
        self.deferred.append((len(self.failures) - 1, work))


class _NotRegular(Exception):
    """A file of the batch that is not a regular file (a FIFO, a device, a folder)."""


def _regular_bytes(path: Path) -> bytes:
    """A file's bytes if it is a regular file, never through a link; :class:`_NotRegular`.

    Raises OSError when it cannot be read (FileNotFoundError when it is not there).
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _NotRegular
        with os.fdopen(os.dup(fd), "rb") as handle:
            return handle.read()
    finally:
        os.close(fd)


def _not_read(relative: object, source: str, exc: Exception, missing: str | None = None) -> str:
    """Why a file of the batch was not read, in words."""
    if isinstance(exc, _NotRegular):
        return f"{relative} ({source}) is not a regular file; not read"
    if isinstance(exc, FileNotFoundError):
        return missing or f"{relative}: {source} but missing"
    reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
    return f"{relative}: cannot be read ({reason})"


def _work_bytes(work: _Work, failures: list[str]) -> bytes | None:
    """The bytes of a deferred file, read where it is checked (else why not, in ``failures``)."""
    try:
        return _regular_bytes(Path(work.path))
    except (_NotRegular, OSError) as exc:
        failures.append(_not_read(work.relative, work.source, exc))
        return None


def _read_pdf(
    relative: str, data: bytes, failures: list[str], learn: bool = True
) -> pypdf.PdfReader | None:
    """A PDF's reader (its objects shared with the other files: see ``objects.SharingReader``).

    ``learn``: whether objects it parses are offered to the files read after it (a volume's are
    its documents' own, read before it: it only takes them).
    """
    try:
        return SharingReader(data, _OBJECTS, learn=learn)
    except (OSError, PdfReadError, ValueError) as exc:
        failures.append(f"{relative}: cannot be read as a PDF ({exc})")
        return None


def _load_json(batch: _Batch, relative: str, required: bool) -> dict[str, Any] | None:
    if not required and not os.path.lexists(batch.folder / relative):
        return None
    missing = f"{relative} is missing: the print volumes cannot be checked against it"
    data = batch.read_bytes(relative, "the job ticket" if required else "the manifest", missing)
    if data is None:
        return None
    try:
        loaded = json.loads(data)
    except ValueError as exc:
        batch.fail(f"{relative}: cannot be read as JSON ({exc})")
        return None
    if not isinstance(loaded, dict):
        batch.fail(f"{relative}: not a JSON object")
        return None
    return loaded


def _window_of(volume: Mapping[str, Any], page_size: str) -> Rect | None:
    envelope = volume.get("envelope")
    if not envelope:
        return None
    try:
        return envelope_spec(page_size, envelope, volume.get("din5008")).window
    except ValueError:
        return None


def _check_volume(
    batch: _Batch, volume: Mapping[str, Any], documents: Sequence[Mapping[str, Any]], page_size: str
) -> None:
    source = f"listed in {JOB_JSON}"
    path = batch.locate(volume.get("file"), source)
    if path is not None:
        batch.defer(
            _Work("volume", str(volume.get("file")), str(path), source, 0, volume, tuple(documents))
        )


def _volume_failures(
    work: _Work, page_size: str, margin: float, streams: _Streams, seen: _Pages
) -> tuple[list[str], dict[int, str]]:
    """A volume's failures, and the text digest of each page a document owns (by page number)."""
    relative, volume, documents = work.relative, work.volume, work.documents
    failures: list[str] = []
    owned: dict[int, str] = {}
    data = _work_bytes(work, failures)
    if data is None:
        return failures, owned
    size = len(data)
    if size != volume.get("bytes"):
        failures.append(f"{relative}: {size} bytes, but {JOB_JSON} says {volume.get('bytes')}")
    if hashlib.sha256(data).hexdigest() != volume.get("sha256"):
        failures.append(
            f"{relative}: its sha256 differs from {JOB_JSON} (changed after the build?)"
        )
    reader = _read_pdf(relative, data, failures, learn=False)
    if reader is None:
        return failures, owned
    pages = len(reader.pages)
    duplex = bool(volume.get("duplex"))
    expected = {
        "pages": pages,
        "sheets": math.ceil(pages / 2) if duplex else pages,
        "documents": len(documents),
    }
    for key, value in expected.items():
        if volume.get(key) != value:
            failures.append(f"{relative}: {value} {key}, but {JOB_JSON} says {volume.get(key)}")
    if volume.get("page_size") != page_size:
        failures.append(
            f"{relative}: {JOB_JSON} gives page size {volume.get('page_size')}, "
            f"the batch is {page_size}"
        )
    owner: dict[int, Mapping[str, Any]] = {}
    first_pages: set[int] = set()
    for placed in documents:
        first, last = placed.get("first_page"), placed.get("last_page")
        if not (isinstance(first, int) and isinstance(last, int) and 1 <= first <= last <= pages):
            failures.append(
                f"{relative}: {JOB_JSON} gives {placed.get('id')} pages {first}–{last}, "
                f"outside the volume's {pages} pages"
            )
            continue
        if duplex and first % 2 == 0:
            failures.append(f"{relative}, page {first}: {placed.get('id')} starts on a back side")
        for number in range(first, last + 1):
            if number in owner:
                failures.append(
                    f"{relative}, page {number}: belongs to both {owner[number].get('id')} "
                    f"and {placed.get('id')}"
                )
            owner[number] = placed
        first_pages.add(first)
    pads = pages - len(owner)
    if volume.get("pad_pages") != pads:
        failures.append(
            f"{relative}: {pads} pad pages, but {JOB_JSON} says {volume.get('pad_pages')}"
        )
    _check_bookmarks(failures, reader, relative, documents)
    fax = volume.get("channel") == "fax"
    window = _window_of(volume, page_size) if volume.get("channel") == "post" else None
    if volume.get("channel") == "post" and window is None:
        failures.append(f"{relative}: {JOB_JSON} names no valid envelope for this postal volume")
    cache = FileCache(streams=streams, pages=seen)
    for index, page in enumerate(reader.pages):
        number = index + 1
        doc = owner.get(number)
        text = None
        if doc is not None:
            start = int(doc["first_page"])  # checked above
            text = f"{JOB_JSON} places page {number - start + 1} of {doc.get('id')} here"
        rules = PageRules(
            page_size,
            fax=fax,
            blank=doc is None,
            window=window if number in first_pages else None,
            text=text,
        )
        page_failures, digest = _check_page(
            reader, page, f"{relative}, page {number}", rules, margin, cache
        )
        failures.extend(page_failures)
        if doc is not None:
            owned[number] = digest
    return failures, owned


def _check_bookmarks(
    failures: list[str],
    reader: pypdf.PdfReader,
    relative: str,
    documents: Sequence[Mapping[str, Any]],
) -> None:
    try:
        outline = [item for item in reader.outline if not isinstance(item, list)]
        found = [(str(item.title), _page_number(reader, item)) for item in outline]
    except (PdfReadError, ValueError, KeyError) as exc:
        failures.append(f"{relative}: its bookmarks cannot be read ({exc})")
        return
    wanted = [(str(doc.get("title")), doc.get("first_page")) for doc in documents]
    if found != wanted:
        failures.append(
            f"{relative}: {len(found)} bookmarks do not match the {len(wanted)} documents of "
            f"{JOB_JSON} (one per document, at its first page)"
        )


def _page_number(reader: pypdf.PdfReader, item: Any) -> int | None:
    index = reader.get_destination_page_number(item)
    return None if index is None else index + 1


def _check_ticket_totals(batch: _Batch, ticket: Mapping[str, Any]) -> None:
    volumes = [v for v in ticket.get("volumes", []) if isinstance(v, dict)]
    totals = ticket.get("totals")
    if not isinstance(totals, dict):
        batch.fail(f"{JOB_JSON}: no totals")
        return
    for key in ("documents", "pages", "pad_pages", "sheets", "bytes"):
        value = sum(_count(v.get(key)) for v in volumes)
        if totals.get(key) != value:
            batch.fail(
                f"{JOB_JSON}: total {key} is {totals.get(key)}, the volumes add up to {value}"
            )
    if totals.get("volumes") != len(volumes):
        batch.fail(f"{JOB_JSON}: total volumes is {totals.get('volumes')}, it lists {len(volumes)}")


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _manifest_files(manifest: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """The manifest's documents that name a file, with the name to show for each."""
    for entry in manifest.get("documents", []):
        if isinstance(entry, dict):
            yield str(entry.get("recipient_id") or entry.get("id") or "a document"), entry


def _check_manifest(batch: _Batch, manifest: Mapping[str, Any], ticket: Mapping[str, Any]) -> None:
    placed = {
        (d.get("volume"), d.get("first_page"), d.get("last_page"))
        for d in ticket.get("documents", [])
        if isinstance(d, dict)
    }
    for name, entry in _manifest_files(manifest):
        relative, digest = entry.get("file"), entry.get("sha256")
        if relative is not None and isinstance(digest, str):
            data = batch.read_bytes(relative, f"listed in manifest.json for {name}")
            if data is not None and hashlib.sha256(data).hexdigest() != digest:
                batch.fail(f"{relative}: its sha256 differs from manifest.json")
        volume = entry.get("volume")
        if isinstance(volume, str):
            key = (volume, entry.get("volume_first_page"), entry.get("volume_last_page"))
            if key not in placed:
                batch.fail(
                    f"manifest.json: {name} points at {volume} pages {key[1]}–{key[2]}, but "
                    f"{JOB_JSON} has no document there"
                )


def _single_files(batch: _Batch, page_size: str, ticket: Mapping[str, Any]) -> None:
    """The documents' own files: faxes/*.pdf (fax rules) and post/*.pdf (window on page 1)."""
    post_volume = next(
        (
            v
            for v in ticket.get("volumes", [])
            if isinstance(v, dict) and v.get("channel") == "post"
        ),
        None,
    )
    post_window = _window_of(post_volume, page_size) if post_volume else None
    for folder, fax in (("faxes", True), ("post", False)):
        window = None if fax else post_window
        for path in sorted((batch.folder / folder).glob("*.pdf")):
            relative = f"{folder}/{path.name}"
            source = "a document of the batch"
            located = batch.locate(relative, source)
            if located is not None:
                batch.defer(_Work("single", relative, str(located), source, fax=fax, window=window))


def _single_failures(
    work: _Work, page_size: str, margin: float, streams: _Streams, seen: _Pages
) -> tuple[list[str], list[str]]:
    """A document's own file: its failures, and the text digest of each of its pages."""
    failures: list[str] = []
    data = _work_bytes(work, failures)
    reader = _read_pdf(work.relative, data, failures) if data is not None else None
    if reader is None:
        return failures, []
    cache = FileCache(streams=streams, pages=seen)
    digests = []
    for index, page in enumerate(reader.pages):
        rules = PageRules(
            page_size,
            fax=work.fax,
            window=work.window if index == 0 else None,
            text="every page of a document carries its 'Page N of M' line",
        )
        where = f"{work.relative}, page {index + 1}"
        page_failures, digest = _check_page(reader, page, where, rules, margin, cache)
        failures.extend(page_failures)
        digests.append(digest)
    return failures, digests


def _compare_documents(batch: _Batch, manifest: Mapping[str, Any]) -> None:
    """Each document's pages in its volume draw what its own PDF draws, page for page."""
    for name, entry in _manifest_files(manifest):
        own = batch.document_pages.get(str(entry.get("file")))
        volume, first, last = (
            entry.get("volume"),
            entry.get("volume_first_page"),
            entry.get("volume_last_page"),
        )
        if own is None or not isinstance(volume, str):
            continue
        if not (isinstance(first, int) and isinstance(last, int)):
            continue
        if last - first + 1 != len(own):
            batch.fail(
                f"{volume}: {name} has {last - first + 1} pages there, but its own PDF "
                f"{entry.get('file')} has {len(own)}"
            )
            continue
        for offset, digest in enumerate(own):
            found = batch.volume_pages.get((volume, first + offset))
            if found is not None and found != digest:
                batch.fail(
                    f"{volume}, page {first + offset}: does not draw what page {offset + 1} of "
                    f"{entry.get('file')} ({name}) draws: the volume or the document is damaged"
                )


#: where a batch keeps its volumes and job ticket (the folder a print shop receives)
PRINT_FOLDER = "print/"


def is_print_folder(folder: Path) -> bool:
    """Whether ``folder`` is a batch's print folder on its own (its ``job.json``, no manifest)."""
    return (folder / "job.json").is_file() and not (folder / "manifest.json").exists()


def run_preflight(
    folder: Path,
    *,
    page_size: str | None = None,
    margin: float = PRINTABLE_MARGIN,
    workers: int | None = None,
) -> list[str]:
    """Check a built batch folder; returns the failures in words (none: ready for the print shop).

    ``folder`` may also be the batch's ``print/`` folder alone (copied anywhere): then its volumes
    are checked against its ``job.json`` only (files, bytes, sha256, pages, fonts, zones, address
    windows). ``page_size`` defaults to the manifest's (``campaign.page_size``), else the job
    ticket's. ``workers``: how many processes check the pages (default: one for a small batch,
    else one per core); the result is the same.
    """
    # pypdf logs what it repairs in a damaged file; the failures list says it in words instead
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        return _run_preflight(folder, page_size=page_size, margin=margin, workers=workers)
    finally:
        logger.setLevel(level)


def _run_preflight(
    folder: Path, *, page_size: str | None, margin: float, workers: int | None
) -> list[str]:
    batch = _Batch(Path(folder), margin, alone=is_print_folder(Path(folder)))
    ticket = _load_json(batch, JOB_JSON, required=True) or {}
    manifest = _load_json(batch, "manifest.json", required=False) or {}
    if ticket and ticket.get("schema_version") != SCHEMA_VERSION:
        batch.fail(
            f"{JOB_JSON}: schema_version {ticket.get('schema_version')!r}, "
            f"this faxbatch reads {SCHEMA_VERSION}"
        )
    volumes = [v for v in ticket.get("volumes", []) if isinstance(v, dict)]
    campaign = manifest.get("campaign") if isinstance(manifest.get("campaign"), dict) else {}
    size = page_size or (campaign or {}).get("page_size")
    if size is None and volumes:
        size = volumes[0].get("page_size")
    if size not in PAGE_SIZES:
        batch.fail(f"the batch's page size is unknown ({size!r}); expected A4 or Letter")
        return batch.failures
    documents = [d for d in ticket.get("documents", []) if isinstance(d, dict)]
    listed = {str(v.get("file")) for v in volumes}
    for doc in documents:
        if doc.get("volume") not in listed:
            batch.fail(
                f"{JOB_JSON}: {doc.get('id')} is placed in {doc.get('volume')}, "
                "which is not one of its volumes"
            )
    for volume in volumes:
        inside = [d for d in documents if d.get("volume") == volume.get("file")]
        _check_volume(batch, volume, inside, str(size))
    print_folder = batch.folder if batch.alone else batch.folder / "print"
    for path in sorted(print_folder.glob("*.pdf")):
        if f"print/{path.name}" not in listed:
            batch.fail(f"print/{path.name}: not listed in {JOB_JSON}")
    if ticket:
        _check_ticket_totals(batch, ticket)
        if manifest:
            _check_manifest(batch, manifest, ticket)
    if not batch.alone:  # the documents' own files are not in the print folder
        _single_files(batch, str(size), ticket)
    _check_deferred(batch, str(size), manifest, workers)
    if manifest:
        _compare_documents(batch, manifest)
    if len(batch.failures) > MAX_FAILURES:
        rest = len(batch.failures) - MAX_FAILURES
        return [*batch.failures[:MAX_FAILURES], f"… and {rest} more failures"]
    return batch.failures
