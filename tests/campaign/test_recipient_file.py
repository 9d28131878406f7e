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
    path = campaign_with(write_campaign, tmp_path, "id,name,facs\nx,X,123\n")
    with pytest.raises(CampaignError) as info:
        load_campaign(path)
    assert "did you mean 'fax'" in str(info.value)
    assert "offices.csv:1" in str(info.value)


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
