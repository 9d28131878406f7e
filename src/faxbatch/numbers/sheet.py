"""The volunteers' number sheet: every number, how it was judged, when to call, what was found.

Three files with the same rows, one per number (a recipient without a fax number gets a row too):

- ``numbers.csv``: UTF-8 with a byte-order mark (Excel then reads Cyrillic right) and CRLF line
  ends. A cell a spreadsheet would turn into a number, a date or a formula (``+77272715802``
  becomes 7.72727E+10, ``0077…`` loses its zeros, ``=…`` runs) is written as the formula
  ``="+77272715802"``, whose value is that text: Excel, LibreOffice and Google Sheets show the
  number as written, and saving the sheet as CSV writes the plain text back.
- ``numbers.xlsx``: every cell a text cell with the Text number format, written a row at a time
  (any number of rows, see :mod:`faxbatch.numbers.workbook`); the surest way for spreadsheet
  users. The file is the same, byte for byte, for the same rows and day.
- ``numbers.html``: one self-contained page to print on A4 or use on a phone: each usable number a
  ``tel:`` link, with place, type, time zone, the next office-hours window, verdict, reasons and
  what volunteers found; one card per number on a phone, a table on a wide screen. Result buttons
  record what a volunteer found in the browser (local storage) and "Download verification.csv"
  writes the sheet ``check`` reads; each window is also shown in the browser's own time zone. A
  small script in the page does this (no network: the page's Content-Security-Policy forbids it);
  every campaign text is escaped and reaches the script only as data attributes. The page holds
  the first :data:`HTML_LIMIT` numbers and says so when there are more (the CSV and the workbook
  hold them all): split a bigger campaign among callers by its recipients file.

:class:`SheetWriter` writes the three files as the recipients come, each row once, so that a batch
of 50,000 recipients needs no more memory for its sheet than one of 50.

The sheet's ``number``, ``result``, ``date``, ``by`` and ``note`` columns are those of
``verification.csv``: volunteers fill in the last four and save the sheet under that name.

Characters XML 1.0 cannot hold (most C0 controls, U+FFFE, U+FFFF, lone surrogates) are dropped from
the workbook and the page (HTML's C1 controls and noncharacters too): one such character in a name
would make the whole file unreadable.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import IO

from faxbatch import __version__
from faxbatch.campaign.model import Campaign, Recipient
from faxbatch.csvcells import csv_row, spreadsheet_safe
from faxbatch.numbers.caller import Caller
from faxbatch.numbers.reading import NumberReading
from faxbatch.numbers.scripts import CallScript, call_scripts
from faxbatch.numbers.verification import Verification
from faxbatch.numbers.windows import Window, format_utc
from faxbatch.numbers.workbook import TEXT, WRAPPED, WorkbookWriter, row_xml

__all__ = [
    "COLUMNS",
    "CSV_NAME",
    "HTML_LIMIT",
    "HTML_NAME",
    "XLSX_NAME",
    "NumberRow",
    "SheetPart",
    "SheetWriter",
    "sheet_files",
    "sheet_part",
    "spreadsheet_safe",
]

CSV_NAME = "numbers.csv"
XLSX_NAME = "numbers.xlsx"
HTML_NAME = "numbers.html"
#: the numbers ``numbers.html`` holds at most (a page of more is slow to open on a phone)
HTML_LIMIT = 5_000

#: the sheet's columns, in order (the CSV's header row and the workbook's first row)
COLUMNS = (
    "recipient_id",
    "recipient",
    "organization",
    "channel",
    "in_use",
    "raw",
    "number",
    "international",
    "dial_string",
    "verdict",
    "reasons",
    "type",
    "place",
    "region",
    "time_zone",
    "office_hours",
    "window_start_local",
    "window_end_local",
    "window_start_utc",
    "window_end_utc",
    "call_script",
    "call_script_latin",
    "verification",
    "result",
    "date",
    "by",
    "note",
)

_NO_FAX = "No fax number is given; add one under 'fax' to send this letter."


@dataclass(frozen=True)
class NumberRow:
    """One number of one recipient, as the sheet shows it."""

    recipient: Recipient
    channel: str  # "fax" or "phone"
    reading: NumberReading | None  # None: the recipient has no fax number at all
    in_use: bool = False  # the number the recipient's fax goes to
    window: Window | None = None
    time_zones: tuple[str, ...] = ()
    verification: Verification | None = None

    @classmethod
    def missing(cls, recipient: Recipient) -> NumberRow:
        """The row of a recipient that has no fax number."""
        return cls(recipient=recipient, channel="fax", reading=None)

    @property
    def recipient_id(self) -> str:
        """The recipient's id."""
        return self.recipient.id

    @property
    def usable(self) -> bool:
        """Whether the number may be dialled."""
        return self.reading is not None and self.reading.usable

    @property
    def raw(self) -> str:
        """The number as the campaign wrote it."""
        return (self.reading.written or self.reading.raw) if self.reading else ""

    @property
    def e164(self) -> str:
        """``+77272715802``, or empty when the number cannot be read."""
        return (self.reading.e164 or "") if self.reading else ""

    @property
    def verdict(self) -> str:
        """``ok``, ``warning``, ``refused``, ``invalid``; empty for a missing number."""
        return str(self.reading.verdict) if self.reading else ""

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why the number got its verdict, in sentences."""
        return self.reading.reasons if self.reading else (_NO_FAX,)

    @property
    def reason_text(self) -> str:
        """The reasons joined."""
        return "; ".join(self.reasons)

    @property
    def verified_on(self) -> str:
        """The date of the finding that counts, YYYY-MM-DD."""
        return self.verification.finding.date.isoformat() if self.verification else ""

    @property
    def tel_uri(self) -> str | None:
        """``tel:+77172745524;ext=12`` (RFC 3966) for a usable number, else None."""
        if not self.usable or not self.e164:
            return None
        extension = self.reading.extension if self.reading else None
        return f"tel:{self.e164}" + (f";ext={extension}" if extension else "")

    def values(self, office_hours: str) -> dict[str, str]:
        """The row's text per column."""
        reading, window, found = self.reading, self.window, self.verification
        recipient = self.recipient
        finding = found.finding if found else None
        start_local, end_local, start_utc, end_utc = _window_columns(window)
        return {
            "recipient_id": recipient.id,
            "recipient": recipient.display_name,
            "organization": recipient.organization,
            "channel": self.channel,
            "in_use": "yes" if self.in_use else "",
            "raw": self.raw,
            "number": self.e164,
            "international": (reading.international or "") if reading else "",
            "dial_string": (reading.dial_string or "") if reading else "",
            "verdict": self.verdict,
            "reasons": self.reason_text,
            "type": (reading.number_type or "") if reading else "",
            "place": (reading.location or "") if reading else "",
            "region": (reading.region or "") if reading else "",
            "time_zone": window.time_zone if window else ", ".join(self.time_zones),
            "office_hours": office_hours,
            "window_start_local": start_local,
            "window_end_local": end_local,
            "window_start_utc": start_utc,
            "window_end_utc": end_utc,
            "verification": found.status if found else "",
            "result": finding.result if finding else "",
            "date": self.verified_on,
            "by": finding.by if finding else "",
            "note": finding.note if finding else "",
        }


def _hours_of(campaign: Campaign, row: NumberRow) -> str:
    """The office hours of the row's office (its own, else the campaign's), for people."""
    return (row.recipient.office_hours or campaign.office_hours).describe()


def scripts_of(campaign: Campaign, recipient: Recipient) -> tuple[CallScript, ...]:
    """The call scripts for the recipient's office, in the language of its letter."""
    office = recipient.organization or recipient.name
    return call_scripts(campaign.language_of(recipient), office, recipient.display_name)


def _script_values(scripts: Sequence[CallScript]) -> dict[str, str]:
    """The sheet's ``call_script`` cells: each language's lines, one language a line."""
    return {
        "call_script": "\n".join(f"[{s.language}] {s.text}" for s in scripts),
        "call_script_latin": "\n".join(
            f"[{s.language}] {s.latin_text}" for s in scripts if s.latin
        ),
    }


def _window_columns(window: Window | None) -> tuple[str, str, str, str]:
    """A window's start and end in the office's time and in UTC, as the columns give them."""
    if window is None:
        return ("", "", "", "")
    # the zones in the key: equal moments in two zones would print apart
    return _columns_of(window, window.start.tzinfo, window.end.tzinfo)


@lru_cache(maxsize=1024)  # the numbers of a batch share a few windows: each is written once
def _columns_of(window: Window, *_zones: object) -> tuple[str, str, str, str]:
    return (
        window.start_local.isoformat(timespec="seconds"),
        window.end_local.isoformat(timespec="seconds"),
        format_utc(window.start),
        format_utc(window.end),
    )


def sheet_files(
    campaign: Campaign, rows: Sequence[NumberRow], now: dt.datetime, caller: Caller | None = None
) -> dict[str, bytes]:
    """The sheet's three files, by name; ``caller`` adds the caller's times and dial strings.

    For a few rows at hand (``check``'s and the tests'); a batch streams them with
    :class:`SheetWriter`.
    """
    with tempfile.TemporaryDirectory(prefix="faxbatch-sheet-") as tmp:
        folder = Path(tmp)
        with SheetWriter(folder, campaign, now, caller) as writer:
            for recipient_rows in _by_recipient(rows):
                writer.add(recipient_rows)
        return {name: (folder / name).read_bytes() for name in writer.names}


def _by_recipient(rows: Iterable[NumberRow]) -> list[list[NumberRow]]:
    """The rows of each recipient together, in the order the recipients first come."""
    grouped: dict[str, list[NumberRow]] = {}
    for row in rows:
        grouped.setdefault(row.recipient_id, []).append(row)
    return list(grouped.values())


@dataclass(frozen=True)
class SheetPart:
    """One recipient's part of the three files, formatted, for :meth:`SheetWriter.add_part`.

    Made where the recipient's documents are made (on every core); the writer only writes it.
    """

    #: the CSV's cells, a row per number
    csv_rows: tuple[tuple[str, ...], ...]
    #: the workbook's rows, one per number (see :func:`workbook_row`)
    workbook_rows: tuple[str, ...]
    #: the page's part (None: the page holds no more numbers)
    html: str | None
    rows: int
    usable: int


def sheet_part(
    campaign: Campaign, rows: Sequence[NumberRow], caller: Caller, *, html: bool = True
) -> SheetPart:
    """One recipient's rows (all of the same recipient) as the sheet's files show them."""
    scripts = scripts_of(campaign, rows[0].recipient) if any(r.e164 for r in rows) else ()
    csv_rows = []
    workbook_rows = []
    for row in rows:
        values = _table_row(campaign, row, scripts)
        csv_rows.append(tuple(csv_row(values, COLUMNS, spreadsheet_safe)))
        workbook_rows.append(workbook_row(values))
    return SheetPart(
        tuple(csv_rows),
        tuple(workbook_rows),
        _recipient_html(campaign, rows, caller, scripts) if html else None,
        len(rows),
        sum(1 for row in rows if row.usable),
    )


def _table_row(campaign: Campaign, row: NumberRow, scripts: Sequence[CallScript]) -> dict[str, str]:
    """The row's text per column of the CSV and the workbook (``scripts``: its recipient's)."""
    return row.values(_hours_of(campaign, row)) | _script_values(scripts if row.e164 else ())


class SheetWriter:
    """The sheet's three files written into ``folder`` as the recipients come.

    ``add`` takes the rows of one recipient (its fax numbers, then its phones), ``close`` (or the
    end of the ``with`` block) finishes the files. Memory stays flat: the CSV is written row by
    row, the workbook's and the page's rows go to part files, and what counts them (the page's
    head, the workbook's extent) is written around them at the end.
    """

    def __init__(
        self,
        folder: Path,
        campaign: Campaign,
        now: dt.datetime,
        caller: Caller | None = None,
        *,
        html_limit: int | None = None,
    ) -> None:
        self.folder = folder
        self.campaign = campaign
        self.now = now
        self.caller = caller or Caller()
        self.html_limit = HTML_LIMIT if html_limit is None else html_limit
        self.names = (CSV_NAME, XLSX_NAME, HTML_NAME)
        self.rows = 0  # numbers, a missing fax number counted
        self.usable = 0
        self.shown = 0  # numbers on the page
        self._csv = (folder / CSV_NAME).open("w", encoding="utf-8-sig", newline="")
        self._csv_rows = csv.writer(self._csv, lineterminator="\r\n")
        self._csv_rows.writerow(COLUMNS)
        self._xlsx = _workbook(folder / XLSX_NAME, campaign.title, now)
        self._part = folder / (HTML_NAME + ".part")
        self._html: IO[str] = self._part.open("w", encoding="utf-8", newline="\n")

    def __enter__(self) -> SheetWriter:
        return self

    def __exit__(self, kind: object, *rest: object) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()

    def add(self, rows: Sequence[NumberRow]) -> None:
        """One recipient's rows (all of the same recipient)."""
        if rows:
            html = self.reserve_html(len(rows))
            self.add_part(sheet_part(self.campaign, rows, self.caller, html=html))

    def reserve_html(self, rows: int) -> bool:
        """Whether the page holds the next recipient's ``rows`` numbers (they are counted then).

        Asked once per recipient, in the order of the parts :meth:`add_part` is given next.
        """
        if self.shown + rows > self.html_limit:
            return False
        self.shown += rows
        return True

    def add_part(self, part: SheetPart) -> None:
        """One recipient's part, formatted by :func:`sheet_part` (in a worker process, say)."""
        for line in part.csv_rows:
            self._csv_rows.writerow(line)
        for row in part.workbook_rows:
            self._xlsx.add_row(row)
        self.rows += part.rows
        self.usable += part.usable
        if part.html is not None:
            self._html.write(part.html)

    def close(self) -> None:
        """Finish the three files."""
        self._csv.close()
        self._xlsx.close()
        self._html.close()
        with (self.folder / HTML_NAME).open("w", encoding="utf-8", newline="\n") as page:
            page.write(_html_head(self.campaign, self.now, self.rows, self.usable, self.shown))
            with self._part.open(encoding="utf-8") as part:
                shutil.copyfileobj(part, page)
            page.write(_html_tail(self.rows, self.shown))
        self._part.unlink()

    def abort(self) -> None:
        """Close what is open (the files are left for the caller's folder to go with)."""
        self._csv.close()
        self._html.close()
        self._xlsx.abort()


# -------------------------------------------------------------------------------------- XLSX

_WIDTHS = {
    "recipient": 28,
    "organization": 28,
    "reasons": 60,
    "note": 30,
    "time_zone": 18,
    "call_script": 50,
    "call_script_latin": 50,
}
_WRAPPED_COLUMNS = frozenset(
    {"recipient", "organization", "reasons", "note", "call_script", "call_script_latin"}
)
# the columns volunteers fill in: their empty cells exist, formatted as text for what is typed
_FILL_IN_COLUMNS = frozenset({"result", "date", "by", "note"})
# characters XML 1.0 cannot hold: openpyxl refuses the C0 controls, and writes U+FFFE, U+FFFF and
# lone surrogates into a workbook no spreadsheet (nor openpyxl) can open again
_XML_ILLEGAL = re.compile(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# what HTML calls a parse error besides: C1 controls and the noncharacters of every plane
_HTML_ILLEGAL = re.compile(
    r"[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufdcf\ufdf0-\ufffd\U00010000-\U0010ffff]|"
    r"[\U0001fffe-\U0001ffff\U0002fffe-\U0002ffff\U0003fffe-\U0003ffff\U0004fffe-\U0004ffff"
    r"\U0005fffe-\U0005ffff\U0006fffe-\U0006ffff\U0007fffe-\U0007ffff\U0008fffe-\U0008ffff"
    r"\U0009fffe-\U0009ffff\U000afffe-\U000affff\U000bfffe-\U000bffff\U000cfffe-\U000cffff"
    r"\U000dfffe-\U000dffff\U000efffe-\U000effff\U000ffffe-\U000fffff\U0010fffe-\U0010ffff]"
)


def workbook_row(values: Mapping[str, str]) -> str:
    """A row of the workbook (see :func:`~faxbatch.numbers.workbook.row_xml`), empty cells left out.

    The columns volunteers fill in keep their empty cells (formatted as text for what is typed).
    """
    cells = []
    for column, name in enumerate(COLUMNS):
        value = xml_text(values.get(name, ""))
        if not value and name not in _FILL_IN_COLUMNS:
            continue  # no cell at all: half the cells of a big sheet
        cells.append((column, value, WRAPPED if name in _WRAPPED_COLUMNS else TEXT))
    return row_xml(cells)


def xml_text(text: str) -> str:
    """Text with the characters XML 1.0 cannot hold dropped (for the workbook)."""
    if text.isascii() and text.isprintable():
        return text  # U+0020 to U+007E only, all of them XML's
    return _XML_ILLEGAL.sub("", text)


def html_text(text: str) -> str:
    """Text with the characters HTML must not hold dropped (for the page)."""
    if text.isascii() and text.isprintable():
        return text  # U+0020 to U+007E only, all of them HTML's
    return _HTML_ILLEGAL.sub("", text)


def _workbook(path: Path, title: str, now: dt.datetime) -> WorkbookWriter:
    """``numbers.xlsx``: dated the day of ``now`` (two builds of one day give the same bytes)."""
    stamp = dt.datetime.combine(now.astimezone(dt.UTC).date(), dt.time(0), dt.UTC)
    return WorkbookWriter(
        path,
        [(name, _WIDTHS.get(name, 16)) for name in COLUMNS],
        sheet="numbers",
        title=xml_text(f"{title}: numbers"),
        author=f"faxbatch {__version__}",
        created=stamp,
    )


# -------------------------------------------------------------------------------------- HTML

_CSS = """
@page { size: A4; margin: 12mm 10mm; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10pt; color: #000;
       margin: 1.5em; line-height: 1.35; overflow-wrap: break-word; }
h1 { font-size: 15pt; margin: 0 0 .2em; }
p.meta { margin: 0 0 1em; color: #333; }
p.partial { border: 2px solid #000; padding: .4em .6em; }
table { border-collapse: collapse; width: 100%; }
thead { display: table-header-group; }
th, td { border: 1px solid #999; padding: .25em .4em; text-align: left; vertical-align: top; }
th { background: #eee; }
tbody { break-inside: avoid; page-break-inside: avoid; }
tr.recipient th { background: #f6f6f6; font-size: 10.5pt; }
tr.recipient .org { font-weight: normal; }
a.tel { font-weight: bold; font-size: 11pt; white-space: nowrap; color: #003c9e; }
.nodial { text-decoration: line-through; }
.raw, .small { color: #444; font-size: 8.5pt; }
.verdict { font-weight: bold; text-transform: uppercase; font-size: 8.5pt; }
.ok { color: #0a6b1f; }
.warning { color: #8a5a00; }
.refused, .invalid, .missing { color: #b00020; }
.in-use { font-size: 8.5pt; font-weight: bold; }
ul { margin: 0; padding-left: 1.1em; }
.yours:empty { display: none; }
.yours, .caller-time { display: block; font-weight: bold; }
.dial { font-size: 9pt; white-space: nowrap; }
dl.legend { display: grid; grid-template-columns: max-content 1fr; gap: .1em .8em;
            margin: 0 0 1em; font-size: 9pt; }
dl.legend dt { font-weight: bold; }
dl.legend dd { margin: 0; }
.caller { margin: 0 0 1em; }
.caller input, td.record input { font: inherit; padding: .3em; max-width: 100%; }
td.record .buttons { display: flex; flex-wrap: wrap; gap: .25em; margin-bottom: .25em; }
td.record button { font: inherit; font-size: 9pt; padding: .35em .5em; border: 1px solid #777;
                   border-radius: 4px; background: #fafafa; }
td.record button[aria-pressed="true"] { background: #003c9e; color: #fff; border-color: #003c9e; }
td.record input { width: 100%; }
td.record { min-width: 13em; }
tr.script td { background: #fbfbf4; }
.say-head { display: block; font-weight: bold; }
.script-lang { font-size: 8.5pt; color: #444; }
.say { margin: .15em 0 .35em; }
.say p { margin: 0 0 .15em; }
.say .latin { display: block; font-style: italic; color: #444; font-size: 9pt; }
.download { font: inherit; font-weight: bold; padding: .5em .8em; margin: 0 0 1em; }
@media (max-width: 600px) {
  body { margin: .6em; font-size: 11pt; overflow-wrap: anywhere; }
  table, thead, tbody, tr, th, td { display: block; width: 100%; }
  thead { display: none; }
  tbody { border: 1px solid #999; border-radius: 6px; margin: 0 0 1em; overflow: hidden; }
  th, td { border: 0; border-top: 1px solid #ddd; }
  tr.recipient th { border-top: 0; }
  td[data-label]::before { content: attr(data-label); display: block; font-size: 8pt;
                           color: #555; text-transform: uppercase; }
  a.tel { font-size: 13pt; }
  td.record button { font-size: 11pt; padding: .6em .7em; }
}
@media print {
  body { margin: 0; font-size: 8.5pt; }
  a.tel { color: #000; text-decoration: none; }
  .noprint, td.record, .record-head { display: none; }
  tbody { border: 0; }
}
"""


# The page's own script: plain JavaScript, no network. Campaign text never enters it: it reads the
# page's data attributes and writes with textContent only. What a volunteer records is kept in the
# browser's local storage under the page's key, and "Download verification.csv" writes the sheet
# that verification.py reads (the findings the page was made with first, then those recorded here).
_SCRIPT = r"""
(function () {
  "use strict";
  var root = document.documentElement;
  var key = "faxbatch:" + (root.getAttribute("data-sheet") || "numbers");
  var store = {};
  try {
    store = JSON.parse(window.localStorage.getItem(key) || "{}") || {};
  } catch (e) { store = {}; }
  if (typeof store.results !== "object" || store.results === null) { store.results = {}; }
  function save() {
    try {
      window.localStorage.setItem(key, JSON.stringify(store));
    } catch (e) { /* private browsing: kept on the page only */ }
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function today() {
    var d = new Date();
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());
  }
  var zone = "";
  try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; } catch (e) { zone = ""; }
  function shown(iso) {
    var options = { weekday: "short", day: "2-digit", month: "short", year: "numeric",
                    hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    var parts = new Intl.DateTimeFormat("en-GB", options).formatToParts(new Date(iso));
    var p = {};
    parts.forEach(function (part) { p[part.type] = part.value; });
    return p.weekday + " " + p.day + " " + p.month + " " + p.year + " " + p.hour + ":" + p.minute;
  }
  document.querySelectorAll(".yours[data-start]").forEach(function (el) {
    var start = shown(el.getAttribute("data-start")), end = shown(el.getAttribute("data-end"));
    var until = start.slice(0, 15) === end.slice(0, 15) ? end.slice(16) : end;
    el.textContent = start + "\u2013" + until + " your time" + (zone ? " (" + zone + ")" : "");
  });
  var nameInput = document.getElementById("caller-name");
  if (nameInput) {
    nameInput.value = store.by || "";
    nameInput.addEventListener("input", function () { store.by = nameInput.value; save(); });
  }
  function paint(cell) {
    var number = cell.getAttribute("data-number"), entry = store.results[number];
    cell.querySelectorAll("button[data-result]").forEach(function (button) {
      button.setAttribute("aria-pressed",
        entry && entry.result === button.getAttribute("data-result") ? "true" : "false");
    });
    var note = cell.querySelector("input.note");
    if (note && document.activeElement !== note) { note.value = entry ? entry.note || "" : ""; }
    var saved = cell.querySelector(".saved");
    if (saved) {
      saved.textContent = entry && entry.result
        ? entry.result + " " + entry.date + (entry.by ? " by " + entry.by : "") : "";
    }
  }
  document.querySelectorAll("td.record[data-number]").forEach(function (cell) {
    var number = cell.getAttribute("data-number");
    cell.querySelectorAll("button[data-result]").forEach(function (button) {
      button.addEventListener("click", function () {
        var entry = store.results[number] || { note: "" };
        var result = button.getAttribute("data-result");
        if (entry.result === result) {
          delete store.results[number];
        } else {
          entry.result = result;
          entry.date = today();
          entry.by = nameInput ? nameInput.value : "";
          store.results[number] = entry;
        }
        save();
        paint(cell);
        count();
      });
    });
    var note = cell.querySelector("input.note");
    if (note) {
      note.addEventListener("input", function () {
        var entry = store.results[number] || { result: "", date: "", by: "" };
        entry.note = note.value;
        store.results[number] = entry;
        save();
        paint(cell);
      });
    }
    paint(cell);
  });
  // as csvcells.spreadsheet_safe: a cell a spreadsheet would run (=, +, -, @), turn into a
  // number or a date, or whose leading apostrophe it would eat, is written ="text" (a longer one
  // than Excel keeps in a formula gets an apostrophe); verification.py reads both back as the text
  var numberLike = /^[\d\s.,:;\/()+\-']*\d[\d\s.,:;\/()+\-'eE%]*$/;
  function safe(text) {
    if (!(numberLike.test(text) || /^[=+\-@\t\r']/.test(text))) { return text; }
    return text.length > 255 ? "'" + text : '="' + text.replace(/"/g, '""') + '"';
  }
  function cell(text) {
    text = safe(String(text || "").replace(/\r\n|\r|\n/g, " "));
    return /[",]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }
  function csv() {
    var lines = ["number,result,date,by,note"];
    document.querySelectorAll("[data-found-result]").forEach(function (el) {
      lines.push([el.getAttribute("data-number"), el.getAttribute("data-found-result"),
                  el.getAttribute("data-found-date"), el.getAttribute("data-found-by"),
                  el.getAttribute("data-found-note")].map(cell).join(","));
    });
    Object.keys(store.results).sort().forEach(function (number) {
      var entry = store.results[number];
      if (entry && entry.result) {
        lines.push([number, entry.result, entry.date, entry.by, entry.note].map(cell).join(","));
      }
    });
    return lines.join("\r\n") + "\r\n";
  }
  var counter = document.getElementById("recorded");
  function count() {
    if (!counter) { return; }
    var n = Object.keys(store.results).filter(function (k) {
      return store.results[k] && store.results[k].result;
    }).length;
    counter.textContent = n + " recorded in this browser";
  }
  count();
  var download = document.getElementById("download");
  if (download) {
    download.hidden = false;
    download.addEventListener("click", function () {
      var blob = new Blob([csv()], { type: "text/csv;charset=utf-8" });
      var link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = "verification.csv";
      document.body.appendChild(link);
      link.click();
      document.body.removeChild(link);
      setTimeout(function () { URL.revokeObjectURL(link.href); }, 1000);
    });
  }
})();
"""

#: what each result means, for the legend above the sheet
LEGEND = (
    (
        "verified",
        "a fax machine answered (the fax tone: a high beep or a whistle), or the office "
        "confirmed the number is its fax",
    ),
    ("wrong", "the number belongs to someone else (a flat, another office) or does not exist"),
    (
        "no-fax-tone",
        "a person or a voice menu answered, never a fax tone: a fax would not go through",
    ),
    ("no-answer", "no one picked up, or the line was busy; try again in the next window"),
)


_SAY = (
    "under each office, two or three lines to say when someone answers, in the office's "
    "language; the line in italics is how to read it aloud. A person who answers may switch "
    "the fax on for you: if a fax tone follows, the number is verified"
)


def _e(text: object) -> str:
    """Campaign text as HTML text (never markup)."""
    return html.escape(html_text(str(text)), quote=True)


def _human(moment: dt.datetime) -> str:
    return f"{moment:%a %d %b %Y %H:%M}"


def _window_cell(row: NumberRow, hours: str, caller: Caller) -> str:
    window = row.window
    if window is None:
        zones = list(row.time_zones)
        shown = ", ".join(zones[:3]) + (f" and {len(zones) - 3} more" if len(zones) > 3 else "")
        return f'<span class="small">{_e(shown or "time zone unknown")}</span>'
    # the zones in the key: equal moments in two zones would print apart
    return _window_text(window, hours, caller, window.start.tzinfo, window.end.tzinfo)


@lru_cache(maxsize=1024)  # a batch's numbers share a few windows: each cell is written once
def _window_text(window: Window, hours: str, caller: Caller, *_zones: object) -> str:
    start, end = window.start_local, window.end_local
    until = f"{end:%H:%M}" if end.date() == start.date() else _human(end)
    utc_until = (
        f"{window.end:%H:%M}" if window.end.date() == window.start.date() else (_human(window.end))
    )
    return (
        f"{_e(_human(start))}–{_e(until)}<br>"
        f'<span class="small">{_e(window.time_zone)}; {_e(hours)}<br>'
        f"{_e(_human(window.start))}–{_e(utc_until)} UTC</span>"
        f"{_caller_time(window, caller)}"
        f'<span class="yours" data-start="{_e(_iso_utc(window.start))}" '
        f'data-end="{_e(_iso_utc(window.end))}"></span>'
    )


def _caller_time(window: Window, caller: Caller) -> str:
    """The window in the caller's zone (``--caller-tz``), printed."""
    start, end = caller.local(window.start), caller.local(window.end)
    if start is None or end is None:
        return ""
    until = f"{end:%H:%M}" if end.date() == start.date() else _human(end)
    return (
        f'<span class="caller-time">{_e(_human(start))}–{_e(until)} '
        f"caller's time ({_e(caller.time_zone)})</span>"
    )


def _iso_utc(moment: dt.datetime) -> str:
    return f"{moment.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}"


def _record_cell(row: NumberRow) -> str:
    """The buttons, note and saved result of a number (filled in by the page's script)."""
    if not row.e164:
        return '<td class="record"></td>'
    found = row.verification.finding if row.verification else None
    attributes = f' data-number="{_e(row.e164)}"'
    if found is not None:
        attributes += (
            f' data-found-result="{_e(found.result)}" data-found-date="{_e(found.date)}"'
            f' data-found-by="{_e(found.by)}" data-found-note="{_e(found.note)}"'
        )
    buttons = "".join(
        f'<button type="button" data-result="{result}" aria-pressed="false">{result}</button>'
        for result, _meaning in LEGEND
    )
    return (
        f'<td class="record" data-label="Your result"{attributes}>'
        f'<div class="buttons">{buttons}</div>'
        '<input class="note" type="text" placeholder="note (what you heard)" '
        'aria-label="note">'
        '<span class="saved small"></span></td>'
    )


def _script_row(scripts: Sequence[CallScript]) -> str:
    """The recipient's call scripts, as a row across the table (a block of the card)."""
    if not scripts:
        return ""
    parts = []
    for script in scripts:
        heading = f"{script.name} ({script.language})"
        if script.instead_of:
            heading += f": no call script in '{script.instead_of}' yet, in English"
        lines = "".join(
            f'<p lang="{_e(script.language)}">{_e(line)}'
            + (
                f'<span class="latin" lang="{_e(script.language)}-Latn">{_e(script.latin[i])}'
                "</span>"
                if i < len(script.latin)
                else ""
            )
            + "</p>"
            for i, line in enumerate(script.lines)
        )
        parts.append(
            f'<div class="say"><span class="script-lang">{_e(heading)}</span>{lines}</div>'
        )
    return (
        '<tr class="script"><td colspan="6"><span class="say-head">When they answer, say:</span>'
        + "".join(parts)
        + "</td></tr>"
    )


def _verification_cell(row: NumberRow) -> str:
    found = row.verification
    if found is None:
        return '<span class="small">not checked</span>'
    finding = found.finding
    parts = [f"<b>{_e(found.status)}</b> {_e(finding.date.isoformat())}"]
    if finding.by:
        parts.append(f"by {_e(finding.by)}")
    text = " ".join(parts)
    if finding.note:
        text += f'<br><span class="small">{_e(finding.note)}</span>'
    return text


def _number_cell(row: NumberRow, caller: Caller) -> str:
    if row.reading is None:
        return '<span class="missing">no fax number</span>'
    shown = row.reading.international or row.e164 or row.raw
    uri = row.tel_uri
    if uri is not None:
        number = f'<a class="tel" href="{_e(uri)}">{_e(shown)}</a>'
    else:
        number = f'<span class="nodial">{_e(shown)}</span>'
    if row.reading.extension:
        number += f' <span class="small">ext. {_e(row.reading.extension)}</span>'
    dial = caller.dial_string(row.e164) if row.usable else None
    if dial is not None:
        number += f'<br><span class="dial">dial from {_e(caller.country)}: {_e(dial)}</span>'
    if row.in_use:
        number += '<br><span class="in-use">the fax goes here</span>'
    return number + f'<br><span class="raw">as written: {_e(row.raw)}</span>'


def _place_cell(row: NumberRow) -> str:
    reading = row.reading
    if reading is None:
        return ""
    place = reading.location or reading.region or ""
    kind = (reading.number_type or "").replace("_", " ")
    return "<br>".join(
        part for part in (_e(place), kind and f'<span class="small">{_e(kind)}</span>') if part
    )


def _verdict_cell(row: NumberRow) -> str:
    verdict = row.verdict or "missing"
    reasons = "".join(f"<li>{_e(reason)}</li>" for reason in row.reasons)
    listed = f"<ul>{reasons}</ul>" if reasons else ""
    return f'<span class="verdict {_e(verdict)}">{_e(verdict)}</span>{listed}'


def _html_head(campaign: Campaign, now: dt.datetime, rows: int, usable: int, shown: int) -> str:
    """The page up to its table's rows: title, counts, legend, the caller's inputs."""
    hours = campaign.office_hours.describe()
    title = f"Numbers to check: {campaign.title}"
    reference = f" · {campaign.reference}" if campaign.reference else ""
    sheet_key = f"{campaign.source.name}:{campaign.reference or ''}"
    legend = "".join(f"<dt>{result}</dt><dd>{_e(meaning)}</dd>" for result, meaning in LEGEND)
    legend += f"<dt>say</dt><dd>{_e(_SAY)}</dd>"
    out = [
        "<!DOCTYPE html>",
        f'<html lang="en" data-sheet="{_e(sheet_key)}">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="faxbatch {_e(__version__)}">',
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'\">",
        f"<title>{_e(title)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="meta">{_e(campaign.source.name)}{_e(reference)} · checked on '
        f"{now.astimezone(dt.UTC):%Y-%m-%d} · {usable} of {rows} numbers usable · "
        f"office hours {_e(hours)}, each office's own time. Call in the window; record what "
        "you find with the buttons (kept in this browser), then download verification.csv and "
        "put it beside the campaign (number, result, date, by, note).</p>",
    ]
    if shown < rows:
        out.append(_partial_note(rows, shown))
    out += [
        f'<dl class="legend">{legend}</dl>',
        '<p class="caller noprint"><label>Your name (goes into the sheet as "by"): '
        '<input id="caller-name" type="text" autocomplete="name"></label> '
        '<span id="recorded" class="small"></span></p>',
        '<p class="noprint"><button type="button" id="download" class="download" hidden>'
        "Download verification.csv</button></p>",
        "<table>",
        "<thead><tr><th>Number</th><th>Place, type</th><th>Next window (office time)</th>"
        '<th>Verdict, reasons</th><th>Verification</th><th class="record-head">Your result</th>'
        "</tr></thead>",
        "",
    ]
    return "\n".join(out)


def _partial_note(rows: int, shown: int) -> str:
    """What a page that does not hold every number says, at its top and at its end."""
    return (
        f'<p class="partial"><b>This page holds the first {shown:,} of the {rows:,} numbers.</b> '
        "Every number is in numbers.csv and numbers.xlsx beside this page. To share the calls "
        "out, split the recipients file and run <code>faxbatch check</code> on each part: each "
        "gives a page of its own.</p>"
    )


def _recipient_html(
    campaign: Campaign, rows: Sequence[NumberRow], caller: Caller, scripts: Sequence[CallScript]
) -> str:
    """A recipient's part of the table: its heading, its call scripts, a row per number."""
    recipient = rows[0].recipient
    organization = recipient.organization if recipient.organization != recipient.name else ""
    country = recipient.country or campaign.default_country or ""
    out = [
        f'<tbody id="{_e(recipient.id)}">',
        f'<tr class="recipient"><th colspan="6">{_e(recipient.display_name)}'
        + (f' <span class="org">— {_e(organization)}</span>' if organization else "")
        + f' <span class="small">({_e(recipient.id)}{", " + _e(country) if country else ""})'
        "</span></th></tr>",
    ]
    if scripts:
        out.append(_script_row(scripts))
    for row in rows:
        out.append(
            f'<tr class="number {_e(row.channel)}">'
            f'<td data-label="Number"><b>{_e(row.channel)}</b><br>'
            f"{_number_cell(row, caller)}</td>"
            f'<td data-label="Place, type">{_place_cell(row)}</td>'
            f'<td data-label="Next window">'
            f"{_window_cell(row, _hours_of(campaign, row), caller) if row.reading else ''}</td>"
            f'<td data-label="Verdict, reasons">{_verdict_cell(row)}</td>'
            f'<td data-label="Verification">'
            f"{_verification_cell(row) if row.reading else ''}</td>"
            f"{_record_cell(row)}"
            "</tr>"
        )
    out += ["</tbody>", ""]
    return "\n".join(out)


def _html_tail(rows: int, shown: int) -> str:
    """The end of the page: the table closed, the note again if it holds only part, the script."""
    out = ["</table>"]
    if shown < rows:
        out.append(_partial_note(rows, shown))
    out += [f"<script>{_SCRIPT}</script>", "</body>", "</html>", ""]
    return "\n".join(out)
