from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from faxbatch.campaign import iter_recipients, load_campaign
from faxbatch.errors import CampaignError, InputUnreadableError
from faxbatch.pipeline import BuildOptions, build_batch
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
