from __future__ import annotations

import csv
import datetime as dt
import html.parser
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import openpyxl
import pytest

from faxbatch.build.check import CheckResult, check_campaign, table_lines
from faxbatch.build.pipeline import BuildOptions, build_batch
from faxbatch.build.staging import is_batch_folder
from faxbatch.campaign.loader import load_campaign
from faxbatch.errors import ExitCode, OutputNotWritableError
from faxbatch.numbers.sheet import COLUMNS, spreadsheet_safe
from tests.conftest import BASIC

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2012, 5, 11, 15, 0, tzinfo=dt.UTC)  # a Friday evening in Kazakhstan

# Every kind of number and text a sheet must carry intact: Cyrillic, markup, an injected formula,
# leading zeros, an invalid number, a duplicate, a missing fax, a multi-zone number.
MESSY = BASIC.replace(
    "  - id: court\n    name: The Presiding Judge\n",
    '  - id: court\n    name: Судья <b>Ivanov</b> & "Co"\n',
).replace(
    "    name: Foreign Ministry\n",
    '    name: =HYPERLINK("http://evil")\n'
    "    organization: Министерство иностранных дел\n"
    "    fax: 0077272715802\n"
    "    phone: 271 58 02\n"
    "  - id: embassy\n"
    "    name: Embassy\n"
    "    country: US\n"
    "    fax: '+1 800 555 0199'\n"
    "  - id: nofax\n"
    "    name: Press Office\n",
)
VERIFICATION = "number,result,date,by,note\n+77172745524,verified,2012-05-09,Борис,<i>ok</i>\n"


@pytest.fixture
def messy(write_campaign: Callable[..., Path]) -> Path:
    return write_campaign(MESSY, verification__csv=VERIFICATION)


def checked(path: Path, out: Path | None) -> CheckResult:
    return check_campaign(load_campaign(path), out=out, now=NOW)


def test_every_number_is_judged(messy: Path) -> None:
    result = checked(messy, None)
    rows = [(r.recipient_id, r.channel, r.e164, r.verdict, r.in_use) for r in result.rows]
    assert rows == [
        ("court", "fax", "+77272715802", "warning", True),  # also listed for ministry
        ("court", "phone", "+77272715807", "ok", False),
        ("admin", "fax", "+77172745524", "ok", True),
        ("ministry", "fax", "+77272715802", "warning", True),  # the court's number too
        ("ministry", "phone", "", "invalid", False),  # no area code
        ("embassy", "fax", "+18005550199", "warning", True),
        ("nofax", "fax", "", "", False),
    ]
    assert result.rows[2].verification is not None
    assert result.rows[2].verified_on == "2012-05-09"
    assert "also listed for recipient ministry" in result.rows[0].reason_text
    assert "area code" in result.rows[4].reason_text
    assert result.exit_code == ExitCode.REJECTED_RECIPIENTS
    assert {r.recipient_id for r in result.unusable} == {"ministry", "nofax"}
    # a toll-free number rings all over North America: no common office hours, said in words
    assert result.rows[5].window is None
    assert "time zones" in result.rows[5].reason_text
    assert result.rows[2].window is not None
    assert result.rows[2].window.start_local.isoformat() == "2012-05-14T09:00:00+06:00"


def test_table_for_the_terminal(messy: Path) -> None:
    lines = table_lines(checked(messy, None).rows)
    assert lines[0].split() == ["recipient", "channel", "raw", "E.164", "verdict", "reason"]
    assert len(lines) == 8
    assert "fax*" in lines[1] and "+77272715802" in lines[1] and "warning" in lines[1]
    assert "missing" in lines[-1] and "No fax number" in lines[-1]


def test_the_csv_opens_as_text_in_spreadsheets(messy: Path, tmp_path: Path) -> None:
    checked(messy, tmp_path / "out")
    data = (tmp_path / "out/numbers.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8 (Cyrillic) right
    assert b"\r\n" in data
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert list(rows[0]) == list(COLUMNS)
    court = rows[0]
    # numbers are formulas whose value is the text: never 7.72727E+10, leading zeros kept
    assert court["number"] == '="+77272715802"'
    assert court["international"] == '="+7 7272 71 58 02"'
    assert rows[3]["raw"] == '="0077272715802"'
    assert court["recipient"] == 'Судья <b>Ivanov</b> & "Co"'
    # a campaign text that is a formula is shown, never run
    assert rows[3]["recipient"] == '="=HYPERLINK(""http://evil"")"'
    assert rows[3]["organization"] == "Министерство иностранных дел"
    assert rows[2]["date"] == '="2012-05-09"' and rows[2]["by"] == "Борис"


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("+77272715802", '="+77272715802"'),
        ("8 (727) 271-58-02", '="8 (727) 271-58-02"'),
        ("2012-05-09", '="2012-05-09"'),
        ("-1", '="-1"'),
        ("@SUM(A1)", '="@SUM(A1)"'),
        ("Almaty", "Almaty"),
        ("", ""),
        ("=" + "x" * 300, "'=" + "x" * 300),
    ],
)
def test_spreadsheet_safe_cells(text: str, cell: str) -> None:
    assert spreadsheet_safe(text) == cell


@pytest.mark.skipif(not shutil.which("soffice"), reason="LibreOffice (soffice) is not installed")
def test_libreoffice_reads_the_csv_numbers_as_text(messy: Path, tmp_path: Path) -> None:
    # a real spreadsheet opens the CSV (UTF-8, comma) and saves it as xlsx; openpyxl reads it back
    checked(messy, tmp_path / "out")
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{tmp_path}/lo-profile",
            "--headless",
            "--infilter=CSV:44,34,76,1",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76",
            "--outdir",
            str(tmp_path / "lo"),
            str(tmp_path / "out/numbers.csv"),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    # saved again as CSV, every number cell is its text: the formula was evaluated to it
    rows = list(csv.DictReader(io.StringIO((tmp_path / "lo/numbers.csv").read_text("utf-8"))))
    assert rows[0]["number"] == "+77272715802"
    assert rows[0]["international"] == "+7 7272 71 58 02"
    assert rows[3]["raw"] == "0077272715802"
    assert rows[3]["organization"] == "Министерство иностранных дел"
    assert rows[2]["date"] == "2012-05-09"


def test_the_xlsx_cells_are_text(messy: Path, tmp_path: Path) -> None:
    checked(messy, tmp_path / "out")
    sheet = openpyxl.load_workbook(tmp_path / "out/numbers.xlsx").active
    header = [cell.value for cell in sheet[1]]
    assert header == list(COLUMNS)
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if cell.value is not None:
                assert cell.data_type == "s", (cell.coordinate, cell.value)
                assert cell.number_format == "@"
    # the columns volunteers fill in are text even where still empty (a typed date stays text)
    result_column = COLUMNS.index("result") + 1
    assert sheet.cell(row=2, column=result_column).number_format == "@"
    values = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2)]
    number = COLUMNS.index("number")
    assert values[0][number] == "+77272715802"
    assert values[3][COLUMNS.index("raw")] == "0077272715802"
    assert values[3][COLUMNS.index("recipient")] == '=HYPERLINK("http://evil")'  # text, not run
    assert values[3][COLUMNS.index("organization")] == "Министерство иностранных дел"


def test_the_xlsx_is_the_same_for_the_same_input(messy: Path, tmp_path: Path) -> None:
    checked(messy, tmp_path / "one")
    checked(messy, tmp_path / "two")
    one, two = (
        (tmp_path / "one/numbers.xlsx").read_bytes(),
        (tmp_path / "two/numbers.xlsx").read_bytes(),
    )
    assert one == two


class _Page(html.parser.HTMLParser):
    """Collects what a test needs to know about the sheet's page, and checks tags nest."""

    VOID = frozenset({"meta", "br", "link", "img", "hr", "input"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[str] = []
        self.links: list[str] = []
        self.text: list[str] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        values = dict(attrs)
        if tag == "a":
            self.links.append(values.get("href") or "")
        for name in ("src", "href"):
            value = values.get(name) or ""
            if value and not value.startswith(("tel:", "#")):
                self.external.append(value)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(f"unexpected </{tag}>")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_the_html_page(messy: Path, tmp_path: Path) -> None:
    result = checked(messy, tmp_path / "out")
    page = _Page()
    page.feed((tmp_path / "out/numbers.html").read_text("utf-8"))
    page.close()
    assert page.errors == [] and page.stack == []
    assert page.tags[:2] == ["html", "head"] and "body" in page.tags and "table" in page.tags
    assert page.external == []  # self-contained: no external style, script or image
    assert "link" not in page.tags and page.tags.count("script") == 1  # the page's own script
    assert "<script src" not in (tmp_path / "out/numbers.html").read_text("utf-8")
    source = (tmp_path / "out/numbers.html").read_text("utf-8")
    assert "@page" in source and "A4" in source
    # every usable number is a tel: link to its E.164 form, and only those
    usable = sorted(f"tel:{row.e164}" for row in result.rows if row.usable)
    assert sorted(page.links) == usable and len(usable) == 5
    # campaign text is text: no <b> or <i> from it became a tag, and it reads as written
    assert "b" not in page.tags or page.tags.count("b") == source.count("<b>")
    text = "".join(page.text)
    assert 'Судья <b>Ivanov</b> & "Co"' in text
    assert "<i>ok</i>" in text
    assert '=HYPERLINK("http://evil")' in text
    assert "<b>Ivanov" not in source and "<i>ok" not in source
    for expected in ("Asia/Almaty", "Mon–Fri 09:00–18:00", "verified", "Борис", "Almaty"):
        assert expected in text
    assert "Mon 14 May 2012 09:00" in text  # the next window, in the office's time


def test_check_writes_beside_a_built_batch(basic_campaign: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    build_batch(load_campaign(basic_campaign), BuildOptions(out=out, now=NOW))
    assert (out / "numbers.html").is_file()  # build writes the sheet into its batch too
    built = sorted(p.relative_to(out) for p in out.rglob("*"))
    (out / "numbers.csv").unlink()
    checked(basic_campaign, out)
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == built
    assert (out / "faxes/court.pdf").is_file()
    # and a later build may still replace the folder
    build_batch(load_campaign(basic_campaign), BuildOptions(out=out, now=NOW))


def test_check_makes_a_new_folder_a_later_build_may_replace(
    basic_campaign: Path, tmp_path: Path
) -> None:
    out = tmp_path / "new" / "out"
    checked(basic_campaign, out)
    assert is_batch_folder(out)
    build_batch(load_campaign(basic_campaign), BuildOptions(out=out, now=NOW))
    assert (out / "manifest.json").is_file()


def test_check_leaves_a_foreign_folder_alone(basic_campaign: Path, tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "numbers.csv").write_text("my own file")
    with pytest.raises(OutputNotWritableError):
        checked(basic_campaign, out)
    assert (out / "numbers.csv").read_text() == "my own file"


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "faxbatch", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src"), "SOURCE_DATE_EPOCH": "1336748400"},
        timeout=120,
    )


def test_cli_exit_codes(write_campaign: Callable[..., Path], tmp_path: Path) -> None:
    all_good = BASIC.replace(
        "    name: Foreign Ministry\n", "    name: Foreign Ministry\n    fax: '+7 7172 72 05 16'\n"
    )
    path = write_campaign(
        all_good, verification__csv="number,result,date\n+77172720516,verifed,2012-05-09\n"
    )
    good = run_cli("check", str(path), "--out", "sheet", cwd=tmp_path)
    assert good.returncode == 0, good.stderr
    assert "Traceback" not in good.stderr
    assert good.stdout.splitlines()[0].split()[:3] == ["recipient", "channel", "raw"]
    assert "+77172720516" in good.stdout
    # the malformed row is reported with its file and line; the check goes on
    assert "warning:" in good.stderr and "verification.csv:2:" in good.stderr
    assert (tmp_path / "sheet/numbers.xlsx").is_file()

    bad = run_cli("check", str(write_campaign(name="bad.yaml")), "--out", "sheet", cwd=tmp_path)
    assert bad.returncode == 6, bad.stderr
    assert "Traceback" not in bad.stderr
    assert "ministry" in bad.stderr and "No fax number" in bad.stdout

    (tmp_path / "verification.csv").write_bytes(b"\xff\xfe broken")
    unreadable = run_cli("check", str(path), cwd=tmp_path)
    assert unreadable.returncode == 4 and "Traceback" not in unreadable.stderr
    assert unreadable.stderr.startswith("faxbatch: error:")


def test_the_sheet_for_a_caller_in_new_york(messy: Path, tmp_path: Path) -> None:
    from faxbatch.numbers.caller import Caller

    caller = Caller.of("America/New_York", "us")
    check_campaign(load_campaign(messy), out=tmp_path / "out", now=NOW, caller=caller)
    page = _Page()
    page.feed((tmp_path / "out/numbers.html").read_text("utf-8"))
    text = "".join(page.text)
    # the court's window, Mon 09:00-18:00 in Almaty, is Sunday evening to Monday in New York
    assert "Sun 13 May 2012 23:00–Mon 14 May 2012 08:00 caller's time (America/New_York)" in text
    assert "dial from US: 011 7 7272 71 58 02" in text


@pytest.mark.parametrize(
    ("zone", "country", "word"),
    [("Mars/Olympus", None, "--caller-tz"), (None, "XX", "--caller-country")],
)
def test_an_unknown_caller_is_a_usage_error(
    basic_campaign: Path, tmp_path: Path, zone: str | None, country: str | None, word: str
) -> None:
    from faxbatch.cli import main

    args = ["check", str(basic_campaign), "--out", str(tmp_path / "out")]
    args += ["--caller-tz", zone] if zone else ["--caller-country", str(country)]
    assert main(args) == ExitCode.USAGE
    assert not (tmp_path / "out").exists()


def test_a_number_is_shown_exactly_as_written(write_campaign: Callable[..., Path]) -> None:
    assert 'fax: "++7727 2715802"' in BASIC  # the court's number, as the appeal gives it
    result = checked(write_campaign(BASIC), None)
    court = next(row for row in result.rows if row.recipient_id == "court")
    assert court.raw == "++7727 2715802" and court.e164 == "+77272715802"
    assert "++7727 2715802" in table_lines(result.rows)[1]


SCRIPTED = BASIC.replace(
    "cover: {comments",
    "translations:\n"
    "  ru:\n"
    "    subject: Суд над Дмитрием Тихоновым\n"
    '    greeting: "Уважаемый {name},"\n'
    "    body: Мы протестуем против суда.\n"
    '    closing: "С уважением,"\n'
    "cover: {comments",
).replace(
    "    organization: Almaty City Court\n",
    "    organization: Алматинский городской суд\n    language: ru\n",
)


def test_each_office_gets_a_call_script_in_its_language(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    check_campaign(load_campaign(write_campaign(SCRIPTED)), out=tmp_path / "out", now=NOW)
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out/numbers.csv").read_text("utf-8-sig"))))
    court = next(row for row in rows if row["recipient_id"] == "court")
    assert court["call_script"].startswith("[ru] Здравствуйте! Подскажите, пожалуйста: это номер")
    assert "«Алматинский городской суд»" in court["call_script"]
    assert "«Almatinskiy gorodskoy sud»" in court["call_script_latin"]
    admin = next(row for row in rows if row["recipient_id"] == "admin")
    assert admin["call_script"] == (
        "[en] Hello, is this the fax number of Head of the Presidential Administration? "
        "May we send a letter for Head of the Presidential Administration to this number by fax? "
        "Thank you, goodbye."
    )
    assert admin["call_script_latin"] == ""
    # no number, nothing to say
    assert next(row for row in rows if row["recipient_id"] == "ministry")["call_script"] == ""
    workbook = openpyxl.load_workbook(tmp_path / "out/numbers.xlsx")
    header = [cell.value for cell in workbook.active[1]]
    assert header.index("call_script") < header.index("verification")
    page = (tmp_path / "out/numbers.html").read_text("utf-8")
    assert '<p lang="ru">Здравствуйте!' in page
    assert '<span class="latin" lang="ru-Latn">Zdravstvuyte!' in page
    assert "<dt>say</dt>" in page


def test_a_number_without_its_area_code_gets_the_code_of_the_offices_phone(
    write_campaign: Callable[..., Path],
) -> None:
    text = BASIC.replace(
        '    fax: "8 (7172) 74-55-24"\n', '    fax: "74 55 24"\n    phone: "8 (7172) 74-55-20"\n'
    )
    assert text != BASIC
    admin = next(r for r in checked(write_campaign(text), None).rows if r.recipient_id == "admin")
    assert admin.verdict == "invalid"
    assert (
        admin.reasons[0]
        == "has no area code: write it with the city code, as +7 <city code> 745524"
    )
    assert admin.reasons[1] == (
        "the recipient's other number, +7 7172 74 55 20, has the area code 7172 (Astana): "
        "if this one is in the same city, it is +7 7172 745524"
    )


def test_a_verification_row_for_no_number_of_the_campaign_is_reported(
    write_campaign: Callable[..., Path],
) -> None:
    sheet = (
        "number,result,date,by,note\n"
        "+7 7172 74 55 24,verified,2012-05-09,Ann,\n"
        "+7 7172 74 55 42,wrong,2012-05-09,Ann,\n"  # two digits swapped: the admin's number
        "+49 30 2091 0,verified,2012-05-09,Ann,\n"  # nowhere near
    )
    result = checked(write_campaign(BASIC, verification__csv=sheet), None)
    stray = [w for w in result.warnings if "none of the campaign's numbers" in w]
    assert len(stray) == 2, result.warnings
    assert stray[0].endswith(
        "verification.csv:3: '+7 7172 74 55 42' (+77172745542) is none of the campaign's numbers; "
        "did you mean +77172745524, the fax of admin? (the row counts for no recipient)"
    )
    assert (
        "verification.csv:4: '+49 30 2091 0' (+493020910) is none of the campaign's numbers "
        in (stray[1])
    )
    assert "did you mean" not in stray[1]


def test_check_prints_the_campaigns_and_the_sheets_warnings(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    sheet = "number,result,date\n+7 7172 74 55 42,wrong,2012-05-09\n"  # no number of the campaign
    path = write_campaign(BASIC, verification__csv=sheet)
    run = run_cli("check", str(path), "--out", "sheet", cwd=tmp_path)
    warnings = [line for line in run.stderr.splitlines() if line.startswith("faxbatch: warning:")]
    assert any(
        "verification.csv:2:" in w and "none of the campaign's numbers" in w for w in warnings
    )


def test_a_result_counts_every_number_and_keeps_the_first(messy: Path) -> None:
    rows = checked(messy, None).rows
    result = CheckResult(limit=1)
    for row in rows:
        result.keep([row])
    assert result.numbers == len(rows)
    assert result.rows == rows[:1]
    assert not result.complete
    unusable = [row for row in rows if not row.usable]
    assert result.unusable_count == len(unusable) > 1
    assert result.unusable == unusable[:1]
    assert result.exit_code == ExitCode.REJECTED_RECIPIENTS


def test_check_streams_every_recipient_into_the_sheet(messy: Path, tmp_path: Path) -> None:
    result = checked(messy, tmp_path / "out")
    assert result.complete
    with (tmp_path / "out/numbers.csv").open(encoding="utf-8-sig", newline="") as handle:
        sheet = list(csv.DictReader(handle))
    assert [(r["recipient_id"], r["channel"]) for r in sheet] == [
        (row.recipient_id, row.channel) for row in result.rows
    ]
    # the plans' spill file and the sheet's parts were temporary: only the sheet is in the folder
    assert {p.name for p in (tmp_path / "out").iterdir()} >= {
        "numbers.csv",
        "numbers.xlsx",
        "numbers.html",
    }
    assert not [p for p in (tmp_path / "out").iterdir() if p.suffix in (".part", ".spill")]


def test_a_plan_s_row_count_is_that_of_its_rows(messy: Path) -> None:
    """The build reserves the sheet's page by the count alone: it must be the rows' count."""
    from faxbatch.build.check import plan_row_count, plan_rows
    from faxbatch.build.plan import read_recipient
    from faxbatch.campaign.loader import iter_recipients

    campaign = load_campaign(messy)
    counts = [
        (plan_row_count(plan), len(plan_rows(plan)))
        for plan in (read_recipient(campaign, r) for r in iter_recipients(campaign))
    ]
    assert {count for count, _ in counts} >= {1, 2}  # a missing fax; a fax and a phone
    assert all(count == rows for count, rows in counts), counts
