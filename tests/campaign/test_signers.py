"""Signatories, copies and "also sent to" in the campaign file; the signers file row by row."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from faxbatch.campaign.loader import iter_recipients, load_campaign
from faxbatch.campaign.model import CopyTo
from faxbatch.campaign.signers import iter_signers, usable_signers
from faxbatch.errors import CampaignError, InputUnreadableError
from tests.conftest import BASIC

SIGNED = BASIC.replace(
    "recipients:\n",
    """signatories:
  file: signers.csv
  mode: per_signer
copies_to:
  - {name: Campaign office, email: organizers@example.org}
  - {email: press@example.org}
recipients:
""",
).replace("  signature: [Ann Organizer]\n", "  signature: [Ann Organizer]\n  also_sent_to: true\n")

SIGNERS = """\
name,organization,country,role,city,email,address
Ann Smith,Teachers Union,US,Secretary,Oakland,ann@example.org,1 Oak St | Oakland CA
Bob Jones,,ca,,Toronto,,
,,US,,,,
Carla Ruiz,,XX,,,,
Ann Smith,teachers union,US,,,,
,IG Metall,DE,,Frankfurt,,
Ann Smith,,US,,,,
Dana,,,,,,,extra
"""


def test_the_campaign_reads_signatories_copies_and_also_sent_to(
    write_campaign: Callable[..., Path],
) -> None:
    campaign = load_campaign(write_campaign(SIGNED, **{"signers.csv": SIGNERS}))
    assert campaign.signatories is not None
    assert campaign.signatories.mode == "per_signer"
    assert campaign.signatories.file.name == "signers.csv"
    assert campaign.copies_to == (
        CopyTo("Campaign office", "organizers@example.org"),
        CopyTo("", "press@example.org"),
    )
    assert campaign.letter.also_sent_to is True


def test_bad_signer_rows_are_reported_with_their_line_and_the_others_used(
    write_campaign: Callable[..., Path],
) -> None:
    campaign = load_campaign(write_campaign(SIGNED, **{"signers.csv": SIGNERS}))
    signers = list(iter_signers(campaign))
    assert [s.line for s in signers] == [2, 3, 4, 5, 6, 7, 8, 9]
    problems = {s.line: s.problems for s in signers if s.problems}
    assert set(problems) == {4, 5, 6, 9}
    assert "signers.csv:4: the signer has neither a name nor an organization." in problems[4]
    assert "'XX' is not a country code" in problems[5][0]
    assert "the same signer (Ann Smith) is on line 2 already" in problems[6][0]
    assert "more cells than the header" in problems[9][0]
    used = list(usable_signers(campaign))
    assert [s.id for s in used] == ["ann-smith", "bob-jones", "ig-metall", "ann-smith-2"]
    ann = used[0]
    assert (ann.organization, ann.country, ann.role, ann.city, ann.email) == (
        "Teachers Union", "US", "Secretary", "Oakland", "ann@example.org"
    )  # fmt: skip
    assert ann.address == ("1 Oak St", "Oakland CA")
    assert used[1].country == "CA"  # written in lower case
    assert used[2].display_name == "IG Metall"  # an organization signs as such
    # the same ids on every reading (pass 2 reads the file again for each recipient)
    assert [s.id for s in usable_signers(campaign)] == [s.id for s in used]


def test_signers_from_is_read_from_the_campaign_file_and_a_recipients_file(
    write_campaign: Callable[..., Path],
) -> None:
    text = SIGNED.replace("  - id: admin\n", "  - id: admin\n    signers_from: [us, CA, US]\n")
    text = text.replace("recipients:\n", "recipients_file: offices.csv\nrecipients:\n")
    offices = "id,name,fax,signers_from\nembassy-de,Embassy in Berlin,+49 30 4700 7110,DE\n"
    path = write_campaign(text, **{"signers.csv": SIGNERS, "offices.csv": offices})
    found = {r.id: r.signers_from for r in iter_recipients(load_campaign(path))}
    assert found["admin"] == ("US", "CA")
    assert found["court"] == ()
    assert found["embassy-de"] == ("DE",)


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (("mode: per_signer", "mode: per_letter"), "signatories.mode", "unknown mode"),
        (("organizers@example.org", "Campaign <organizers@example.org>"), "copies_to[0].email",
         "one plain email address"),
        (("  file: signers.csv\n", ""), "signatories.file", "required"),
        (("also_sent_to: true", "also_sent_to: perhaps"), "letter.also_sent_to", "true or false"),
    ],
)  # fmt: skip
def test_mistakes_in_the_new_keys_are_campaign_errors(
    write_campaign: Callable[..., Path], change: tuple[str, str], field: str, words: str
) -> None:
    path = write_campaign(SIGNED.replace(*change), **{"signers.csv": SIGNERS})
    with pytest.raises(CampaignError) as caught:
        load_campaign(path)
    found = [p for p in caught.value.problems if p.field == field]
    assert found, [p.field for p in caught.value.problems]
    assert words in str(found[0])
    assert found[0].line is not None


def test_a_signers_file_with_an_unknown_column_names_it(
    write_campaign: Callable[..., Path],
) -> None:
    path = write_campaign(SIGNED, **{"signers.csv": "name,contry\nAnn,US\n"})
    with pytest.raises(CampaignError) as caught:
        load_campaign(path)
    text = str(caught.value)
    assert "signers.csv" in text and "'contry' is not a signer field" in text
    assert "did you mean 'country'?" in text


def test_a_signers_file_outside_the_campaign_folder_or_missing_is_refused(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_campaign(SIGNED.replace("file: signers.csv", "file: ../elsewhere.csv"))
    with pytest.raises(CampaignError, match="outside the campaign's folder"):
        load_campaign(path)
    path = write_campaign(SIGNED)
    with pytest.raises(InputUnreadableError, match="signers file"):
        load_campaign(path)
