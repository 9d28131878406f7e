"""Sending windows: when a number's office is open, in its own time and in UTC.

A fax sent at 3 a.m. local time rings in an empty office and, worse, is taken for harassment. From
the campaign's office hours (``09:00–18:00, Monday to Friday`` unless it says otherwise) and the
time zones phonenumbers gives for a number, :class:`WindowFinder` finds the next window: the one
open at ``now``, else the next one to open. A number that maps to several time zones (a mobile or
toll-free number, a country spanning zones) gets the stretch of time that is office hours in
*all* of them, which may not exist.

The module is pure: "now" is always given, and the tz database comes from the standard library's
:mod:`zoneinfo` (the ``tzdata`` package supplies it where the system has none).
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.resources
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import TZPATH, ZoneInfo, ZoneInfoNotFoundError

from faxbatch.campaign.model import OfficeHours

__all__ = ["Window", "WindowFinder", "WindowResult", "format_utc", "zone"]

#: how far ahead to look for a window: two weeks covers any office week and its holidays' eves
HORIZON_DAYS = 14
#: what phonenumbers answers for a number whose place it does not know
_UNKNOWN_ZONE = "Etc/Unknown"
_UTC = dt.UTC


Interval = tuple[dt.datetime, dt.datetime]


@dataclass(frozen=True)
class Window:
    """One sending window: from ``start`` to ``end`` (aware, UTC), shown in ``time_zone``."""

    start: dt.datetime
    end: dt.datetime
    time_zone: str

    @property
    def start_local(self) -> dt.datetime:
        """The start in the office's own time."""
        return self.start.astimezone(zone(self.time_zone))

    @property
    def end_local(self) -> dt.datetime:
        """The end in the office's own time."""
        return self.end.astimezone(zone(self.time_zone))

    def is_open(self, now: dt.datetime) -> bool:
        """Whether the window is open at ``now``."""
        return self.start <= now < self.end

    def describe(self) -> str:
        """``Mon 2012-05-14 09:00–18:00 Asia/Almaty (04:00–13:00 UTC)``, for people."""
        start, end = self.start_local, self.end_local
        local_end = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%a %Y-%m-%d %H:%M}"
        utc_end = (
            f"{self.end:%H:%M}"
            if self.end.date() == self.start.date()
            else (f"{self.end:%a %H:%M}")
        )
        return (
            f"{start:%a %Y-%m-%d %H:%M}–{local_end} {self.time_zone} "
            f"({self.start:%H:%M}–{utc_end} UTC)"
        )


@dataclass(frozen=True)
class WindowResult:
    """A number's next sending window (None when there is none) and what to say about it."""

    window: Window | None
    #: the time zones the window was computed from (known to the tz database)
    time_zones: tuple[str, ...] = ()
    #: plain sentences: several time zones, none known, no common office hours
    notes: tuple[str, ...] = ()


def zone(name: str) -> ZoneInfo:
    """The tz database zone of that name (``Asia/Almaty``)."""
    return ZoneInfo(name)


@functools.lru_cache(maxsize=4096)  # a batch's windows are few; equal moments print alike
def format_utc(moment: dt.datetime) -> str:
    """``2012-05-14T04:00:00Z``: ISO 8601 in UTC, as the manifests and gateways write it."""
    return moment.astimezone(_UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@functools.cache
def _zone_countries() -> dict[str, str]:
    """Zone name → ISO country code, from the tz database's ``zone.tab`` (empty if not found)."""
    text = ""
    try:
        text = (importlib.resources.files("tzdata") / "zoneinfo" / "zone.tab").read_text("utf-8")
    except (ImportError, OSError):
        for folder in TZPATH:
            try:
                text = (Path(folder) / "zone.tab").read_text("utf-8")
                break
            except OSError:
                continue
    countries: dict[str, str] = {}
    for line in text.splitlines():
        fields = line.split("\t")
        if len(fields) >= 3 and not line.startswith("#"):
            countries[fields[2]] = fields[0]
    return countries


def _home_first(zones: Sequence[str], region: str | None) -> tuple[str, ...]:
    """The zones, those of the number's own country first (``Europe/London`` before Jersey)."""
    countries = _zone_countries()
    return tuple(sorted(zones, key=lambda name: countries.get(name) != region))


def _known(names: Iterable[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The zone names the tz database knows, and those it does not (``Etc/Unknown`` dropped)."""
    known: list[str] = []
    unknown: list[str] = []
    for name in dict.fromkeys(names):
        if not name or name == _UNKNOWN_ZONE:
            continue
        try:
            zone(name)
        except (ZoneInfoNotFoundError, ValueError):
            unknown.append(name)
        else:
            known.append(name)
    return tuple(known), tuple(unknown)


@functools.cache
def public_holidays(country: str, year: int) -> frozenset[dt.date]:
    """The public holidays of a country (ISO code) in a year, from the ``holidays`` package.

    A country the package does not know has none.
    """
    import holidays

    try:
        return frozenset(holidays.country_holidays(country, years=year))
    except NotImplementedError:
        return frozenset()


def _office_intervals(
    hours: OfficeHours, tz: ZoneInfo, now: dt.datetime, days: int, country: str | None = None
) -> list[Interval]:
    """Office hours in one zone as UTC intervals, from the day before ``now`` on.

    Days off are skipped: weekdays not in ``hours.days`` and, unless ``hours.holidays`` is false,
    the public holidays of ``country``; a day with several spans gives several intervals.
    """
    today = now.astimezone(tz).date()
    intervals: list[Interval] = []
    for offset in range(-1, days + 1):
        day = today + dt.timedelta(days=offset)
        if day.weekday() not in hours.days:
            continue
        if hours.holidays and country and day in public_holidays(country, day.year):
            continue
        for span_start, span_end in hours.day_spans:
            # local wall-clock times: zoneinfo applies the offset in force that day (DST included)
            start = dt.datetime.combine(day, span_start, tzinfo=tz).astimezone(_UTC)
            end = dt.datetime.combine(day, span_end, tzinfo=tz).astimezone(_UTC)
            if end > start:
                intervals.append((start, end))
    return intervals


def _intersect(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    """The times in both lists of sorted, disjoint intervals."""
    result: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if start < end:
            result.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return result


def _listed(names: Sequence[str], limit: int = 4) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


class WindowFinder:
    """Next office-hours windows from one moment, remembered per set of time zones.

    A batch asks for the same few zone sets thousands of times; each is computed once.
    """

    def __init__(self, hours: OfficeHours, now: dt.datetime, horizon_days: int = HORIZON_DAYS):
        self.hours = hours
        self.now = now if now.tzinfo is not None else now.replace(tzinfo=_UTC)
        self.horizon_days = horizon_days
        self._cache: dict[tuple[str | OfficeHours, ...], WindowResult] = {}

    def find(
        self, time_zones: Sequence[str], region: str | None = None, hours: OfficeHours | None = None
    ) -> WindowResult:
        """The next window that is office hours in every one of ``time_zones``.

        ``region``, the number's country, picks the zone local times are shown in and the public
        holidays skipped; ``hours``, an office's own hours, replace the campaign's.
        """
        hours = hours or self.hours
        key: tuple[str | OfficeHours, ...] = (*time_zones, "@", region or "", hours)
        if key not in self._cache:
            self._cache[key] = self._find(tuple(time_zones), region, hours)
        return self._cache[key]

    def _find(
        self, time_zones: tuple[str, ...], region: str | None, hours: OfficeHours
    ) -> WindowResult:
        known, unknown = _known(_home_first(time_zones, region))
        notes: list[str] = []
        if unknown:
            notes.append(f"time zone {_listed(unknown)} is not in the tz database; ignored")
        if not known:
            notes.append("its time zone is unknown, so there is no sending window")
            return WindowResult(None, (), tuple(notes))
        common: list[Interval] | None = None
        # zones that keep the same hours (London, Jersey, Guernsey) count as one
        distinct: dict[tuple[Interval, ...], str] = {}
        for name in known:
            intervals = _office_intervals(hours, zone(name), self.now, self.horizon_days, region)
            distinct.setdefault(tuple(intervals), name)
            common = intervals if common is None else _intersect(common, intervals)
        upcoming = [interval for interval in common or () if interval[1] > self.now]
        if len(distinct) > 1:
            zones = f"{len(distinct)} time zones ({_listed(list(distinct.values()))})"
            if upcoming:
                notes.append(f"rings in {zones}: the window is office hours in all of them")
            else:
                notes.append(
                    f"rings in {zones} whose office hours ({hours.describe()}) never "
                    "overlap: no sending window; choose the hour by hand"
                )
        if not upcoming:
            if len(distinct) == 1:
                notes.append(f"no office hours ({hours.describe()}) in the coming weeks")
            return WindowResult(None, known, tuple(notes))
        start, end = upcoming[0]
        return WindowResult(Window(start, end, known[0]), known, tuple(notes))
