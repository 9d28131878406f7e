"""The typeface faxbatch prints with: metrics for layout, coverage checks, embedded subsets.

faxbatch ships DejaVu Sans (regular, bold, oblique, bold oblique) inside the package, so every
install draws Latin, Cyrillic (Kazakh letters included) and Greek the same way. Layout measures text
with the full fonts; the PDF embeds one subset per style holding just the characters of the batch,
shared by every document of the batch (the same bytes in each file, one copy per volume).
"""

from __future__ import annotations

import hashlib
import io
import logging
import struct
import unicodedata
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache, cached_property
from importlib import resources
from itertools import repeat
from typing import Protocol

from faxbatch.letters import shaping
from faxbatch.letters.direction import MIRROR, has_rtl
from faxbatch.letters.sfnt import read_metrics


class Style(StrEnum):
    """A face of the typeface."""

    REGULAR = "regular"
    BOLD = "bold"
    ITALIC = "italic"
    BOLD_ITALIC = "bold-italic"


_FILES = {
    Style.REGULAR: "DejaVuSans.ttf",
    Style.BOLD: "DejaVuSans-Bold.ttf",
    Style.ITALIC: "DejaVuSans-Oblique.ttf",
    Style.BOLD_ITALIC: "DejaVuSans-BoldOblique.ttf",
}

#: characters layout may add on its own (bullets, dashes, digits of page numbers, ellipsis)
LAYOUT_CHARACTERS = frozenset(
    " 0123456789.,:;-–—•…()/+#@&'\"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)


#: the face that draws a character a face lacks: italic Arabic is drawn upright (DejaVu Sans has
#: no oblique Arabic, and Arabic has no italic tradition), bold italic falls back to bold
FALLBACK: dict[Style, tuple[Style, ...]] = {
    Style.REGULAR: (),
    Style.BOLD: (Style.REGULAR,),
    Style.ITALIC: (Style.REGULAR,),
    Style.BOLD_ITALIC: (Style.BOLD, Style.REGULAR),
}

#: format characters that are drawn, unlike the others (Arabic number signs and the like)
_VISIBLE_FORMAT = frozenset("\u0600\u0601\u0602\u0603\u0604\u0605\u06dd\u070f\u0890\u0891\u08e2")


def is_invisible(char: str) -> bool:
    """Whether ``char`` is never drawn: it only joins, separates or steers text.

    Soft hyphens, zero-width spaces and joiners, direction marks, variation selectors: these
    have no width and no glyph (a soft hyphen shows as a hyphen only where a line breaks at it).
    """
    if char < "\u00ad":
        return False
    if unicodedata.category(char) == "Cf":
        return char not in _VISIBLE_FORMAT
    return char == "\u034f" or "\ufe00" <= char <= "\ufe0f" or "\u180b" <= char <= "\u180f"


def is_space(char: str) -> bool:
    """Whether ``char`` is a space character (U+0020, no-break, thin, em space, ...)."""
    return char == " " or (char > "\u007f" and unicodedata.category(char) == "Zs")


class Face:
    """One font file: what layout needs to measure text, and the file to subset from."""

    def __init__(self, style: Style, data: bytes) -> None:
        self.style = style
        self.data = data
        metrics = read_metrics(data)
        self.postscript_name = metrics.postscript_name
        self.units_per_em = metrics.units_per_em
        scale = 1000.0 / self.units_per_em
        # advance widths in thousandths of the font size, by character
        self._widths: dict[str, float] = {
            chr(code): advance * scale for code, advance in metrics.advances.items()
        }
        self.ascent = metrics.ascent * scale
        self.descent = metrics.descent * scale
        self.cap_height = metrics.cap_height * scale
        self.bbox = tuple(round(v * scale) for v in metrics.bbox)
        self.italic_angle = metrics.italic_angle

    def has(self, char: str) -> bool:
        """Whether the face can draw ``char``."""
        return char in self._widths

    def covers(self, text: str) -> bool:
        """Whether the face can draw every character of ``text``."""
        return self._widths.keys() >= set(text)

    def width(self, text: str, size: float) -> float:
        """Width of ``text`` at ``size`` points, in points."""
        return sum(map(self._widths.get, text, repeat(0.0))) * size / 1000.0

    def char_width(self, char: str) -> float:
        """Advance width of one character in thousandths of the font size."""
        return self._widths.get(char, 0.0)


#: line breaks and tabs, never missing (for str.translate: removed)
_BREAKS = dict.fromkeys(map(ord, "\n\r\t"))


class Typeface:
    """The four faces, loaded once per process."""

    def __init__(self, faces: Mapping[Style, Face]) -> None:
        self.faces = dict(faces)

    def __getitem__(self, style: Style) -> Face:
        return self.faces[style]

    def missing(self, text: str) -> list[str]:
        """Characters of ``text`` that no face can draw (in order of appearance, once each).

        Every face falls back to the regular one, so that is the one asked. Characters that are
        never drawn are never missing, nor is a space (drawn as a space when the font lacks
        it); an Arabic letter is missing unless the font has every form it joins with.
        """
        if (not text or max(text) < "\u0600") and self.faces[Style.REGULAR].covers(
            text.translate(_BREAKS)
        ):
            return []  # no Arabic letter (their forms count), and the font has every character
        return self.missing_each(text)

    def missing_each(self, text: str) -> list[str]:
        """:meth:`missing`, asking of every character on its own (the rule itself)."""
        regular = self.faces[Style.REGULAR]
        seen: list[str] = []
        for char in text:
            if char in "\n\r\t" or char in seen:
                continue
            if shaping.is_arabic_letter(char):
                forms = shaping.forms_of(char)
                if forms and all(regular.has(form) for form in forms):
                    continue
            elif regular.has(char) or is_space(char) or is_invisible(char):
                continue
            seen.append(char)
        return seen

    def style_for(self, style: Style, char: str) -> Style:
        """The face that draws ``char`` in text of ``style``: its own, else a fallback's."""
        if self.faces[style].has(char):
            return style
        for other in FALLBACK[style]:
            if self.faces[other].has(char):
                return other
        return style

    def fingerprint(self) -> str:
        """A hash of the font files, part of every document's input key."""
        digest = hashlib.sha256()
        for style in Style:
            digest.update(self.faces[style].data)
        return digest.hexdigest()[:16]


@cache
def typeface() -> Typeface:
    """The typeface shipped with faxbatch (loaded on first use, then kept)."""
    package = resources.files("faxbatch.letters") / "fonts"
    return Typeface(
        {style: Face(style, (package / name).read_bytes()) for style, name in _FILES.items()}
    )


def describe_char(char: str) -> str:
    """``'☃' (U+2603 SNOWMAN)`` — how messages name a character."""
    name = unicodedata.name(char, "unnamed character")
    shown = char if char.isprintable() and not char.isspace() else ""
    return f"'{shown}' (U+{ord(char):04X} {name})" if shown else f"U+{ord(char):04X} {name}"


@dataclass(frozen=True)
class EmbeddedFont:
    """A subset of one face, ready to be written into PDFs.

    ``codes`` maps each character to its glyph id in the subset (written as a two-byte CID, the
    CIDToGIDMap being the identity); ``widths`` are the PDF widths by glyph id.
    """

    style: Style
    base_font: str
    font_file: bytes
    font_file_z: bytes  # compressed once, written into every file of the batch
    codes: Mapping[str, int]
    widths: Mapping[int, int]
    to_unicode_z: bytes
    flags: int
    bbox: tuple[int, ...]
    italic_angle: float
    ascent: int
    descent: int
    cap_height: int
    _encoded: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)
    _shown: dict[tuple[float, float, str], bytes] = field(
        default_factory=dict, compare=False, repr=False
    )

    @cached_property
    def font_file_digest(self) -> bytes:
        """A digest of the compressed font file, which a PDF's ID takes in its stead."""
        return hashlib.sha256(self.font_file_z).digest()

    @cached_property
    def width_array(self) -> bytes:
        """The widths as the inside of a PDF ``/W [0 [...]]`` array, glyph by glyph."""
        return b" ".join(b"%d" % self.widths[gid] for gid in range(len(self.widths)))

    def shown(self, x: float, y: float, text: str) -> bytes:
        """The content-stream operators that show ``text`` with its baseline at (x, y)."""
        key = (x, y, text)
        op = self._shown.get(key)
        if op is None:  # the lines of a letter repeat in every document: format them once
            op = b"1 0 0 1 %.2f %.2f Tm %s Tj" % (x, y, self.encode(text))
            if len(self._shown) < 50_000:
                self._shown[key] = op
        return op

    def encode(self, text: str) -> bytes:
        """The text as a PDF hex string of CIDs, ``<0012002f>``."""
        cached = self._encoded.get(text)
        if cached is None:
            cids = struct.pack(f">{len(text)}H", *map(self.codes.__getitem__, text))
            cached = b"<" + cids.hex().encode("ascii") + b">"
            if len(self._encoded) < 20_000:  # the lines of a letter repeat in every document
                self._encoded[text] = cached
        return cached


def drawn_characters(chars: Iterable[str]) -> set[str]:
    """What text made of ``chars`` may draw.

    Its visible characters, the forms its Arabic letters take, and in right-to-left text the
    mirror images of its brackets.
    """
    chars = set(chars)
    drawn = {c for c in chars if not is_invisible(c)}
    drawn |= shaping.shaped_characters(chars)
    if has_rtl("".join(sorted(drawn))):
        drawn |= {MIRROR[c] for c in drawn if c in MIRROR}
    return drawn


def subset_key(face: Face, chars: Iterable[str]) -> str:
    """What a subset depends on: the font file and the characters."""
    wanted = "".join(sorted({c for c in chars if face.has(c)} | {" "}))
    digest = hashlib.sha256(face.data)
    digest.update(wanted.encode("utf-8", "surrogatepass"))
    return f"{face.style.value}:{digest.hexdigest()}"


#: tables a PDF font needs not: a PDF names glyphs itself (no shaping, positioning nor kerning)
_DROPPED = ("GDEF", "GPOS", "GSUB", "MATH", "FFTM", "kern", "gasp")


def subset(face: Face, chars: Iterable[str]) -> bytes:
    """A TrueType file holding just the glyphs of ``chars`` (same characters, same bytes)."""
    from fontTools import subset as ft_subset  # slow to import, and only a build subsets
    from fontTools.ttLib import TTFont

    wanted = sorted({c for c in chars if face.has(c)} | {" "})
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    font = TTFont(io.BytesIO(face.data), recalcTimestamp=False)
    for tag in _DROPPED:  # gone before subsetting: fontTools would read them only to drop them
        if tag in font:
            del font[tag]
    options = ft_subset.Options()
    options.layout_features = []
    options.hinting = False  # a fax is read at 200 dpi: hinting only adds bytes
    options.glyph_names = False
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6]
    options.name_languages = [0x409]
    options.notdef_outline = True
    options.recalc_timestamp = False
    options.drop_tables += list(_DROPPED)
    subsetter = ft_subset.Subsetter(options)
    subsetter.populate(unicodes=[ord(c) for c in wanted])
    subsetter.subset(font)
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


def embedded(face: Face, data: bytes) -> EmbeddedFont:
    """The embeddable font made from a subset of ``face`` (see :func:`subset`)."""
    from fontTools.ttLib import TTFont  # imported with the subsetter, in a build

    font = TTFont(io.BytesIO(data), recalcTimestamp=False)
    order = font.getGlyphOrder()
    gid_of = {name: gid for gid, name in enumerate(order)}
    cmap: dict[int, str] = font.getBestCmap()
    codes = {chr(code): gid_of[name] for code, name in cmap.items()}
    scale = 1000.0 / face.units_per_em
    metrics: dict[str, tuple[int, int]] = font["hmtx"].metrics
    widths = {gid: round(metrics[name][0] * scale) for gid, name in enumerate(order)}
    flags = 32 | (64 if face.style in (Style.ITALIC, Style.BOLD_ITALIC) else 0)
    return EmbeddedFont(
        style=face.style,
        base_font=f"{_subset_tag(data)}+{face.postscript_name}",
        font_file=data,
        font_file_z=zlib.compress(data, 9),
        codes=codes,
        widths=widths,
        to_unicode_z=zlib.compress(_to_unicode_cmap(codes), 9),
        flags=flags,
        bbox=face.bbox,
        italic_angle=face.italic_angle,
        ascent=round(face.ascent),
        descent=round(face.descent),
        cap_height=round(face.cap_height),
    )


class SubsetStore(Protocol):
    """Where subsets made before may be found (the build cache)."""

    def font(self, key: str) -> bytes | None:
        """A subset by its key, or None."""


def _subset_tag(data: bytes) -> str:
    """Six capital letters naming a subset, derived from its bytes (PDF 9.6.4)."""
    digest = hashlib.sha256(data).digest()
    return "".join(chr(ord("A") + b % 26) for b in digest[:6])


def _to_unicode_cmap(codes: Mapping[str, int]) -> bytes:
    """A ToUnicode CMap so that text can be searched and copied out of the PDF."""
    pairs = sorted((gid, char) for char, gid in codes.items())
    lines = [
        "/CIDInit /ProcSet findresource begin",
        "12 dict begin",
        "begincmap",
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        "/CMapName /Adobe-Identity-UCS def",
        "/CMapType 2 def",
        "1 begincodespacerange",
        "<0000> <FFFF>",
        "endcodespacerange",
    ]
    for start in range(0, len(pairs), 100):
        chunk = pairs[start : start + 100]
        lines.append(f"{len(chunk)} beginbfchar")
        for gid, char in chunk:
            # an Arabic form is copied out of the PDF as the letters it stands for
            utf16 = shaping.base_letters(char).encode("utf-16-be").hex().upper()
            lines.append(f"<{gid:04X}> <{utf16}>")
        lines.append("endbfchar")
    lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    return "\n".join(lines).encode("ascii")


def embed_all(
    chars_by_style: Mapping[Style, Iterable[str]], store: SubsetStore | None = None
) -> tuple[dict[Style, EmbeddedFont], dict[str, bytes]]:
    """One embedded subset per style; also every subset by its key (for the build cache).

    Subsets found in ``store`` are taken from there (subsetting is the slow part).
    """
    faces = typeface()
    fonts: dict[Style, EmbeddedFont] = {}
    subsets: dict[str, bytes] = {}
    for style, chars in chars_by_style.items():
        face = faces[style]
        chars = sorted(drawn_characters(chars))
        key = subset_key(face, chars)
        data = (store.font(key) if store else None) or subset(face, chars)
        subsets[key] = data
        fonts[style] = embedded(face, data)
    return fonts, subsets
