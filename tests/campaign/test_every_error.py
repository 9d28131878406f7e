"""Every problem of a campaign in one run, each with its place and a hint that does not mislead."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from faxbatch.campaign.hints import close_word, key_hint
from faxbatch.campaign.loader import load_campaign
from faxbatch.errors import CampaignError, ExitCode
from tests.conftest import BASIC

FIVE_MISTAKES = (
    BASIC.replace("  email: ann@example.org\n", "  emial: ann@example.org\n")  # unknown key
    .replace("  closing:", "  clsoing:")  # unknown key, another section
    .replace("urgent: true", "urgent: sometimes")  # wrong type
    .replace("defaults: {country: KZ}", "defaults: {country: KZZ}")  # bad country
    .replace("  subject: The trial of Dmitry Tikhonov\n", "")  # a required field missing
)


def _problems(path: Path) -> CampaignError:
    with pytest.raises(CampaignError) as info:
        load_campaign(path)
    return info.value


def test_five_mistakes_are_all_named_in_one_run(
    write_campaign: Callable[..., Path], tmp_path: Path
) -> None:
    path = write_campaign(FIVE_MISTAKES)
    error = _problems(path)
    fields = [problem.field for problem in error.problems]
    assert fields == [
        "sender.emial",
        "defaults.country",
        "letter.clsoing",
        "letter.subject",
        "cover.urgent",
    ]
    assert all(problem.source == str(path) and problem.line for problem in error.problems)
    hints = {problem.field: problem.hint for problem in error.problems}
    assert hints["sender.emial"] == "did you mean 'email'?"
    assert hints["letter.clsoing"] == "did you mean 'closing'?"
    # the command line: exit 3, all five named, nothing written
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "faxbatch", "build", str(path), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == ExitCode.INVALID_CAMPAIGN
    assert "has 5 problems" in result.stderr
    for field in fields:
        assert field in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_a_bad_recipient_does_not_hide_the_next_one(write_campaign: Callable[..., Path]) -> None:
    text = BASIC.replace("  - id: admin\n", "  - id: Admin!\n").replace(
        "    name: Foreign Ministry\n", "    name: Foreign Ministry\n    country: XX\n"
    )
    error = _problems(write_campaign(text))
    assert [p.field for p in error.problems] == ["recipients[1].id", "recipients[2].country"]


def test_only_the_first_fifty_are_listed(write_campaign: Callable[..., Path]) -> None:
    extra = "".join(f"  - {{name: N{i}, country: Q{i}}}\n" for i in range(60))
    error = _problems(write_campaign(BASIC + extra))
    assert len(error.problems) == 60
    text = str(error)
    assert "recipients[52].country" in text  # the 50th problem (recipients 3 to 62)
    assert "recipients[53].country" not in text
    assert text.endswith("... and 10 more problems.")


def test_one_problem_reads_as_before(write_campaign: Callable[..., Path]) -> None:
    error = _problems(write_campaign(BASIC.replace("urgent: true", "urgent: sometimes")))
    assert error.problems == (error,)
    assert error.field == "cover.urgent"
    assert "problems" not in str(error)


@pytest.mark.parametrize(
    ("section", "key", "expected"),
    [
        ("letter", "signatories", "'signatories' belongs under the top level"),
        ("letter", "lang", "known keys: "),
        ("sender", "language", "'language' belongs under 'letter:' or a recipient"),
        ("", "footer", "known keys: "),
    ],
)
def test_misleading_hints_are_gone(section: str, key: str, expected: str) -> None:
    from faxbatch.campaign.loader import _SECTIONS

    elsewhere = {name: keys for name, keys in _SECTIONS.items() if name != section}
    hint = key_hint(key, _SECTIONS[section], elsewhere)
    assert "did you mean" not in hint
    assert hint.startswith(expected)


def test_a_key_of_another_section_says_where_it_goes(write_campaign: Callable[..., Path]) -> None:
    text = BASIC.replace("  closing:", "  envelope: DL\n  closing:").replace(
        "page: {size: A4}", "page: {size: A4}\ntitle: Free them"
    )
    error = _problems(write_campaign(text))
    hints = {problem.field: problem.hint for problem in error.problems}
    assert hints["letter.envelope"] == "'envelope' belongs under 'print:'"
    assert hints["title"] == "'title' belongs under 'campaign:' or a recipient"


def test_close_words() -> None:
    assert close_word("nmae", ["name", "fax"]) == "name"
    assert close_word("facs", ["name", "fax"]) == "fax"
    assert close_word("organisation", ["organization"]) == "organization"
    assert close_word("signatories", ["signature"]) is None
    assert close_word("date", ["page"]) is None
    assert close_word("to", ["id"]) is None


def test_every_header_problem_of_the_recipients_file(write_campaign: Callable[..., Path]) -> None:
    text = BASIC.split("recipients:")[0] + "recipients_file: people.csv\n"
    path = write_campaign(text, people__csv="nmae,fax,fax,notes\nA,1,2,x\n")
    error = _problems(path)
    messages = [problem.message for problem in error.problems]
    # 'nmae' and 'notes' are the recipients' own columns, not errors: two problems
    assert len(messages) == 2, messages
    assert "did you mean 'name' for 'nmae'?" in str(error)
    assert any("appears twice" in m for m in messages)
    assert any("needs a 'name' or an 'organization' column" in m for m in messages)


def test_gateway_keys_all_at_once(write_campaign: Callable[..., Path]) -> None:
    text = BASIC + "gateway:\n  email: {domian: fax.example, smtp_prot: 25, password: x}\n"
    error = _problems(write_campaign(text))
    assert len(error.problems) == 3
    assert "did you mean 'domain'?" in str(error)
    assert "did you mean 'smtp_port'?" in str(error)
