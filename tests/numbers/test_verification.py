from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from faxbatch.build.pipeline import BuildOptions, build_batch
from faxbatch.build.plan import plan_recipients
from faxbatch.campaign.loader import load_campaign
from faxbatch.errors import CampaignError, ExitCode, InputUnreadableError
from faxbatch.numbers.reading import read_number
from faxbatch.numbers.verification import (
    Finding,
    VerificationSheet,
    judge,
    load_verification,
    parse_verification,
    unwrap_cell,
)
from faxbatch.sending.batch import load_batch
from tests.conftest import BASIC

# Friday 2012-05-11, 15:00 UTC (20:00 in Almaty, then UTC+6): the next window is Monday's
NOW = dt.datetime(2012, 5, 11, 15, 0, tzinfo=dt.UTC)
TODAY = NOW.date()


def parse(text: str) -> VerificationSheet:
    return parse_verification(
        text, source=Path("verification.csv"), regions=["KZ"], sender_region="US"
    )


def test_rows_are_matched_by_e164_whatever_their_form() -> None:
    sheet = parse(
        "\ufeffNumber;Result;Date;By;Note\n"
        '"=""+77272715802""";verified;2012-05-08;Ann;two rings\n'
        "8 (7172) 74-55-24;Wrong;09.05.2012;Борис;a flat now\n"
        "011 7 727 271 5807;no fax tone;2012-05-07T10:30;;\n"
    )
    assert sheet.warnings == ()
    assert [(f.e164, f.result, f.date.isoformat(), f.by, f.line) for f in sheet.findings] == [
        ("+77272715802", "verified", "2012-05-08", "Ann", 2),
        ("+77172745524", "wrong", "2012-05-09", "Борис", 3),
        ("+77272715807", "no-fax-tone", "2012-05-07", "", 4),
    ]


def test_malformed_rows_are_reported_with_their_line_and_the_others_used() -> None:
    sheet = parse(
        "number,result,date,by,note\n"
        "+7 727 271 58 02,verified,2012-05-08,Ann,\n"
        "2715802,verified,2012-05-08,Ann,\n"  # 3: no area code
        "+7 727 271 58 03,verifed,2012-05-08,,\n"  # 4: a typo
        "+7 727 271 58 04,wrong,5/8/2012,,\n"  # 5: an ambiguous date
        "\n"
        "7.72727E+10,wrong,2012-05-08,,\n"  # 7: a number a spreadsheet rounded
        '"+7 727 271 58 05",wrong,,,\n'  # 8: quoted; no date
        "+7 727 271 58 06,,,Ann,\n"  # listed, not called yet: not an error
        "# a remark,,,,\n"
        ",wrong,2012-05-08,,\n"  # 11: no number
        "+7 727 271 58 07,no-answer,2012-05-10,Ann\n"  # a short row still reads
    )
    assert [f.e164 for f in sheet.findings] == ["+77272715802", "+77272715807"]
    lines = [w.split(":")[1] for w in sheet.warnings]
    assert lines == ["3", "4", "5", "7", "8", "11"]
    assert all(w.startswith("verification.csv:") for w in sheet.warnings)
    assert all(w.endswith("the row is ignored") for w in sheet.warnings)
    assert "did you mean 'verified'?" in sheet.warnings[1]
    assert "YYYY-MM-DD" in sheet.warnings[2]
    assert "area code" in sheet.warnings[0]


def test_the_latest_finding_counts() -> None:
    sheet = parse(
        "number,result,date\n"
        "+77272715802,verified,2012-05-09\n"
        "+77272715802,wrong,2012-03-01\n"
        "+77172745524,wrong,2012-05-01\n"
        "+77172745524,verified,2012-05-01\n"
    )
    assert sheet.latest("+77272715802").result == "verified"  # type: ignore[union-attr]
    assert sheet.latest("+77172745524").result == "verified"  # type: ignore[union-attr]
    assert sheet.latest("+77270000000") is None
    assert sheet.latest(None) is None


def test_a_sheet_without_its_columns_cannot_be_read() -> None:
    with pytest.raises(InputUnreadableError) as info:
        parse("numbr,result,when\n+77272715802,verified,2012-05-08\n")
    assert info.value.exit_code == ExitCode.INPUT_UNREADABLE
    assert "verification.csv:1" in str(info.value)
    assert "'numbr' should be 'number'" in str(info.value)


def test_cells_lose_what_keeps_them_text() -> None:
    assert unwrap_cell('="+77272715802"') == "+77272715802"
    assert unwrap_cell("'+7 727") == "+7 727"
    assert unwrap_cell("\t+7 727 ") == "+7 727"
    assert unwrap_cell('="say ""hi"""') == 'say "hi"'


def test_missing_unreadable_and_non_utf8_files(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    campaign = load_campaign(write_campaign())
    assert load_verification(campaign) == VerificationSheet()
    (tmp_path / "verification.csv").mkdir()
    with pytest.raises(InputUnreadableError):
        load_verification(campaign)
    (tmp_path / "verification.csv").rmdir()
    (tmp_path / "verification.csv").write_bytes(b"number,result,date\n+7 727,\xe9,2012-05-08\n")
    with pytest.raises(InputUnreadableError) as info:
        load_verification(campaign)
    assert "verification.csv:2" in str(info.value) and "UTF-8" in str(info.value)


def _reading(text: str = "+77272715802", kind: str = "fax"):  # type: ignore[no-untyped-def]
    return read_number(text, kind=kind, recipient_region="KZ", sender_region="US")  # type: ignore[arg-type]


def _finding(result: str, date: dt.date, by: str = "Ann", note: str = "") -> VerificationSheet:
    finding = Finding("+77272715802", "+77272715802", result, date, by=by, note=note, line=2)
    return VerificationSheet(findings=(finding,))


@pytest.mark.parametrize(
    ("result", "days", "kind", "status", "verdict", "reason"),
    [
        ("verified", 10, "fax", "verified", "ok", None),
        ("verified", 91, "fax", "stale", "warning", "91 days ago (more than 90): check it again"),
        ("verified", -3, "fax", "verified", "warning", "a date after today"),
        ("wrong", 200, "fax", "wrong", "refused", "found wrong by Ann on"),
        ("no-fax-tone", 1, "fax", "no-fax-tone", "refused", "no fax tone when called by Ann"),
        ("no-fax-tone", 1, "phone", "no-fax-tone", "ok", None),
        ("no-answer", 1, "fax", "no-answer", "warning", "no answer when called by Ann"),
    ],
)
def test_judging_a_number_by_what_volunteers_found(
    result: str, days: int, kind: str, status: str, verdict: str, reason: str | None
) -> None:
    sheet = _finding(result, TODAY - dt.timedelta(days=days))
    judged, found = judge(
        _reading(kind=kind),
        kind=kind,
        sheet=sheet,
        today=TODAY,
        max_age_days=90,  # type: ignore[arg-type]
    )
    assert found is not None and found.status == status
    assert judged.verdict == verdict
    if reason is None:
        assert judged.reasons == ()
    else:
        assert reason in judged.reasons[-1]


def test_an_unlisted_number_is_left_alone() -> None:
    reading = _reading("+77172745524")
    assert judge(
        reading, kind="fax", sheet=_finding("wrong", TODAY), today=TODAY, max_age_days=90
    ) == (
        reading,
        None,
    )


def test_a_wrong_number_gives_way_to_another_good_one(write_campaign: Callable[..., Path]) -> None:
    path = write_campaign(BASIC.replace('fax: "++7727 2715802"', 'fax: "++7727 2715802, 2715803"'))
    sheet = parse("number,result,date,by\n+77272715802,wrong,2012-05-08,Ann\n")
    court = plan_recipients(load_campaign(path), sheet=sheet, now=NOW)[0]
    assert court.ready
    assert court.fax is not None and court.fax.e164 == "+77272715803"
    assert court.fax_readings[0].verdict == "refused"
    fields = court.manifest_fields()
    assert fields["fax_e164"] == "+77272715803" and fields["fax_verification"] is None


VERIFICATION_CSV = """\
number,result,date,by,note
++7727 2715802,wrong,2012-05-08,Ann Lee,a private flat now
8 (7172) 74-55-24,verified,2012-05-09,Борис,fax tone after two rings
this is no number,verified,2012-05-09,,
"""


def test_round_trip_through_the_build(write_campaign: Callable[..., Path], tmp_path: Path) -> None:
    # a deliverable address: a street and the city (a city alone is no postal address)
    text = BASIC.replace("    address: [Almaty]\n", "    address: [Tole Bi 55, Almaty]\n", 1)
    path = write_campaign(text, verification__csv=VERIFICATION_CSV)
    campaign = load_campaign(path)
    sheet = load_verification(campaign)
    assert len(sheet.warnings) == 1 and sheet.warnings[0].startswith(
        f"{tmp_path}/verification.csv:4:"
    )
    result = build_batch(campaign, BuildOptions(out=tmp_path / "out", now=NOW))
    manifest = json.loads((tmp_path / "out/manifest.json").read_bytes())
    assert manifest["schema_version"] == 1
    docs = {doc["recipient_id"]: doc for doc in manifest["documents"]}
    assert docs == {doc["recipient_id"]: doc for doc in result.documents}

    court = docs["court"]
    # the wrong number is not used: no fax; the court has an address, so it gets a letter by post
    assert (court["channel"], court["status"]) == ("post", "ready")
    assert court["fax_verdict"] == "refused"
    assert court["fax_verification"] == "wrong"
    assert court["fax_verified_on"] == "2012-05-08" and court["fax_verified_by"] == "Ann Lee"
    assert "Found wrong by Ann Lee on 2012-05-08 (a private flat now)." in court["problems"][0]
    assert court["window_start_utc"] is None and court["file"] == "post/court.pdf"
    assert not (tmp_path / "out/faxes/court.pdf").exists()

    admin = docs["admin"]
    assert admin["status"] == "ready" and admin["fax_verdict"] == "ok"
    assert (admin["fax_verification"], admin["fax_verified_on"]) == ("verified", "2012-05-09")
    assert admin["fax_verified_by"] == "Борис"
    # Friday 20:00 in Astana (UTC+6 in 2012): Monday 09:00 to 18:00
    assert admin["window_start_local"] == "2012-05-14T09:00:00+06:00"
    assert admin["window_end_local"] == "2012-05-14T18:00:00+06:00"
    assert admin["window_start_utc"] == "2012-05-14T03:00:00Z"
    assert admin["window_end_utc"] == "2012-05-14T12:00:00Z"
    assert admin["window_time_zone"] == "Asia/Almaty"
    csv_text = (tmp_path / "out/manifest.csv").read_text("utf-8-sig")
    assert "fax_verification" in csv_text.splitlines()[0] and "Борис" in csv_text
    # the gateways read the window back from the manifest; the wrong number is never sent
    faxes = load_batch(tmp_path / "out").faxes
    assert [fax.recipient_id for fax in faxes] == ["admin"]
    assert faxes[0].window_start == dt.datetime(2012, 5, 14, 3, 0, tzinfo=dt.UTC)
    assert faxes[0].window_end == dt.datetime(2012, 5, 14, 12, 0, tzinfo=dt.UTC)


def test_an_old_verification_is_stale_in_the_manifest(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    text = BASIC.replace(
        "page: {size: A4}", "page: {size: A4}\nnumbers: {verification_max_age_days: 2}"
    )
    path = write_campaign(
        text, verification__csv="number,result,date\n+77172745524,verified,2012-05-01\n"
    )
    result = build_batch(load_campaign(path), BuildOptions(out=tmp_path / "out", now=NOW))
    admin = next(doc for doc in result.documents if doc["recipient_id"] == "admin")
    assert admin["status"] == "ready"  # stale is a warning: the fax still goes out
    assert admin["fax_verdict"] == "warning"
    assert admin["fax_verification"] == "stale" and admin["fax_verified_on"] == "2012-05-01"
    assert any("10 days ago (more than 2)" in reason for reason in admin["fax_reasons"])


def test_an_unclosed_quote_makes_the_sheet_unusable(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    campaign = load_campaign(write_campaign())
    (tmp_path / "verification.csv").write_text(
        "number,result,date,note\n"
        '+7 727 271 58 07,no-answer,2012-05-08,"rang\n'
        "+7 727 271 58 02,wrong,2012-05-09,a flat\n",
        encoding="utf-8",
    )
    with pytest.raises(InputUnreadableError) as info:
        load_verification(campaign)
    assert "verification.csv:2: the quote opened on line 2 is never closed" in str(info.value)
    with pytest.raises(InputUnreadableError, match="the cell in column 1"):
        parse('number,result,date\n"+7 727\n271 58 02",wrong,2012-05-09\n')


def test_a_sheet_linked_from_outside_is_refused(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-sheet.csv"
    outside.write_text("number,result,date\n+7 727 271 58 02,wrong,2012-05-09\n")
    try:
        (tmp_path / "verification.csv").symlink_to(outside)
        with pytest.raises(CampaignError, match="outside the campaign's folder"):
            load_verification(load_campaign(write_campaign()))
        campaign = load_campaign(write_campaign(), allow=[tmp_path.parent])
        assert [f.result for f in load_verification(campaign).findings] == ["wrong"]
    finally:
        outside.unlink()
