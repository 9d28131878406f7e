"""The campaign keys about numbers: ``numbers:`` (office hours, verification age) and
``allow_number_types``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest

from faxbatch.build.plan import plan_recipients
from faxbatch.campaign.loader import load_campaign
from faxbatch.campaign.model import OfficeHours
from faxbatch.errors import CampaignError
from tests.conftest import BASIC

NUMBERS = """\
numbers:
  verification_max_age_days: 30
  office_hours:
    days: [Sun, mon-thu]
    start: 08:30
    end: "16:00"
"""


def with_numbers(section: str) -> str:
    return BASIC.replace("recipients:\n", section + "recipients:\n")


def error(write: Callable[..., Path], text: str) -> CampaignError:
    with pytest.raises(CampaignError) as info:
        load_campaign(write(text))
    return info.value


def test_defaults(basic_campaign: Path) -> None:
    campaign = load_campaign(basic_campaign)
    assert campaign.verification_max_age_days == 90
    assert campaign.office_hours == OfficeHours()
    assert campaign.office_hours.describe() == "Mon–Fri 09:00–18:00"
    assert campaign.recipients[0].allow_number_types == ()


def test_numbers_section(write_campaign: Callable[..., Path]) -> None:
    campaign = load_campaign(write_campaign(with_numbers(NUMBERS)))
    assert campaign.verification_max_age_days == 30
    # an unquoted 08:30 is taken as written (YAML 1.1 would make it the number 510)
    assert campaign.office_hours == OfficeHours(
        days=(0, 1, 2, 3, 6), start=dt.time(8, 30), end=dt.time(16)
    )


@pytest.mark.parametrize(
    ("section", "field", "message"),
    [
        ("numbers: {office_hour: {}}\n", "numbers.office_hour", "did you mean 'office_hours'?"),
        ("numbers: {office_hours: {day: [mon]}}\n", "numbers.office_hours.day", "'days'"),
        (
            "numbers: {office_hours: {days: [mon, tuseday]}}\n",
            "numbers.office_hours.days[1]",
            "did you mean 'tuesday'?",
        ),
        (
            "numbers: {office_hours: {hours: ['09:00-13:00', '12:00-18:00']}}\n",
            "numbers.office_hours.hours[1]",
            "overlaps",
        ),
        ("numbers: {office_hours: {hours: ['9-13']}}\n", "numbers.office_hours.hours[0]", "'9'"),
        ("numbers: {office_hours: {holidays: maybe}}\n", "numbers.office_hours.holidays", "true"),
        ("numbers: {office_hours: {days: []}}\n", "numbers.office_hours.days", "no days"),
        ("numbers: {office_hours: {start: '9am'}}\n", "numbers.office_hours.start", "HH:MM"),
        ("numbers: {office_hours: {end: '25:00'}}\n", "numbers.office_hours.end", "time of day"),
        (
            "numbers: {office_hours: {start: '18:00', end: '09:00'}}\n",
            "numbers.office_hours.end",
            "before they start",
        ),
        ("numbers: {verification_max_age_days: 0}\n", "numbers.verification_max_age_days", "1"),
        ("numbers: {verification_max_age_days: soon}\n", "numbers.verification_max_age_days", ""),
    ],
)
def test_numbers_section_errors(
    write_campaign: Callable[..., Path], section: str, field: str, message: str
) -> None:
    text = with_numbers(section)
    found = error(write_campaign, text)
    assert found.field == field
    assert found.line == text.splitlines().index(section.rstrip("\n")) + 1
    assert message in str(found)


def test_allowed_number_types_reach_the_judgement(write_campaign: Callable[..., Path]) -> None:
    text = BASIC.replace(
        "    name: Foreign Ministry\n",
        "    name: Foreign Ministry\n    country: DE\n    fax: '+49 900 1 234567'\n",
    )
    refused = plan_recipients(load_campaign(write_campaign(text)))[2]
    assert not refused.ready
    assert "premium-rate" in refused.all_problems[0].lower()  # a sentence: "Premium-rate: ..."
    allowed = text.replace("country: DE\n", "country: DE\n    allow_number_types: [Premium-Rate]\n")
    campaign = load_campaign(write_campaign(allowed))
    assert campaign.recipients[2].allow_number_types == ("premium_rate",)
    plan = plan_recipients(campaign)[2]
    assert plan.ready and plan.fax is not None and plan.fax.number_type == "premium_rate"


def test_unknown_number_type_suggests_one(write_campaign: Callable[..., Path]) -> None:
    text = BASIC.replace(
        "    name: Foreign Ministry\n",
        "    name: Foreign Ministry\n    allow_number_types: [toll_free, premium]\n",
    )
    found = error(write_campaign, text)
    assert found.field == "recipients[2].allow_number_types[1]"
    assert "did you mean 'premium_rate'?" in str(found)


def test_an_office_of_its_own_hours(write_campaign: Callable[..., Path]) -> None:
    # an embassy open Sunday to Thursday with a lunch break, and working on holidays
    text = with_numbers(NUMBERS).replace(
        "    name: Foreign Ministry\n",
        "    name: Foreign Ministry\n"
        "    fax: '+7 7172 72 05 17'\n"
        "    office_hours:\n"
        "      days: sun-thu\n"
        "      hours: [09:00-13:00, '14:00–18:00']\n"
        "      holidays: false\n",
    )
    campaign = load_campaign(write_campaign(text))
    ministry = campaign.recipients[2]
    assert ministry.office_hours == OfficeHours(
        days=(0, 1, 2, 3, 6),
        start=dt.time(9),
        end=dt.time(18),
        spans=((dt.time(9), dt.time(13)), (dt.time(14), dt.time(18))),
        holidays=False,
    )
    assert campaign.recipients[0].office_hours is None  # the others keep the campaign's
    # the window of its number follows its own calendar: Friday 2012-05-11 evening in Astana,
    # the next window is Sunday morning until lunch
    now = dt.datetime(2012, 5, 11, 15, 0, tzinfo=dt.UTC)
    plan = plan_recipients(campaign, now=now)[2]
    assert plan.fax is not None and plan.fax.e164 is not None
    window = plan.windows[plan.fax.e164].window
    assert window is not None
    assert window.start_local.isoformat() == "2012-05-13T09:00:00+06:00"
    assert window.end_local.isoformat() == "2012-05-13T13:00:00+06:00"
    # inherits from the campaign what it does not say
    only_days = text.replace("      hours: [09:00-13:00, '14:00–18:00']\n", "")
    hours = load_campaign(write_campaign(only_days)).recipients[2].office_hours
    assert hours is not None and (hours.start, hours.end) == (dt.time(8, 30), dt.time(16))
