from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from faxbatch.campaign.loader import load_campaign, slugify
from faxbatch.errors import CampaignError, ExitCode, InputUnreadableError
from tests.conftest import BASIC

INLINE_BODY = (
    "  body: |\n    We protest against the trial.\n\n    - release him\n    - drop the charges\n"
)


def test_basic_campaign_loads(basic_campaign: Path) -> None:
    campaign = load_campaign(basic_campaign)
    assert campaign.title == "Free the activists"
    assert campaign.date == dt.date(2012, 5, 10)
    assert campaign.sender.country == "US"
    assert campaign.default_country == "KZ"
    assert [r.id for r in campaign.recipients] == ["court", "admin", "ministry"]
    court = campaign.recipients[0]
    assert court.fax == "++7727 2715802"
    assert court.address == ("Almaty",)
    assert campaign.recipient_country(court) == "KZ"
    assert campaign.cover.urgent is True


def test_text_fields_are_taken_as_written(write_campaign: Callable[..., Path]) -> None:
    text = BASIC.replace("name: Foreign Ministry", "name: yes\n    fax: 0077272715802")
    campaign = load_campaign(write_campaign(text))
    assert campaign.recipients[2].name == "yes"
    assert campaign.recipients[2].fax == "0077272715802"


def test_ids_are_derived_from_names_and_unique(write_campaign: Callable[..., Path]) -> None:
    text = BASIC.split("recipients:")[0] + (
        "recipients:\n"
        "  - name: Суд города Алматы\n"
        "  - name: Foreign Ministry\n"
        "  - name: Foreign  Ministry!\n"
    )
    ids = [r.id for r in load_campaign(write_campaign(text)).recipients]
    assert ids == ["sud-goroda-almaty", "foreign-ministry", "foreign-ministry-2"]


def test_slugify_handles_kazakh_letters() -> None:
    assert slugify("Қазақстан Әділет") == "qazaqstan-adilet"
    assert slugify("***") == "recipient"


def _error(path: Path) -> CampaignError:
    with pytest.raises(CampaignError) as info:
        load_campaign(path)
    assert info.value.exit_code == ExitCode.INVALID_CAMPAIGN
    return info.value


def test_unknown_key_names_line_and_suggests(write_campaign: Callable[..., Path]) -> None:
    error = _error(write_campaign(BASIC.replace('    fax: "++7727', '    facs: "++7727')))
    assert error.field == "recipients[0].facs"
    line = BASIC.splitlines().index('    fax: "++7727 2715802"') + 1
    assert error.line == line
    assert "did you mean 'fax'" in str(error)
    assert f"campaign.yaml:{line}" in str(error)


def test_missing_required_field(write_campaign: Callable[..., Path]) -> None:
    error = _error(write_campaign(BASIC.replace("  subject: The trial of Dmitry Tikhonov\n", "")))
    assert error.field == "letter.subject"
    assert "required" in str(error)


def test_wrong_type(write_campaign: Callable[..., Path]) -> None:
    error = _error(write_campaign(BASIC.replace("urgent: true", "urgent: maybe")))
    assert error.field == "cover.urgent"
    assert "true or false" in str(error)
    error = _error(write_campaign(BASIC.replace("recipients:\n", "recipients: none\nx:\n", 1)))
    assert error.field in ("recipients", "x")


def test_recipients_must_be_a_list(write_campaign: Callable[..., Path]) -> None:
    text = BASIC.split("recipients:")[0] + "recipients: {name: x}\n"
    error = _error(write_campaign(text))
    assert error.field == "recipients"
    assert "list" in str(error)


def test_malformed_yaml_names_the_line(write_campaign: Callable[..., Path]) -> None:
    error = _error(write_campaign(BASIC.replace("page: {size: A4}", "page: {size: A4")))
    assert "not valid YAML" in str(error)
    assert error.line is not None


def test_bad_country_suggests_a_code(write_campaign: Callable[..., Path]) -> None:
    error = _error(
        write_campaign(BASIC.replace("defaults: {country: KZ}", "defaults: {country: KAZ}"))
    )
    assert error.field == "defaults.country"
    assert "ISO 3166" in str(error)


def test_bad_page_size(write_campaign: Callable[..., Path]) -> None:
    error = _error(write_campaign(BASIC.replace("size: A4", "size: A5")))
    assert "A4 or Letter" in str(error)


def test_unknown_placeholder(write_campaign: Callable[..., Path]) -> None:
    error = _error(write_campaign(BASIC.replace("Dear {name},", "Dear {nmae},")))
    assert error.field == "letter.greeting"
    assert "did you mean '{name}'" in str(error)


def test_duplicate_ids(write_campaign: Callable[..., Path]) -> None:
    error = _error(write_campaign(BASIC.replace("id: admin", "id: court")))
    assert "already used by recipients[0]" in str(error)


def test_duplicate_keys(write_campaign: Callable[..., Path]) -> None:
    error = _error(
        write_campaign(BASIC.replace("  - id: admin\n", "  - id: admin\n    id: admin2\n"))
    )
    assert "given twice" in str(error)


def test_recipient_needs_a_name(write_campaign: Callable[..., Path]) -> None:
    error = _error(write_campaign(BASIC.replace("name: Foreign Ministry", "fax: '123'")))
    assert error.field == "recipients[2].name"


def test_body_file_is_read_relative_to_the_campaign(write_campaign: Callable[..., Path]) -> None:
    text = BASIC.replace(
        INLINE_BODY,
        "  body_file: letter.md\n",
    )
    path = write_campaign(text, letter__md="Hello **there**.\n")
    assert load_campaign(path).letter.body == "Hello **there**.\n"


def test_unreadable_body_file(write_campaign: Callable[..., Path]) -> None:
    text = BASIC.replace(
        INLINE_BODY,
        "  body_file: missing.md\n",
    )
    with pytest.raises(InputUnreadableError) as info:
        load_campaign(write_campaign(text))
    assert info.value.exit_code == ExitCode.INPUT_UNREADABLE
    assert "letter.body_file" in str(info.value)
    assert "missing.md" in str(info.value)


def test_unreadable_campaign(tmp_path: Path) -> None:
    with pytest.raises(InputUnreadableError):
        load_campaign(tmp_path / "nope.yaml")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(b"campaign:\n  title: \xff\xfe\n")
    assert "UTF-8" in str(_error(path))


def test_files_are_read_only_from_the_allowed_folders(
    write_campaign: Callable[..., Path], tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    shared = tmp_path_factory.mktemp("shared")
    (shared / "letter.md").write_text("Shared text.\n", encoding="utf-8")
    path = write_campaign(BASIC.replace(INLINE_BODY, f"  body_file: {shared / 'letter.md'}\n"))
    error = _error(path)
    assert error.exit_code == ExitCode.INVALID_CAMPAIGN and error.field == "letter.body_file"
    assert error.line == 14 and "outside the campaign's folder" in str(error)
    assert f"--allow-path {shared.resolve()}" in str(error)
    campaign = load_campaign(path, allow=[shared])
    assert campaign.letter.body == "Shared text.\n"
    # the folders travel with the campaign, for the readers after it
    assert campaign.input_folders == (tmp_path.resolve(), shared.resolve())


def test_counts_too_big_to_read_are_invalid(write_campaign: Callable[..., Path]) -> None:
    text = BASIC + "print: {max_pages_per_volume: " + "9" * 5000 + "}\n"
    error = _error(write_campaign(text))
    assert error.field == "print.max_pages_per_volume" and "too big" in str(error)
    text = BASIC + "print: {max_pages_per_volume: " + "0" * 5000 + "7}\n"
    assert load_campaign(write_campaign(text)).printing.max_pages_per_volume == 7
