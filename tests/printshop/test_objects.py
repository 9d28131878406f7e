"""Objects shared across a batch's files: read by their own bytes, never by their numbers."""

from __future__ import annotations

import io
import math
import re
from pathlib import Path
from typing import Any

import pypdf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf.generic import IndirectObject, StreamObject

from faxbatch.letters.layout import FAX_HEADER_ZONE
from faxbatch.printshop.objects import ObjectCache, SharingReader
from faxbatch.printshop.preflight import (
    _SPACED,
    _plain_operations,
    _spaced_operations,
    _token_operations,
    page_marks,
    run_preflight,
)
from faxbatch.printshop.rules import PRINTABLE_MARGIN, Mark, PageRules, check_marks, marks_clear
from tests.builders import LONG_BODY, build_folder


def _plain(obj: Any, reader: pypdf.PdfReader) -> Any:
    """An object as nested tuples (types, values, references by number) to compare readers."""
    if isinstance(obj, IndirectObject):
        assert obj.pdf is reader  # bound to the file it was read from
        return ("R", obj.idnum, obj.generation)
    if isinstance(obj, dict):
        items = [(str(k), _plain(v, reader)) for k, v in obj.items()]
        data = obj._data if isinstance(obj, StreamObject) else None
        return (type(obj).__name__, items, data)
    if isinstance(obj, list):
        return (type(obj).__name__, [_plain(v, reader) for v in obj])
    return (type(obj).__name__, repr(obj))


def _objects(reader: pypdf.PdfReader, count: int) -> list[Any]:
    found = []
    for number in range(1, count):
        try:
            found.append(_plain(reader.get_object(number), reader))
        except Exception as exc:
            found.append(("raises", type(exc).__name__))
    return found


def _same_as_pypdf(data: bytes, shared: ObjectCache) -> None:
    sharing, plain = SharingReader(data, shared), pypdf.PdfReader(io.BytesIO(data))
    count = max((max(x) for x in plain.xref.values() if x), default=0) + 20
    assert _objects(sharing, count) == _objects(plain, count)
    assert len(sharing.pages) == len(plain.pages)
    for mine, theirs in zip(sharing.pages, plain.pages, strict=True):
        assert page_marks(sharing, mine) == page_marks(plain, theirs)


@pytest.fixture
def faxes(tmp_path: Path) -> list[bytes]:
    build_folder(tmp_path, body=LONG_BODY)
    return [path.read_bytes() for path in sorted((tmp_path / "faxes").glob("*.pdf"))]


def test_shared_objects_are_the_objects_pypdf_reads(faxes: list[bytes]) -> None:
    shared = ObjectCache()
    for data in faxes + faxes:  # the second time, from what the first shared
        _same_as_pypdf(data, shared)
    assert shared.templates
    reader = SharingReader(faxes[0], shared)
    fonts = reader.pages[0]["/Resources"]["/Font"]
    assert all(reader.closure(ref) is not None for ref in fonts.values())


def _widths_changed(data: bytes) -> bytes:
    """The first /W array's widths made wider (same length: the xref stays right)."""
    match = re.search(rb"/W \[0 \[([\d ]+)\]", data)
    assert match is not None
    wider = re.sub(rb"\d", b"9", match.group(1))
    return data[: match.start(1)] + wider + data[match.end(1) :]


def _xref_lies(data: bytes) -> bytes:
    """The xref places object 4 where object 3 lies (pypdf then looks for it in the file)."""
    table = re.search(rb"xref\s+0 \d+\s+", data)
    assert table is not None
    entries = [table.end() + 20 * n for n in range(5)]  # 20 bytes each (ISO 32000-1, 7.5.4)
    third, fourth = entries[3], entries[4]
    return data[:fourth] + data[third : third + 10] + data[fourth + 10 :]


def _endobj_in_a_stream(data: bytes) -> bytes:
    """An uncompressed stream's data holding ``endobj`` (a text that ends early)."""
    at = data.index(b"stream\n") + len(b"stream\n")
    return data[:at] + b"endobj" + data[at + 6 :]


def _overlapping(data: bytes) -> bytes:
    """Object 5's header where object 6 starts: two xref entries, one text."""
    head = re.search(rb"\n6 0 obj", data)
    assert head is not None
    return data[: head.start() + 1] + b"5" + data[head.start() + 2 :]


@pytest.mark.parametrize("damage", [_widths_changed, _xref_lies, _endobj_in_a_stream, _overlapping])
def test_a_damaged_file_reads_as_pypdf_reads_it_after_sound_ones(
    faxes: list[bytes], damage: Any
) -> None:
    shared = ObjectCache()
    for data in faxes:
        _same_as_pypdf(data, shared)
    damaged = damage(faxes[0])
    assert damaged != faxes[0]
    _same_as_pypdf(damaged, shared)


def test_an_altered_font_is_checked_by_its_own_content(tmp_path: Path) -> None:
    build_folder(tmp_path, body=LONG_BODY)
    first, second = sorted((tmp_path / "faxes").glob("*.pdf"))[:2]
    data = second.read_bytes()
    assert data.count(b"/FontFile2") == 2  # the same fonts as the first file's, byte for byte
    second.write_bytes(data.replace(b"/FontFile2", b"/FontFileX", 1))  # one not embedded
    one = run_preflight(tmp_path, workers=1)
    assert run_preflight(tmp_path, workers=2) == one
    unembedded = [f for f in one if "is not embedded" in f]
    assert unembedded, one
    assert all(f.startswith(f"faxes/{second.name}") for f in unembedded), one
    assert not any(f.startswith(f"faxes/{first.name}") for f in one), one


def test_a_wider_font_changes_the_marks_of_its_own_file_only(faxes: list[bytes]) -> None:
    shared = ObjectCache()
    sound = SharingReader(faxes[0], shared)
    before = [page_marks(sound, page) for page in sound.pages]
    wider = SharingReader(_widths_changed(faxes[0]), shared)
    after = [page_marks(wider, page) for page in wider.pages]
    assert after != before
    again = SharingReader(faxes[0], shared)
    assert [page_marks(again, page) for page in again.pages] == before


# -- pages whose marks are all clear: the rules are not asked to word them --------------------
_LOW = PRINTABLE_MARGIN - 0.05
_EDGES = [
    _LOW,
    math.nextafter(_LOW, 0),
    595.28 - _LOW,
    math.nextafter(595.28 - _LOW, 1e9),
    841.89 - _LOW,
    841.89 - FAX_HEADER_ZONE + 0.05,
    math.nextafter(841.89 - FAX_HEADER_ZONE + 0.05, 1e9),
    math.inf,
    -math.inf,
    100.0,
]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.tuples(*[st.one_of(st.floats(allow_nan=True), st.sampled_from(_EDGES))] * 4),
        max_size=6,
    ),
    st.booleans(),
)
def test_marks_found_clear_are_clear_to_the_rules(
    boxes: list[tuple[float, float, float, float]], fax: bool
) -> None:
    width, height = 595.28, 841.89
    marks = [Mark("text", x0, y0, x1, y1, "a") for x0, y0, x1, y1 in boxes]
    rules = PageRules("A4", fax=fax)
    clear = marks_clear(marks, width, height, fax, PRINTABLE_MARGIN)
    found = check_marks(marks, width, height, rules, "", PRINTABLE_MARGIN)
    if clear:
        assert found == []
    if all(math.isfinite(v) for box in boxes for v in box):
        assert clear == (found == [])  # and no page the rules pass is worded for nothing


# -- content streams whose tokens are all apart: split, not matched one by one ------------------
_TOKENS = [
    *["0", "1", "12", "1.5", ".5", "5.", "+3", "-2.25", "-", "+", ".", "1.2.3", "1e5", "1_0"],
    *["<>", "<0a1B>", "<abc>", "<a b>", "<g>", "<1", "/", "/FR", "/a#20", "/a/b", "/a<", "a/b"],
    *["[", "]", "[1 2]", "(x)", "%c", "true", "null", "BI", "ID", "EI", "Tm", "Tj", "TJ", "T*"],
    *["'", '"', "d0", "q", "Q", "BT", "ET", "re", "0g", "g0", "\x00", "\xe9"],
]
_APART = ["", " ", "  ", "\n", "\r\n", "\t", "\x0c", "\x0b", "\x00"]


@settings(max_examples=600, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_TOKENS), st.sampled_from(_APART)), max_size=14))
def test_spaced_streams_tokenise_as_the_token_by_token_reading(
    parts: list[tuple[str, str]],
) -> None:
    data = "".join(token + apart for token, apart in parts).encode("latin-1")
    if _SPACED.fullmatch(data) is not None:
        assert _spaced_operations(data) == _token_operations(data)
    assert _plain_operations(data) == (
        _spaced_operations(data) if _SPACED.fullmatch(data) else _token_operations(data)
    )


def test_a_letter_streams_are_spaced(faxes: list[bytes]) -> None:
    reader = pypdf.PdfReader(io.BytesIO(faxes[0]))
    for page in reader.pages:
        for ref in page["/Contents"]:
            data = ref.get_object().get_data()
            assert _SPACED.fullmatch(data) is not None
            assert _spaced_operations(data) == _token_operations(data)
