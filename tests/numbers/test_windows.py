from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from faxbatch.campaign.model import OfficeHours
from faxbatch.numbers.windows import WindowFinder, format_utc, zone

UTC = dt.UTC
WEEKDAYS = OfficeHours()


def find(now: dt.datetime, *zones: str, hours: OfficeHours = WEEKDAYS):  # type: ignore[no-untyped-def]
    return WindowFinder(hours, now).find(zones)


def test_friday_evening_gives_next_monday_morning() -> None:
    # Friday 2024-05-10, 19:30 in Almaty (UTC+5): the offices are closed until Monday
    result = find(dt.datetime(2024, 5, 10, 14, 30, tzinfo=UTC), "Asia/Almaty")
    window = result.window
    assert window is not None
    assert window.start_local.isoformat() == "2024-05-13T09:00:00+05:00"
    assert window.end_local.isoformat() == "2024-05-13T18:00:00+05:00"
    assert format_utc(window.start) == "2024-05-13T04:00:00Z"
    assert format_utc(window.end) == "2024-05-13T13:00:00Z"
    assert window.time_zone == "Asia/Almaty"
    assert result.notes == ()


def test_open_window_is_the_current_one() -> None:
    now = dt.datetime(2024, 5, 8, 6, 0, tzinfo=UTC)  # Wednesday 11:00 in Almaty
    window = find(now, "Asia/Almaty").window
    assert window is not None and window.is_open(now)
    assert window.start_local.isoformat() == "2024-05-08T09:00:00+05:00"


def test_after_hours_on_a_weekday_gives_tomorrow() -> None:
    now = dt.datetime(2024, 5, 8, 13, 0, tzinfo=UTC)  # Wednesday 18:00 in Almaty: just closed
    window = find(now, "Asia/Almaty").window
    assert window is not None
    assert window.start_local.date() == dt.date(2024, 5, 9)


def test_dst_change_over_the_weekend() -> None:
    # Europe/Berlin moves to summer time on Sunday 2024-03-31: Friday's window starts at 08:00
    # UTC, Monday's at 07:00 UTC, both 09:00 local.
    friday = find(dt.datetime(2024, 3, 29, 6, 0, tzinfo=UTC), "Europe/Berlin").window
    monday = find(dt.datetime(2024, 3, 29, 18, 0, tzinfo=UTC), "Europe/Berlin").window
    assert friday is not None and monday is not None
    assert format_utc(friday.start) == "2024-03-29T08:00:00Z"
    assert friday.start_local.isoformat() == "2024-03-29T09:00:00+01:00"
    assert format_utc(monday.start) == "2024-04-01T07:00:00Z"
    assert monday.start_local.isoformat() == "2024-04-01T09:00:00+02:00"


def test_several_zones_give_the_intersection_and_say_so() -> None:
    # New York 09:00-18:00 EDT is 13:00-22:00 UTC, Los Angeles 16:00-01:00 UTC: common 16-22
    result = find(
        dt.datetime(2024, 5, 8, 12, 0, tzinfo=UTC), "America/New_York", "America/Los_Angeles"
    )
    window = result.window
    assert window is not None
    assert (format_utc(window.start), format_utc(window.end)) == (
        "2024-05-08T16:00:00Z",
        "2024-05-08T22:00:00Z",
    )
    assert window.time_zone == "America/New_York"
    assert window.start_local.hour == 12  # noon in New York, 09:00 in Los Angeles
    assert len(result.notes) == 1 and "2 time zones" in result.notes[0]


def test_zones_without_common_hours_give_no_window() -> None:
    result = find(dt.datetime(2024, 5, 8, 12, 0, tzinfo=UTC), "Europe/Berlin", "Pacific/Auckland")
    assert result.window is None
    assert "never overlap" in result.notes[0]


def test_unknown_zone_gives_no_window() -> None:
    result = find(dt.datetime(2024, 5, 8, 12, 0, tzinfo=UTC), "Etc/Unknown")
    assert result.window is None
    assert "unknown" in result.notes[0]
    ignored = find(dt.datetime(2024, 5, 8, 12, 0, tzinfo=UTC), "Mars/Olympus", "Asia/Almaty")
    assert ignored.window is not None and "Mars/Olympus" in ignored.notes[0]


def test_custom_office_hours_and_a_naive_now() -> None:
    # Sunday to Thursday, 08:00-16:00; Thursday evening (naive means UTC) gives Sunday
    hours = OfficeHours(days=(0, 1, 2, 3, 6), start=dt.time(8), end=dt.time(16))
    window = find(dt.datetime(2024, 5, 9, 20, 0), "Asia/Jerusalem", hours=hours).window
    assert window is not None
    assert window.start_local.isoformat() == "2024-05-12T08:00:00+03:00"
    assert hours.describe() == "Sun–Thu 08:00–16:00"
    assert WEEKDAYS.describe() == "Mon–Fri 09:00–18:00"


def test_results_are_remembered_per_zone_set() -> None:
    finder = WindowFinder(WEEKDAYS, dt.datetime(2024, 5, 8, 12, 0, tzinfo=UTC))
    assert finder.find(("Asia/Almaty",)) is finder.find(["Asia/Almaty"])


def test_zones_with_the_same_hours_count_as_one_and_home_comes_first() -> None:
    zones = ("Europe/Guernsey", "Europe/Isle_of_Man", "Europe/Jersey", "Europe/London")
    finder = WindowFinder(WEEKDAYS, dt.datetime(2024, 5, 8, 12, 0, tzinfo=UTC))
    result = finder.find(zones, "GB")
    assert result.window is not None and result.window.time_zone == "Europe/London"
    assert result.notes == ()
    assert finder.find(zones).window is not None


ZONES = ("Asia/Almaty", "Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata")


@given(
    now=st.datetimes(
        min_value=dt.datetime(2000, 1, 1),
        max_value=dt.datetime(2035, 12, 31),
        timezones=st.just(UTC),
    ),
    name=st.sampled_from(ZONES),
)
def test_the_window_is_the_next_office_hours(now: dt.datetime, name: str) -> None:
    window = find(now, name).window
    assert window is not None
    assert window.end > now and window.start < window.end
    start, end = window.start_local, window.end_local
    assert start.weekday() < 5 and (start.hour, start.minute) == (9, 0)
    assert (end.hour, end.minute) == (18, 0) and end.date() == start.date()
    if window.start > now:  # closed now: no office hour between now and the window
        local = now.astimezone(zone(name))
        open_now = local.weekday() < 5 and dt.time(9) <= local.time() < dt.time(18)
        assert not open_now
        assert window.start - now < dt.timedelta(days=4)


# ---------------------------------------------------------------------- office calendars

EMBASSY = OfficeHours(days=(0, 1, 2, 3, 6))  # Sunday to Thursday
LUNCH = OfficeHours(spans=((dt.time(9), dt.time(13)), (dt.time(14), dt.time(18))))


def test_a_sunday_to_thursday_embassy_opens_on_sunday() -> None:
    now = dt.datetime(2024, 5, 10, 5, 0, tzinfo=UTC)  # Friday 10:00 in Almaty
    window = WindowFinder(WEEKDAYS, now).find(("Asia/Almaty",), "KZ", EMBASSY).window
    assert window is not None
    assert window.start_local.isoformat() == "2024-05-12T09:00:00+05:00"  # Sunday
    # the campaign's own hours still hold for the other offices
    assert find(now, "Asia/Almaty").window.is_open(now)  # type: ignore[union-attr]


def test_a_lunch_break_is_no_window() -> None:
    now = dt.datetime(2024, 5, 8, 8, 30, tzinfo=UTC)  # Wednesday 13:30 in Almaty: at lunch
    window = find(now, "Asia/Almaty", hours=LUNCH).window
    assert window is not None and not window.is_open(now)
    assert (window.start_local.time(), window.end_local.time()) == (dt.time(14), dt.time(18))
    morning = find(dt.datetime(2024, 5, 8, 3, 0, tzinfo=UTC), "Asia/Almaty", hours=LUNCH).window
    assert morning is not None and morning.end_local.time() == dt.time(13)


def test_a_kazakh_public_holiday_is_skipped() -> None:
    # Wednesday 2024-05-08 19:00 in Almaty; Thursday 9 May is Victory Day, a public holiday
    now = dt.datetime(2024, 5, 8, 14, 0, tzinfo=UTC)
    window = WindowFinder(WEEKDAYS, now).find(("Asia/Almaty",), "KZ").window
    assert window is not None and window.start_local.date() == dt.date(2024, 5, 10)
    working = OfficeHours(holidays=False)  # an office that works on holidays
    open_anyway = WindowFinder(WEEKDAYS, now).find(("Asia/Almaty",), "KZ", working).window
    assert open_anyway is not None and open_anyway.start_local.date() == dt.date(2024, 5, 9)


def test_office_calendars_described() -> None:
    assert EMBASSY.describe() == "Sun–Thu 09:00–18:00"
    assert LUNCH.describe() == "Mon–Fri 09:00–13:00, 14:00–18:00"
