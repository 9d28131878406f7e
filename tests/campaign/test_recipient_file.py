from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from faxbatch.build.pipeline import BuildOptions, build_batch
from faxbatch.campaign.loader import iter_recipients, load_campaign
from faxbatch.errors import CampaignError, InputUnreadableError
from tests.conftest import BASIC

HEAD = BASIC.split("recipients:")[0] + "recipients_file: offices.csv\n"


def campaign_with(
    write_campaign: Callable[..., Path], tmp_path: Path, csv_text: str, encoding: str = "utf-8"
) -> Path:
    (tmp_path / "offices.csv").write_bytes(csv_text.encode(encoding))
    return write_campaign(HEAD)


def test_rows_become_recipients(write_campaign: Callable[..., Path], tmp_path: Path) -> None:
    path = campaign_with(
        write_campaign,
        tmp_path,
        (
            "\ufeffid;name;organization;address;country;fax\n"
            'court;Presiding Judge;Almaty City Court;"Almaty\nҚазақстан";KZ;++7727 2715802\n'
            ";Foreign Ministry;;Astana | Kazakhstan;;\n"
        ),
    )
    recipients = list(iter_recipients(load_campaign(path)))
    assert [r.id for r in recipients] == ["court", "foreign-ministry"]
    assert recipients[0].address == ("Almaty", "Қазақстан")
    assert recipients[1].address == ("Astana", "Kazakhstan")
    assert recipients[0].field("fax") == "offices.csv:2 fax"
    assert recipients[1].line == 4  # the quoted address spans two lines


def test_unknown_column_suggests_the_key(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    # a column faxbatch does not know is the recipients' own (kept), with a warning when it looks
    # like a known one: the row then has no fax and is rejected for it, not the whole campaign
    path = campaign_with(write_campaign, tmp_path, "id,name,facs\nx,X,123\n")
    campaign = load_campaign(path)
    assert campaign.fields == ("facs",)
    (warning,) = [w for w in campaign.warnings if "did you mean" in w]
    assert warning.startswith("offices.csv:1: column 'facs' is not a recipient field")
    assert warning.endswith("did you mean 'fax'?")
    (recipient,) = iter_recipients(campaign)
    assert recipient.fields == (("facs", "123"),) and recipient.fax == ""


def test_missing_file_is_unreadable(write_campaign: Callable[..., Path]) -> None:
    with pytest.raises(InputUnreadableError):
        load_campaign(write_campaign(HEAD))


def test_bad_rows_are_rejected_not_fatal(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    path = campaign_with(
        write_campaign,
        tmp_path,
        (
            "id,name,country,fax,allow_number_types\n"
            "a,Office A,KZ,+7 7172 74 55 24,\n"
            "a,Office A again,KZ,+7 7172 74 55 25,\n"
            "b,Office B,KAZ,+7 7172 74 55 26,\n"
            "c,,,+7 7172 74 55 27,\n"
            "d,Office D,KZ,+7 7172 74 55 28,premium\n"
        ),
    )
    result = build_batch(load_campaign(path), BuildOptions(out=tmp_path / "out", jobs=1))
    docs = {d["recipient_id"]: d for d in result.documents}
    assert docs["a"]["status"] == "ready"
    problems = {rid: " ".join(d["problems"]) for rid, d in docs.items()}
    assert (
        "offices.csv:3" in problems["office-a-again"]
        and "already used on line 2" in (problems["office-a-again"])
    )
    assert "'KAZ' is not a country code" in problems["b"]
    assert "neither a name nor an organization" in problems["c"]
    assert "'premium' is not a number type" in problems["d"]
    assert result.ready == 1 and result.rejected == 4


def test_not_utf8(write_campaign: Callable[..., Path], tmp_path: Path) -> None:
    path = campaign_with(write_campaign, tmp_path, "id,name\nx,Müller\n", encoding="latin-1")
    with pytest.raises(CampaignError) as info:
        list(iter_recipients(load_campaign(path)))
    assert "UTF-8" in str(info.value)


def test_ids_are_unique_across_the_list_and_the_file(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    (tmp_path / "offices.csv").write_text(
        "id,name\ncourt,Another Court\n,Court\nministry-2,Ministry Two\n", encoding="utf-8"
    )
    text = BASIC.replace("recipients:", "recipients_file: offices.csv\nrecipients:")
    text += "  - name: Ministry\n"
    recipients = list(iter_recipients(load_campaign(write_campaign(text))))
    ids = [r.id for r in recipients]
    assert len(ids) == len(set(ids)), ids
    # the campaign file's list keeps its ids; a derived one avoids the file's ids
    assert ids[:4] == ["court", "admin", "ministry", "ministry-3"]
    row = recipients[4]
    assert row.problems == (
        "offices.csv:2: id 'court' is already used by recipients[0] in campaign.yaml.",
    )
    assert row.id == "another-court"
    assert [r.id for r in recipients[5:]] == ["court-2", "ministry-2"]


def test_a_header_without_rows_is_no_campaign(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    with pytest.raises(CampaignError) as info:
        load_campaign(campaign_with(write_campaign, tmp_path, "id;name;fax\r\n;;\r\n"))
    assert info.value.field == "recipients_file" and "no rows" in str(info.value)


def test_an_unclosed_quote_makes_the_file_unusable(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    rows = 'name,address\nA,"Almaty\nKZ"\nB,"Astana\nC,Road 1\nD,Road 2\n'
    with pytest.raises(InputUnreadableError) as info:
        load_campaign(campaign_with(write_campaign, tmp_path, rows))
    assert "offices.csv:4: the quote opened on line 4 is never closed" in str(info.value)


def test_a_file_outside_the_folder_is_refused(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-outside.csv"
    outside.write_text("name\nX\n", encoding="utf-8")
    try:
        (tmp_path / "offices.csv").symlink_to(outside)
        with pytest.raises(CampaignError) as info:
            load_campaign(write_campaign(HEAD))
        assert info.value.field == "recipients_file" and "--allow-path" in str(info.value)
        campaign = load_campaign(write_campaign(HEAD), allow=[tmp_path.parent])
        assert [r.name for r in iter_recipients(campaign)] == ["X"]
    finally:
        outside.unlink()


def test_own_columns_are_placeholders_and_go_into_the_manifest(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    from tests.pdfcheck import page_texts

    (tmp_path / "offices.csv").write_text(
        "id,name,fax,case_number,email,notes\n"
        "court,Presiding Judge,+7 727 271 58 02,2-1234/2012,court@example.kz,called twice\n"
        "admin,Head of the Administration,+7 7172 74 55 24,,,\n",
        encoding="utf-8",
    )
    text = (
        BASIC.split("recipients:")[0]
        .replace("Dear {name},", "Dear {name} (case {case_number}),")
        .replace("cover: {comments: Please pass this on.", "cover: {comments: 'Case {case_number}'")
        + "recipients_file: offices.csv\n"
        + "recipients:\n  - id: ministry\n    name: Foreign Ministry\n    fax: '+7 7172 72 00 00'\n"
    )
    campaign = load_campaign(write_campaign(text))
    assert campaign.fields == ("case_number", "email", "notes")
    (unused,) = [w for w in campaign.warnings if "used in no letter text" in w]
    assert unused.startswith("offices.csv: column(s) 'email', 'notes' are used in no letter text")
    recipients = {r.id: r for r in iter_recipients(campaign)}
    assert dict(recipients["court"].fields)["case_number"] == "2-1234/2012"
    # a recipient of the campaign file has the columns too, empty
    assert recipients["ministry"].fields == (("case_number", ""), ("email", ""), ("notes", ""))
    result = build_batch(campaign, BuildOptions(out=tmp_path / "out", jobs=1))
    docs = {d["recipient_id"]: d for d in result.documents}
    assert docs["court"]["fields"] == {
        "case_number": "2-1234/2012",
        "email": "court@example.kz",
        "notes": "called twice",
    }
    court_text = " ".join(page_texts(tmp_path / "out" / docs["court"]["file"]))
    assert "Dear Presiding Judge (case 2-1234/2012)," in court_text
    assert "Case 2-1234/2012" in court_text
    ministry_text = " ".join(page_texts(tmp_path / "out" / docs["ministry"]["file"]))
    assert "Dear Foreign Ministry (case )," in ministry_text
    manifest = (tmp_path / "out/manifest.csv").read_text("utf-8-sig").splitlines()
    assert manifest[0].endswith(",fields")
    (court_line,) = [line for line in manifest if line.startswith("court,")]
    assert court_line.endswith(
        "case_number: 2-1234/2012; email: court@example.kz; notes: called twice"
    )


def test_a_placeholder_no_column_gives_is_still_an_error(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    (tmp_path / "offices.csv").write_text("name,fax,case_number\nA,+7 727 271 58 02,1\n", "utf-8")
    text = BASIC.split("recipients:")[0].replace("Dear {name},", "Dear {name} {case_nmber},")
    with pytest.raises(CampaignError) as info:
        load_campaign(write_campaign(text + "recipients_file: offices.csv\n"))
    assert "unknown placeholder '{case_nmber}'" in str(info.value)
    assert "did you mean '{case_number}'?" in str(info.value)


def test_a_number_a_spreadsheet_rounded_says_so(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    path = campaign_with(
        write_campaign, tmp_path, 'id,name,fax\na,Office A,7.71727E+10\nb,Office B,"7,71727E+10"\n'
    )
    result = build_batch(load_campaign(path), BuildOptions(out=tmp_path / "out", jobs=1))
    for doc in result.documents:
        reasons = " ".join(doc["problems"])
        assert "is a number a spreadsheet rounded: its last digits are lost" in reasons, reasons
        assert "letters" not in reasons
        assert reasons.count("E+10'") == 1, reasons  # the number is named once
