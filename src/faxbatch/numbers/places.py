"""Where a number is, by phonenumbers' geocoder, loading only the part of its data a number needs.

Importing the geocoder imports its whole place data (``phonenumbers.geodata``): 287,000 number
prefixes in 29 generated modules, a quarter of a second in every process that asks, each of a
build's workers included. Those modules hold 10,000 prefixes each, in sorted order, so the part a
prefix falls in can be found by bisection over the parts' first and last prefixes, importing about
five of the 29. Before the geocoder is first imported, :func:`place` puts such a package in the
place of ``phonenumbers.geodata`` (the same folder, so its ``locale`` module and its parts import
as ever); the geocoder itself does all the rest.

Should the parts not be laid out that way (another release of phonenumbers), the mapping notices
as soon as two parts it has loaded overlap or come out of order, and loads every part instead; and
where the data is not found as a folder of parts, the geocoder is imported as it always is.
"""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import re
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from phonenumbers import PhoneNumber

__all__ = ["place"]

GEODATA = "phonenumbers.geodata"
#: every prefix of an E.164 number is at most this long; a longer bound than the data's longest
#: prefix only costs a few lookups of prefixes that cannot be there
LONGEST_PREFIX = 15

_PART = re.compile(r"data(\d+)\.py")


def place(number: PhoneNumber, language: str = "en") -> str | None:
    """The place (city, region or country) a number is in, as phonenumbers' geocoder names it."""
    return str(_geocoder().description_for_number(number, language)) or None


@cache
def _geocoder() -> ModuleType:
    if GEODATA not in sys.modules:
        package = _lazy_geodata()
        if package is not None:
            sys.modules[GEODATA] = package
            vars(sys.modules["phonenumbers"])["geodata"] = package  # as an import would
    from phonenumbers import geocoder

    return geocoder


def _lazy_geodata() -> ModuleType | None:
    """``phonenumbers.geodata`` with a :class:`Parts` for its data, or None if not laid out so."""
    spec = importlib.util.find_spec(GEODATA)
    if spec is None or not spec.submodule_search_locations:
        return None
    folders = [Path(folder) for folder in spec.submodule_search_locations]
    found = {
        int(match[1])
        for folder in folders
        if folder.is_dir()
        for path in folder.iterdir()
        if (match := _PART.fullmatch(path.name))
    }
    if not found or found != set(range(len(found))):
        return None
    package = importlib.util.module_from_spec(spec)  # the package, its __init__ not run
    vars(package).update(
        GEOCODE_DATA=Parts([f"{GEODATA}.data{n}" for n in range(len(found))]),
        GEOCODE_LONGEST_PREFIX=LONGEST_PREFIX,
    )
    return package


class Parts:
    """The geocoder's prefixes, a part imported when a prefix is looked up in its range.

    Only ``prefix in parts`` and ``parts[prefix]`` are offered: all the geocoder asks of it.
    """

    def __init__(self, modules: list[str]) -> None:
        self.modules = modules
        #: each loaded part by its place in order: its first and last prefix, and its data
        self.loaded: dict[int, tuple[str, str, dict[str, Any]]] = {}
        self.everything: dict[str, Any] | None = None  # when the parts do not lie in order

    def _bounds(self, index: int) -> tuple[str, str, dict[str, Any]]:
        bounds = self.loaded.get(index)
        if bounds is None:
            data: dict[str, Any] = importlib.import_module(self.modules[index]).data
            bounds = self.loaded[index] = (min(data), max(data), data)
            ordered = [self.loaded[n] for n in sorted(self.loaded)]
            if any(one[1] >= other[0] for one, other in itertools.pairwise(ordered)):
                # not parts in sorted order after all: take them all, as phonenumbers does
                self.everything = {}
                for name in self.modules:
                    self.everything.update(importlib.import_module(name).data)
        return bounds

    def _part(self, prefix: str) -> dict[str, Any]:
        """The data of the part whose range holds ``prefix`` (empty if none does)."""
        low, high = 0, len(self.modules) - 1
        while low <= high:
            middle = (low + high) // 2
            first, last, data = self._bounds(middle)
            if self.everything is not None:
                return self.everything
            if prefix < first:
                high = middle - 1
            elif prefix > last:
                low = middle + 1
            else:
                return data
        return self.everything or {}

    def __contains__(self, prefix: object) -> bool:
        return isinstance(prefix, str) and prefix in self._part(prefix)

    def __getitem__(self, prefix: str) -> Any:
        return self._part(prefix)[prefix]
