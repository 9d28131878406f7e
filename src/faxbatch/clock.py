"""The moment of a run: the clock's, or ``SOURCE_DATE_EPOCH`` so that a build repeats byte for byte.

``SOURCE_DATE_EPOCH`` is a whole number of seconds since 1970-01-01 UTC (the reproducible-builds
convention). A value faxbatch cannot use (``abc``, ``-5``, ``1.5``, or a moment after the year
9998, where its dates run out) is not silently ignored: :func:`source_date_epoch` says so in a
warning naming the variable, and the run uses the clock instead. An empty value counts as unset.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["LATEST", "VARIABLE", "Epoch", "source_date_epoch"]

VARIABLE = "SOURCE_DATE_EPOCH"
#: the latest moment taken: sending windows are looked for weeks ahead, and dates end in 9999
LATEST = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Epoch:
    """What ``SOURCE_DATE_EPOCH`` says: a moment (None: use the clock), and why not, if set."""

    moment: dt.datetime | None
    warning: str | None = None


def source_date_epoch(environ: Mapping[str, str] | None = None) -> Epoch:
    """The moment ``SOURCE_DATE_EPOCH`` sets, or a warning when it is set to something unusable."""
    value = (os.environ if environ is None else environ).get(VARIABLE, "")
    text = value.strip()
    if not text:
        return Epoch(None)
    shown = repr(value if len(value) <= 40 else value[:40] + "…")
    instead = "faxbatch uses the clock's time instead (the batch will not repeat byte for byte)"
    if not (text.isascii() and text.isdigit()):
        return Epoch(
            None,
            f"{VARIABLE}={shown} is not a whole number of seconds since 1970-01-01 UTC; {instead}",
        )
    latest = int(LATEST.timestamp())
    digits = text.lstrip("0") or "0"
    if len(digits) > len(str(latest)) or int(digits) >= latest:
        return Epoch(
            None,
            f"{VARIABLE}={shown} lies in the year 9999 or later (the latest faxbatch takes is "
            f"{latest - 1}); {instead}",
        )
    return Epoch(dt.datetime.fromtimestamp(int(digits), tz=dt.UTC))
