"""The volunteers' sheet written a recipient at a time (numbers/sheet.py's SheetWriter)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import openpyxl

from faxbatch.build.check import check_campaign
from faxbatch.campaign.loader import load_campaign
from faxbatch.numbers.caller import Caller
from faxbatch.numbers.sheet import (
    COLUMNS,
    CSV_NAME,
    HTML_NAME,
    XLSX_NAME,
    SheetWriter,
    sheet_part,
)
from tests.conftest import BASIC

NOW = dt.datetime(2012, 5, 11, 15, 0, tzinfo=dt.UTC)


def _write(folder: Path, campaign_path: Path, copies: int, html_limit: int | None) -> None:
    """The sheet of the campaign's recipients, each added ``copies`` times (a big batch)."""
    campaign = load_campaign(campaign_path)
    rows = check_campaign(campaign, now=NOW).rows
    folder.mkdir()
    with SheetWriter(folder, campaign, NOW, html_limit=html_limit) as writer:
        for _ in range(copies):
            for recipient in dict.fromkeys(row.recipient_id for row in rows):
                writer.add([row for row in rows if row.recipient_id == recipient])


def test_the_workbook_has_the_same_bytes_and_no_clock_in_it(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_campaign(BASIC)
    _write(tmp_path / "one", path, 3, None)
    _write(tmp_path / "two", path, 3, None)
    for name in (CSV_NAME, XLSX_NAME, HTML_NAME):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()
    data = (tmp_path / "one" / XLSX_NAME).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        # every entry dated the same fixed day, whatever the clock said while it was written
        assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        core = archive.read("docProps/core.xml").decode()
    # the document's dates are the day checked, not the moment written
    assert core.count("2012-05-11T00:00:00Z") == 2
    assert "faxbatch" in core
    # nothing else of the run is left in the folder (the part files of the workbook and the page)
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == sorted(
        [CSV_NAME, XLSX_NAME, HTML_NAME]
    )


def test_a_big_sheet_keeps_every_row_and_the_page_says_what_it_holds(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_campaign(BASIC)
    rows = check_campaign(load_campaign(path), now=NOW).rows
    per_copy, usable = len(rows), sum(row.usable for row in rows)
    copies = 40
    _write(tmp_path / "big", path, copies, html_limit=10)
    total = per_copy * copies
    with (tmp_path / "big" / CSV_NAME).open(encoding="utf-8-sig", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == total
    workbook = openpyxl.load_workbook(tmp_path / "big" / XLSX_NAME, read_only=True)
    sheet = workbook.active
    read = list(sheet.iter_rows(values_only=True))
    workbook.close()
    assert list(read[0]) == list(COLUMNS)
    assert len(read) == total + 1
    number = COLUMNS.index("number")
    first = [row[number] for row in read[1 : 1 + per_copy]]
    assert [row[number] for row in read[-per_copy:]] == first  # the last copy, in order
    assert any(first)
    page = (tmp_path / "big" / HTML_NAME).read_text("utf-8")
    shown = page.count('<tr class="number ')
    assert 0 < shown <= 10
    # said at the top and at the end, with the count of numbers in the files beside it
    assert page.count(f"This page holds the first {shown:,} of the {total:,} numbers.") == 2
    assert f"{usable * copies} of {total} numbers usable" in page  # the head counts them all
    assert page.rstrip().endswith("</html>")


def test_a_small_sheet_holds_every_number_and_says_nothing_of_limits(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_campaign(BASIC)
    rows = check_campaign(load_campaign(path), now=NOW).rows
    _write(tmp_path / "small", path, 1, None)
    page = (tmp_path / "small" / HTML_NAME).read_text("utf-8")
    assert page.count('<tr class="number ') == len(rows)
    assert "This page holds the first" not in page


def test_parts_formatted_elsewhere_write_the_same_files(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    """What the build does (each recipient's part made in a worker, the page's room reserved in
    campaign order) writes what ``add`` writes, the page's limit included."""
    path = write_campaign(BASIC)
    campaign = load_campaign(path)
    rows = check_campaign(campaign, now=NOW).rows
    by_recipient = [
        [row for row in rows if row.recipient_id == recipient]
        for recipient in dict.fromkeys(row.recipient_id for row in rows)
    ]
    limit = len(rows) * 2 - 1  # the page's limit falls inside the third copy
    _write(tmp_path / "added", path, 3, limit)
    folder = tmp_path / "parts"
    folder.mkdir()
    with SheetWriter(folder, campaign, NOW, html_limit=limit) as writer:
        reserved = [writer.reserve_html(len(r)) for _ in range(3) for r in by_recipient]
        parts = [
            sheet_part(campaign, r, Caller(), html=html)
            for r, html in zip(by_recipient * 3, reserved, strict=True)
        ]
        for part in parts:
            writer.add_part(part)
    assert not all(reserved) and any(reserved)
    for name in (CSV_NAME, XLSX_NAME, HTML_NAME):
        assert (folder / name).read_bytes() == (tmp_path / "added" / name).read_bytes()
