"""The volunteer who calls: the zone the printed sheet gives times in, the country dialled from.

``faxbatch check --caller-tz America/New_York --caller-country US`` makes a sheet for a volunteer
in New York: each window is also given in New York time, and each number with what a line in the
US dials (``011 7 727 271 5802``), besides the sender's country's dial string.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from faxbatch.errors import UsageError

__all__ = ["Caller"]


@dataclass(frozen=True)
class Caller:
    """Where the volunteer calls from; either part may be unknown (None)."""

    time_zone: str | None = None
    country: str | None = None

    @classmethod
    def of(cls, time_zone: str | None, country: str | None) -> Caller:
        """A caller from the command line's words; :class:`UsageError` for an unknown one."""
        if time_zone:
            try:
                ZoneInfo(time_zone)
            except (ZoneInfoNotFoundError, ValueError):
                raise UsageError(
                    f"--caller-tz: '{time_zone}' is not a time zone; give a tz database name "
                    "such as America/New_York or Europe/Berlin"
                ) from None
        code = country.strip().upper() if country else None
        if code and code not in phonenumbers.SUPPORTED_REGIONS:
            raise UsageError(
                f"--caller-country: '{country}' is not a country code; give its two letters "
                "(ISO 3166-1), such as US or DE"
            )
        return cls(time_zone=time_zone or None, country=code or None)

    def local(self, moment: dt.datetime) -> dt.datetime | None:
        """``moment`` in the caller's zone, or None when the zone is not known."""
        return moment.astimezone(ZoneInfo(self.time_zone)) if self.time_zone else None

    def dial_string(self, e164: str) -> str | None:
        """What a line in the caller's country dials for ``e164``, or None."""
        if not self.country or not e164:
            return None
        try:
            number = phonenumbers.parse(e164, None)
        except phonenumbers.NumberParseException:
            return None
        return str(phonenumbers.format_out_of_country_calling_number(number, self.country))
