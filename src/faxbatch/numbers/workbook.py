"""A workbook of text cells, written a row at a time: ``numbers.xlsx``.

One sheet, its first row a bold header that stays in view (frozen) and carries the filter; every
cell a text cell (an inline string with the number format Text, ``@``), so that a spreadsheet
shows ``+77272715802`` and ``0077272715802`` as they are written and never as numbers or
formulas. Empty cells of the columns volunteers fill in exist, formatted as text for what is
typed into them.

The rows go to a part file beside the workbook as they come (memory stays flat for any batch);
``close`` puts the package together: a zip archive of the parts of SpreadsheetML (ECMA-376) that
such a sheet needs, in a fixed order, dated 1980-01-01, the document dated by the caller, so the
same rows give the same bytes. Rows are formatted apart from their place (:func:`row_xml`), in
whichever process makes them; the writer only numbers and writes them.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
import zipfile
from collections.abc import Iterable, Sequence
from html import escape
from pathlib import Path

__all__ = ["HEADER", "TEXT", "WRAPPED", "WorkbookWriter", "cell_text", "column_name", "row_xml"]

#: cell styles (indexes into the workbook's cellXfs)
HEADER, TEXT, WRAPPED = 1, 2, 3

#: stands for the row's number in a row formatted by :func:`row_xml` (U+0000 is not XML text,
#: so no cell's text holds it)
_ROW = "\x00"
# a spreadsheet reads _xHHHH_ in a cell as the character HHHH: an _ that would begin one is
# written as _x005F_ (each such _, also where two overlap, as in _x0041_x0042_)
_ESCAPE_LIKE = re.compile(r"_(?=x[0-9A-Fa-f]{4}_)")
_PLAIN = re.compile(r"[^&<>\r_\x00]*")
_MAX_UTF16 = 32767  # the longest text a cell holds (UTF-16 code units)
_DATE = (1980, 1, 1, 0, 0, 0)  # every archive entry's date (the zip format's earliest)

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def column_name(index: int) -> str:
    """The letters of a column (0: A, 26: AA)."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def cell_text(text: str) -> str:
    """A cell's text as it stands in the sheet's XML (cut to what a cell holds).

    ``text`` holds only characters XML allows; ``&``, ``<`` and ``>`` are escaped, a carriage
    return and anything that reads as a spreadsheet escape (``_x0041_``) are written as
    escapes, so that the cell shows the text as given.
    """
    if len(text) > _MAX_UTF16 // 2 and len(text.encode("utf-16-le")) > 2 * _MAX_UTF16:
        text = text.encode("utf-16-le")[: 2 * _MAX_UTF16].decode("utf-16-le", "ignore")
    if _PLAIN.fullmatch(text):
        return text
    text = text.replace(_ROW, "")  # not XML, and it would stand for the row's number
    if "_" in text:
        text = _ESCAPE_LIKE.sub("_x005F_", text)
    return escape(text, quote=False).replace("\r", "_x000D_")


def row_xml(cells: Iterable[tuple[int, str, int]]) -> str:
    """A row of cells, each (column, text, style); an empty text makes a blank cell of its style.

    The row's number is filled in by :meth:`WorkbookWriter.add_row`.
    """
    parts = [f'<row r="{_ROW}">']
    for column, text, style in cells:
        ref = column_name(column) + _ROW
        value = cell_text(text)
        if not value:
            parts.append(f'<c r="{ref}" s="{style}"/>')
            continue
        space = ' xml:space="preserve"' if value[0].isspace() or value[-1].isspace() else ""
        parts.append(f'<c r="{ref}" s="{style}" t="inlineStr"><is><t{space}>{value}</t></is></c>')
    parts.append("</row>")
    return "".join(parts)


class WorkbookWriter:
    """Writes a one-sheet workbook of text cells at ``path``, a row at a time.

    ``columns`` are (header, width in characters); the header is the first row.
    """

    def __init__(
        self,
        path: Path,
        columns: Sequence[tuple[str, float]],
        *,
        sheet: str,
        title: str,
        author: str,
        created: dt.datetime,
    ) -> None:
        self.path = path
        self.columns = tuple(columns)
        self.sheet = sheet
        self.title = title
        self.author = author
        self.created = created
        self.rows = 0
        self._part = path.with_name(path.name + ".rows")
        self._rows = self._part.open("w", encoding="utf-8", newline="\n")
        self.add_row(row_xml((i, name, HEADER) for i, (name, _width) in enumerate(self.columns)))

    def add_row(self, row: str) -> None:
        """The next row, as :func:`row_xml` formatted it."""
        self.rows += 1
        self._rows.write(row.replace(_ROW, str(self.rows)))

    def close(self) -> None:
        """Write the workbook (and remove the part file of its rows)."""
        self._rows.close()
        last = f"{column_name(len(self.columns) - 1)}{self.rows}"
        parts = {
            "[Content_Types].xml": _content_types(),
            "_rels/.rels": _package_rels(),
            "docProps/app.xml": _app(self.sheet),
            "docProps/core.xml": _core(self.title, self.author, self.created),
            "xl/workbook.xml": _workbook(self.sheet, last),
            "xl/_rels/workbook.xml.rels": _workbook_rels(),
            "xl/styles.xml": _STYLES,
        }
        with zipfile.ZipFile(self.path, "w") as archive:
            for name, text in parts.items():
                archive.writestr(_entry(name), text.encode("utf-8"))
            with archive.open(_entry("xl/worksheets/sheet1.xml"), "w") as sheet:
                head, tail = _sheet_ends(self.columns, last)
                sheet.write(head.encode("utf-8"))
                with self._part.open("rb") as rows:
                    shutil.copyfileobj(rows, sheet, 1 << 20)
                sheet.write(tail.encode("utf-8"))
        self._part.unlink()

    def abort(self) -> None:
        """Close the part file unfinished (the caller's folder goes with it)."""
        self._rows.close()


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, _DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def _width(characters: float) -> float:
    # what a spreadsheet stores for a column as wide as ``characters`` digits (7 pixels each,
    # 5 of padding), in 1/256 of a character
    return int((characters * 7 + 5) / 7 * 256) / 256


def _sheet_ends(columns: Sequence[tuple[str, float]], last: str) -> tuple[str, str]:
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{_width(width)}" customWidth="1"/>'
        for i, (_name, width) in enumerate(columns, 1)
    )
    head = (
        f'{_HEAD}<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}"><dimension ref="A1:{last}"/>'
        '<sheetViews><sheetView tabSelected="1" workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft"/></sheetView></sheetViews>'
        f'<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols><sheetData>'
    )
    tail = (
        f'</sheetData><autoFilter ref="A1:{last}"/><pageMargins left="0.7" right="0.7" '
        'top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>'
    )
    return head, tail


def _content_types() -> str:
    types = "application/vnd.openxmlformats-"
    overrides = (
        ("/xl/workbook.xml", "officedocument.spreadsheetml.sheet.main+xml"),
        ("/xl/worksheets/sheet1.xml", "officedocument.spreadsheetml.worksheet+xml"),
        ("/xl/styles.xml", "officedocument.spreadsheetml.styles+xml"),
        ("/docProps/core.xml", "package.core-properties+xml"),
        ("/docProps/app.xml", "officedocument.extended-properties+xml"),
    )
    return (
        f'{_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        f'<Default Extension="rels" ContentType="{types}package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        + "".join(f'<Override PartName="{n}" ContentType="{types}{t}"/>' for n, t in overrides)
        + "</Types>"
    )


def _relationships(targets: Sequence[tuple[str, str]]) -> str:
    return (
        f'{_HEAD}<Relationships xmlns="{_PACKAGE_REL}">'
        + "".join(
            f'<Relationship Id="rId{i}" Type="{kind}" Target="{target}"/>'
            for i, (kind, target) in enumerate(targets, 1)
        )
        + "</Relationships>"
    )


def _package_rels() -> str:
    return _relationships(
        [
            (f"{_REL}/officeDocument", "xl/workbook.xml"),
            (f"{_PACKAGE_REL}/metadata/core-properties", "docProps/core.xml"),
            (f"{_REL}/extended-properties", "docProps/app.xml"),
        ]
    )


def _workbook_rels() -> str:
    return _relationships(
        [(f"{_REL}/worksheet", "worksheets/sheet1.xml"), (f"{_REL}/styles", "styles.xml")]
    )


def _app(sheet: str) -> str:
    return (
        f'{_HEAD}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
        'extended-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/'
        'docPropsVTypes"><Application>faxbatch</Application><TitlesOfParts>'
        '<vt:vector size="1" baseType="lpstr">'
        f"<vt:lpstr>{escape(sheet, quote=False)}</vt:lpstr></vt:vector>"
        "</TitlesOfParts></Properties>"
    )


def _core(title: str, author: str, created: dt.datetime) -> str:
    stamp = created.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f'{_HEAD}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
        'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{escape(title, quote=False)}</dc:title>"
        f"<dc:creator>{escape(author, quote=False)}</dc:creator>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified>'
        "</cp:coreProperties>"
    )


def _workbook(sheet: str, last: str) -> str:
    dollars = re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", last)
    quoted = "'" + sheet.replace("'", "''") + "'"
    return (
        f'{_HEAD}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><bookViews><workbookView/>'
        f'</bookViews><sheets><sheet name="{escape(sheet)}" sheetId="1" r:id="rId1"/></sheets>'
        '<definedNames><definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">'
        f"{escape(quoted, quote=False)}!$A$1:{dollars}</definedName></definedNames></workbook>"
    )


_FONT = '<sz val="11"/><name val="Calibri"/><family val="2"/>'
_STYLES = (
    f'{_HEAD}<styleSheet xmlns="{_MAIN}">'
    f'<fonts count="2"><font>{_FONT}</font><font><b/>{_FONT}</font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    # 49 is the built-in number format Text (@)
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="49" fontId="1" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" '
    'applyFont="1"/>'
    '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" '
    'applyAlignment="1"><alignment vertical="top" wrapText="1"/></xf></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
