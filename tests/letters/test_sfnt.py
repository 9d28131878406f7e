"""letters/sfnt: a face's measures as fontTools reads them, for every face faxbatch ships."""

from __future__ import annotations

import struct
from importlib import resources

import pytest
from fontTools.ttLib import TTFont

from faxbatch.letters import sfnt
from faxbatch.letters.fonts import _FILES
from faxbatch.letters.sfnt import FontError, read_metrics

FACES = sorted(_FILES.values())


def _data(name: str) -> bytes:
    return (resources.files("faxbatch.letters") / "fonts" / name).read_bytes()


@pytest.mark.parametrize("name", FACES)
def test_every_measure_is_the_one_fonttools_reads(name: str) -> None:
    data = _data(name)
    font = TTFont(resources.files("faxbatch.letters") / "fonts" / name)
    metrics = read_metrics(data)
    hmtx = font["hmtx"].metrics
    expected = {code: hmtx[glyph][0] for code, glyph in font.getBestCmap().items()}
    assert metrics.advances == expected
    assert len(expected) > 5000  # Latin, Cyrillic, Greek, Arabic...
    assert metrics.postscript_name == font["name"].getDebugName(6)
    assert metrics.units_per_em == font["head"].unitsPerEm
    head = font["head"]
    assert metrics.bbox == (head.xMin, head.yMin, head.xMax, head.yMax)
    os2 = font["OS/2"]
    assert (metrics.ascent, metrics.descent) == (os2.sTypoAscender, os2.sTypoDescender)
    cap = getattr(os2, "sCapHeight", 0) or font["glyf"]["H"].yMax
    assert metrics.cap_height == cap
    assert metrics.italic_angle == font["post"].italicAngle


@pytest.mark.parametrize("name", FACES)
def test_the_format_4_map_reads_as_fonttools_reads_it(name: str) -> None:
    # the shipped faces are read by their format 12 map; their format 4 one must agree too
    data = _data(name)
    font = TTFont(resources.files("faxbatch.letters") / "fonts" / name)
    table = sfnt._tables(data)["cmap"]
    count = struct.unpack_from(">H", data, table + 2)[0]
    for n in range(count):
        platform, encoding, offset = struct.unpack_from(">HHI", data, table + 4 + 8 * n)
        if (platform, encoding) == (3, 1):
            read = sfnt._format_4(data, table + offset)
            order = font.getGlyphOrder()
            expected = font["cmap"].getcmap(3, 1).cmap
            assert {code: order[glyph] for code, glyph in read.items()} == expected
            return
    pytest.fail("no format 4 map")


def test_a_file_that_is_no_font_is_a_font_error() -> None:
    with pytest.raises(FontError):
        read_metrics(b"\0\1\0\0" + b"\0" * 8)
    with pytest.raises(FontError):
        read_metrics(b"")
