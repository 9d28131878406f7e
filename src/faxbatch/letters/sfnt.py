"""What layout measures with, read straight from a TrueType file's tables.

Layout needs, of each face, the advance width of every character and a few numbers (units per
em, ascender, descender, cap height, bounding box, italic angle, PostScript name). fontTools
gives them too, but decompiles whole tables on the way: glyph names for every glyph, an object
per glyph outline, some 20 ms a face plus its table modules to import, at the start of every
command, before anything else can run. Read here with :mod:`struct` (the formats are those of
the OpenType specification: ``cmap`` formats 4 and 12, ``hmtx``, ``head``, ``hhea``, ``maxp``,
``OS/2``, ``post``, ``name``, ``loca`` and ``glyf``), they take a millisecond or two; fontTools
still makes the subsets that go into the PDFs. Tests compare every value with fontTools' reading
of each shipped face.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

__all__ = ["FontError", "Metrics", "read_metrics"]

#: the character maps looked for, best first (as fontTools' getBestCmap orders them)
_CMAPS = ((3, 10), (0, 6), (0, 4), (3, 1), (0, 3), (0, 2), (0, 1), (0, 0))


class FontError(ValueError):
    """A font file this reader cannot read (none of those faxbatch ships)."""


@dataclass(frozen=True)
class Metrics:
    """A face's measures, in font units (``italic_angle`` in degrees)."""

    postscript_name: str
    units_per_em: int
    advances: dict[int, int]  # code point: advance width of its glyph
    ascent: int  # OS/2 typographic ascender
    descent: int  # OS/2 typographic descender (negative)
    cap_height: int
    bbox: tuple[int, int, int, int]  # head's xMin, yMin, xMax, yMax
    italic_angle: float


def read_metrics(data: bytes) -> Metrics:
    """The measures of the TrueType font in ``data`` (raises :class:`FontError`)."""
    try:
        tables = _tables(data)
        head = tables["head"]
        units_per_em = _u16(data, head + 18)
        bbox = struct.unpack_from(">4h", data, head + 36)
        long_offsets = struct.unpack_from(">h", data, head + 50)[0] == 1
        glyphs = _u16(data, tables["maxp"] + 4)
        advances = _advances(data, tables["hmtx"], _u16(data, tables["hhea"] + 34), glyphs)
        cmap = _character_map(data, tables["cmap"])
        os2 = tables["OS/2"]
        ascent, descent = struct.unpack_from(">2h", data, os2 + 68)
        cap_height = struct.unpack_from(">h", data, os2 + 88)[0] if _u16(data, os2) >= 2 else 0
        if not cap_height:  # older tables lack it: the top of the H
            cap_height = _glyph_top(data, tables, cmap[ord("H")], long_offsets)
        italic = struct.unpack_from(">i", data, tables["post"] + 4)[0] / 65536
        return Metrics(
            postscript_name=_postscript_name(data, tables["name"]),
            units_per_em=units_per_em,
            advances={code: advances[min(gid, len(advances) - 1)] for code, gid in cmap.items()},
            ascent=ascent,
            descent=descent,
            cap_height=cap_height,
            bbox=(bbox[0], bbox[1], bbox[2], bbox[3]),
            italic_angle=italic,
        )
    except (KeyError, IndexError, struct.error) as exc:
        raise FontError(f"not a TrueType font this reader knows ({exc})") from None


def _u16(data: bytes, at: int) -> int:
    value: int = struct.unpack_from(">H", data, at)[0]
    return value


def _tables(data: bytes) -> dict[str, int]:
    """Where each table begins, by its tag."""
    count = _u16(data, 4)
    found = {}
    for n in range(count):
        tag, _checksum, offset, _length = struct.unpack_from(">4sIII", data, 12 + 16 * n)
        found[tag.decode("latin-1")] = offset
    return found


def _advances(data: bytes, hmtx: int, long_metrics: int, glyphs: int) -> list[int]:
    """Each glyph's advance width; glyphs after the long metrics repeat the last one."""
    pairs = struct.unpack_from(f">{2 * long_metrics}H", data, hmtx)
    advances = list(pairs[0::2])
    return advances + [advances[-1]] * max(0, glyphs - long_metrics)


def _character_map(data: bytes, cmap: int) -> dict[int, int]:
    """Code point: glyph id, from the best Unicode subtable (format 4 or 12)."""
    count = _u16(data, cmap + 2)
    subtables: dict[tuple[int, int], int] = {}
    for n in range(count):
        platform, encoding, offset = struct.unpack_from(">HHI", data, cmap + 4 + 8 * n)
        subtables.setdefault((platform, encoding), cmap + offset)
    for key in _CMAPS:
        if key in subtables:
            at = subtables[key]
            kind = _u16(data, at)
            if kind == 12:
                return _format_12(data, at)
            if kind == 4:
                return _format_4(data, at)
            raise FontError(f"cmap subtable {key} has format {kind}, which is not read here")
    raise FontError("no Unicode cmap subtable")


def _format_12(data: bytes, at: int) -> dict[int, int]:
    groups = struct.unpack_from(">I", data, at + 12)[0]
    found: dict[int, int] = {}
    for start, end, glyph in struct.iter_unpack(">III", data[at + 16 : at + 16 + 12 * groups]):
        found.update(zip(range(start, end + 1), range(glyph, glyph + end - start + 1), strict=True))
    return found


def _format_4(data: bytes, at: int) -> dict[int, int]:
    segments = _u16(data, at + 6) // 2
    ends = struct.unpack_from(f">{segments}H", data, at + 14)
    starts = struct.unpack_from(f">{segments}H", data, at + 16 + 2 * segments)
    deltas = struct.unpack_from(f">{segments}h", data, at + 16 + 4 * segments)
    range_at = at + 16 + 6 * segments
    ranges = struct.unpack_from(f">{segments}H", data, range_at)
    found: dict[int, int] = {}
    for n, (start, end, delta, offset) in enumerate(zip(starts, ends, deltas, ranges, strict=True)):
        for code in range(start, end + 1):
            if code == 0xFFFF:
                continue
            if offset == 0:
                glyph = (code + delta) & 0xFFFF
            else:
                glyph = _u16(data, range_at + 2 * n + offset + 2 * (code - start))
                glyph = (glyph + delta) & 0xFFFF if glyph else 0
            if glyph:  # glyph 0 is .notdef: the character is not in the font
                found[code] = glyph
    return found


def _glyph_top(data: bytes, tables: dict[str, int], glyph: int, long_offsets: bool) -> int:
    """The yMax of a glyph's outline (``loca`` and ``glyf``)."""
    loca = tables["loca"]
    if long_offsets:
        offset = struct.unpack_from(">I", data, loca + 4 * glyph)[0]
    else:
        offset = 2 * _u16(data, loca + 2 * glyph)
    top: int = struct.unpack_from(">h", data, tables["glyf"] + offset + 8)[0]
    return top


def _postscript_name(data: bytes, name: int) -> str:
    """Name 6, from the Windows English record, else the Macintosh Roman one."""
    count, strings = struct.unpack_from(">2xHH", data, name)
    records = {}
    for n in range(count):
        platform, encoding, language, name_id, length, offset = struct.unpack_from(
            ">6H", data, name + 6 + 12 * n
        )
        if name_id == 6:
            text = data[name + strings + offset : name + strings + offset + length]
            records[(platform, encoding, language)] = text
    if (3, 1, 0x409) in records:
        return records[(3, 1, 0x409)].decode("utf-16-be")
    if (1, 0, 0) in records:
        return records[(1, 0, 0)].decode("mac-roman")
    raise FontError("the font has no PostScript name")
