"""numbers/places: the geocoder's answers, with only the parts of its data a number needs."""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys

import phonenumbers
import pytest
from phonenumbers import PhoneNumberType, geocoder
from phonenumbers.geodata import GEOCODE_DATA

from faxbatch.numbers.places import GEODATA, Parts, place

PARTS = sorted(
    (name for name in sys.modules if name.startswith(f"{GEODATA}.data")),
    key=lambda name: int(name.rsplit("data", 1)[1]),
)


def _numbers() -> list[str]:
    """Every region's example numbers of every type, in E.164."""
    found = set()
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.MOBILE, PhoneNumberType.VOIP):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                found.add(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
    return sorted(found)


def _prefixes() -> list[str]:
    """A sample of the data's prefixes, each part's first and last, and ones next to them."""
    rng = random.Random(7)
    keys = sorted(GEOCODE_DATA)
    sample = set(rng.sample(keys, 3000))
    for name in PARTS:
        data = sys.modules[name].data
        for key in (min(data), max(data)):
            sample |= {key, key[:-1], key + "0", key + "9", str(int(key) + 1), str(int(key) - 1)}
    sample |= {
        "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 12))) for _ in range(2000)
    }
    return sorted(sample)


def test_the_parts_are_sorted_and_apart_as_the_bisection_needs() -> None:
    assert len(PARTS) > 1
    bounds = [(min(sys.modules[n].data), max(sys.modules[n].data)) for n in PARTS]
    assert all(last < first for (_, last), (first, _) in itertools.pairwise(bounds))
    assert sum(len(sys.modules[n].data) for n in PARTS) == len(GEOCODE_DATA)


def test_the_parts_answer_every_lookup_as_the_whole_data_does() -> None:
    parts = Parts(PARTS)
    for prefix in _prefixes():
        assert (prefix in parts) == (prefix in GEOCODE_DATA), prefix
        if prefix in GEOCODE_DATA:
            assert parts[prefix] == GEOCODE_DATA[prefix]
    assert 12345 not in parts  # the geocoder only asks for text, but anything may be asked


def test_parts_out_of_order_are_all_taken_and_still_answer_right() -> None:
    parts = Parts(list(reversed(PARTS)))
    for prefix in ["1201", "7727", "4930", "861308377", "0", "99"]:
        assert (prefix in parts) == (prefix in GEOCODE_DATA)
    assert parts.everything is not None and len(parts.everything) == len(GEOCODE_DATA)


def test_a_new_process_places_every_example_number_as_the_geocoder_does() -> None:
    numbers = _numbers()
    expected = {
        n: str(geocoder.description_for_number(phonenumbers.parse(n), "en")) for n in numbers
    }
    script = (
        "import json, sys, phonenumbers\n"
        "from faxbatch.numbers.places import place\n"
        "numbers = json.load(sys.stdin)\n"
        "first = place(phonenumbers.parse('+77172745524'))\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('phonenumbers.geodata.data'))\n"
        "print(json.dumps({'first': first, 'loaded': loaded,\n"
        "                  'places': {n: place(phonenumbers.parse(n)) or '' for n in numbers}}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], input=json.dumps(numbers), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["first"] == "Astana"
    # a Kazakh number needed a handful of the parts, not all of them
    assert 1 <= len(answer["loaded"]) <= 6 < len(PARTS)
    assert answer["places"] == expected
    assert sum(1 for place_ in expected.values() if place_) > 200  # the examples have places


def test_a_process_that_has_the_whole_data_already_uses_it() -> None:
    assert GEODATA in sys.modules  # imported above, the usual way
    assert place(phonenumbers.parse("+493012345678")) == "Berlin"
    assert place(phonenumbers.parse("+80012345678")) is None  # a number of no place


@pytest.mark.parametrize("text", ["+7 727 271 58 02", "+1 202 456 1111", "+44 20 7946 0018"])
def test_places_of_a_few_cities(text: str) -> None:
    number = phonenumbers.parse(text)
    assert place(number) == geocoder.description_for_number(number, "en")
