"""The workbook of text cells (numbers/workbook.py), read back by openpyxl and LibreOffice."""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
import subprocess
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from faxbatch.numbers.sheet import xml_text
from faxbatch.numbers.workbook import (
    TEXT,
    WRAPPED,
    WorkbookWriter,
    cell_text,
    column_name,
    row_xml,
)

CREATED = dt.datetime(2012, 5, 11, tzinfo=dt.UTC)
COLUMNS = [("number", 16), ("name", 28), ("note", 30)]
# texts a spreadsheet could misread: markup, an escape of its own, a carriage return, edge spaces
TRICKY = [
    ["+77272715802", 'Судья <b>Ivanov</b> & "Co"', "_x0041_x0042_ stays as typed"],
    ["0077272715802", '=HYPERLINK("http://evil")', "line one\r\nline two"],
    ["  leading", "trailing  ", "\ttab, then 😀 (outside the BMP)"],
]


def _write(path: Path, rows: list[list[str]], *, wrapped: bool = False) -> Path:
    writer = WorkbookWriter(
        path, COLUMNS, sheet="numbers", title="A & B: numbers", author="faxbatch", created=CREATED
    )
    for row in rows:
        style = WRAPPED if wrapped else TEXT
        writer.add_row(row_xml((column, text, style) for column, text in enumerate(row)))
    writer.close()
    return path


def test_column_names() -> None:
    names = {0: "A", 25: "Z", 26: "AA", 51: "AZ", 52: "BA", 701: "ZZ", 702: "AAA"}
    assert {index: column_name(index) for index in names} == names


def test_cell_text_escapes_only_what_it_must() -> None:
    assert cell_text("Almaty 271-58-02") == "Almaty 271-58-02"
    assert cell_text("a < b & c > d") == "a &lt; b &amp; c &gt; d"
    assert cell_text("_x0041_") == "_x005F_x0041_"
    assert cell_text("_x0041_x0042_") == "_x005F_x0041_x005F_x0042_"  # they overlap
    assert cell_text("snake_case_x") == "snake_case_x"
    assert cell_text("a\rb") == "a_x000D_b"
    assert cell_text("a\x00b") == "ab"  # not XML (and it stands for the row's number)
    # a cell holds 32,767 UTF-16 units at most; an astral character is two of them
    assert len(cell_text("x" * 40_000)) == 32_767
    assert len(cell_text("😀" * 20_000).encode("utf-16-le")) == 2 * 32_766


def _as_a_spreadsheet_reads(xml_value: str) -> str:
    """A cell's text as Excel and LibreOffice read it: each _xHHHH_ is its character."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda found: chr(int(found[1], 16)), xml_value)


@settings(max_examples=300, deadline=None)
@given(
    st.text(st.characters(codec="utf-8"), max_size=60)
    | st.text(st.sampled_from("_x005F0041Aa\r\n &<>"), max_size=40)  # escapes and their parts
)
def test_any_text_comes_back_as_written(text: str) -> None:
    # what the sheet hands over: the text without the characters XML cannot hold
    text = xml_text(text)
    row = row_xml([(0, text, TEXT)]).replace("\x00", "2")
    element = ElementTree.fromstring(f'<sheetData xmlns="urn:x">{row}</sheetData>')
    shown = "".join(element.itertext())
    assert _as_a_spreadsheet_reads(shown) == text


def test_openpyxl_reads_every_cell_as_its_text(tmp_path: Path) -> None:
    path = _write(tmp_path / "book.xlsx", TRICKY)
    book = openpyxl.load_workbook(path)
    sheet = book.active
    assert sheet.title == "numbers"
    assert book.properties.title == "A & B: numbers"
    assert book.properties.created == CREATED.replace(tzinfo=None)
    assert [cell.value for cell in sheet[1]] == [name for name, _ in COLUMNS]
    assert all(cell.font.b for cell in sheet[1])
    # openpyxl leaves the spreadsheet escapes of inline strings as they stand (Excel and
    # LibreOffice read them: see the LibreOffice test below)
    read = [
        [_as_a_spreadsheet_reads(cell.value) for cell in row] for row in sheet.iter_rows(min_row=2)
    ]
    assert read == TRICKY
    for row in sheet.iter_rows():
        for cell in row:
            assert cell.data_type == "s" and cell.number_format == "@", cell.coordinate
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:C4"
    assert sheet.dimensions == "A1:C4"
    assert sheet.column_dimensions["B"].width == pytest.approx(28.71, abs=0.01)


def test_a_text_of_nothing_xml_holds_is_a_blank_cell() -> None:
    assert row_xml([(2, "\x00", TEXT)]) == '<row r="\x00"><c r="C\x00" s="2"/></row>'


def test_an_empty_text_is_a_blank_cell_formatted_as_text(tmp_path: Path) -> None:
    path = _write(tmp_path / "book.xlsx", [["+77272715802", "", ""]], wrapped=True)
    sheet = openpyxl.load_workbook(path).active
    blank = sheet["C2"]
    assert blank.value is None
    assert blank.number_format == "@" and blank.alignment.wrap_text


def test_the_archive_is_well_formed_and_the_same_for_the_same_rows(tmp_path: Path) -> None:
    one = _write(tmp_path / "one.xlsx", TRICKY)
    two = _write(tmp_path / "two.xlsx", TRICKY)
    assert one.read_bytes() == two.read_bytes()
    assert not list(tmp_path.glob("*.rows"))  # the rows' part file went
    with zipfile.ZipFile(one) as archive:
        assert archive.testzip() is None
        assert archive.namelist()[0] == "[Content_Types].xml"
        for name in archive.namelist():
            ElementTree.fromstring(archive.read(name))
            assert archive.getinfo(name).date_time == (1980, 1, 1, 0, 0, 0)


def test_abort_leaves_the_part_file_closed(tmp_path: Path) -> None:
    writer = WorkbookWriter(
        tmp_path / "book.xlsx", COLUMNS, sheet="s", title="t", author="a", created=CREATED
    )
    writer.add_row(row_xml([(0, "x", TEXT)]))
    writer.abort()
    (tmp_path / "book.xlsx.rows").unlink()  # closed: nothing holds it
    assert not (tmp_path / "book.xlsx").exists()


@pytest.mark.skipif(not shutil.which("soffice"), reason="LibreOffice (soffice) is not installed")
def test_libreoffice_opens_the_workbook_and_shows_the_text(tmp_path: Path) -> None:
    path = _write(tmp_path / "book.xlsx", TRICKY)
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{tmp_path}/lo-profile",
            "--headless",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76",
            "--outdir",
            str(tmp_path / "lo"),
            str(path),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    with (tmp_path / "lo/book.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == [name for name, _ in COLUMNS]
    # LibreOffice writes a cell's line ends as LF
    assert rows[1:] == [[text.replace("\r\n", "\n") for text in row] for row in TRICKY]
