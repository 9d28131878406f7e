"""The annex of signatories, a signer's own letter, the "cc:" and "also sent to" blocks."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from faxbatch.campaign.model import CopyTo
from faxbatch.campaign.signers import Signer
from faxbatch.letters.document import FaxTarget, fax_document
from faxbatch.letters.labels import CATALOG_LANGUAGES, labels
from faxbatch.letters.layout import Geometry, TextRun
from faxbatch.letters.markdown import parse_body
from faxbatch.letters.signatories import (
    LetterExtras,
    annex_pages,
    as_signer,
    signature_lines,
)
from tests.builders import make_campaign

DAY = dt.date(2012, 5, 10)
TARGET = FaxTarget("+7 727 271 5802")
COUNTRIES = ("US", "DE", "KZ", "FR", None)


def _signers(count: int, long: bool = False) -> tuple[Signer, ...]:
    found = []
    for n in range(count):
        organization = "Independent Trade Union Confederation of Workers" if long else ""
        found.append(
            Signer(
                id=f"s{n}",
                name=f"Person {n:02d}",
                organization=organization,
                country=COUNTRIES[n % len(COUNTRIES)],
                city="Oakland" if n % 2 else "",
                line=n + 2,
            )
        )
    return tuple(found)


def _columns(page_runs: list[TextRun], geometry: Geometry) -> list[float]:
    """The x where the columns of an annex page start."""
    return sorted({round(run.x) for run in page_runs if run.style == "bold"} - {0})


def test_the_annex_groups_signers_by_country_in_columns() -> None:
    geometry = Geometry.for_size("A4")
    pages = annex_pages(_signers(40), "en", geometry)
    assert len(pages) == 1
    text = pages[0].text()
    assert text.startswith("Signatories")
    headings = ["France", "Germany", "Kazakhstan", "United States", "Country not given"]
    assert [text.index(h) for h in headings] == sorted(text.index(h) for h in headings)
    for n in range(40):
        assert f"Person {n:02d}" in text
    # short entries fill three columns, long ones two
    runs = [item for item in pages[0].items if isinstance(item, TextRun)]
    starts = {round(run.x) for run in runs if run.text == "Person" or run.text.startswith("Person")}
    assert len(starts) == 3  # short entries: three columns
    long_pages = annex_pages(_signers(40, long=True), "en", geometry)
    long_runs = [i for i in long_pages[0].items if isinstance(i, TextRun)]
    assert len({round(r.x) for r in long_runs if r.text.startswith("Person")}) == 2


def test_a_long_annex_runs_over_pages_each_full_but_the_last_balanced() -> None:
    geometry = Geometry.for_size("A4")
    pages = annex_pages(_signers(600), "de", geometry)
    assert len(pages) >= 3
    assert pages[0].text().startswith("Unterzeichnende\n")
    assert all(page.text().startswith("Unterzeichnende (Fortsetzung)") for page in pages[1:])
    every = "\n".join(page.text() for page in pages)
    assert all(f"Person {n:02d}" in every for n in range(600))
    for page in pages:  # nothing below the frame (the footer's place)
        assert min(i.y for i in page.items if isinstance(i, TextRun)) >= geometry.bottom - 1
    last = [i for i in pages[-1].items if isinstance(i, TextRun) and i.y < geometry.top - 40]
    by_column: dict[int, float] = {}
    for run in last:
        column = int((run.x - geometry.left) // (geometry.frame_width / 3))
        by_column[column] = min(by_column.get(column, run.y), run.y)
    if len(by_column) > 1:  # the last page's columns end about together
        assert max(by_column.values()) - min(by_column.values()) < 60


@pytest.mark.parametrize(
    ("language", "count", "words"),
    [
        ("en", 1, "and 1 organization or individual listed in the annex"),
        ("en", 312, "and 312 organizations and individuals listed in the annex"),
        ("ru", 1, "и ещё 1 подписант, перечисленный в приложении"),
        ("ru", 3, "и ещё 3 подписанта, перечисленных в приложении"),
        ("ru", 312, "и ещё 312 подписантов, перечисленных в приложении"),
        ("ru", 21, "и ещё 21 подписант, перечисленный в приложении"),
        ("kk", 312, "және қосымшада аталған тағы 312 ұйым мен жеке тұлға"),
        ("de", 2, "und 2 weitere im Anhang genannte Organisationen und Einzelpersonen"),
        ("fr", 1, "et 1 autre organisation ou personne citée en annexe"),
        ("es", 7, "y 7 organizaciones y personas más que figuran en el anexo"),
    ],
)
def test_the_signature_names_the_annex_count_in_the_right_plural(
    language: str, count: int, words: str
) -> None:
    assert labels(language).signers(count, language) == words


def test_every_catalog_names_the_annex_in_its_language() -> None:
    headings = {language: labels(language).signatories for language in CATALOG_LANGUAGES}
    assert headings == {
        "en": "Signatories",
        "ru": "Подписавшие",
        "kk": "Қол қойғандар",
        "de": "Unterzeichnende",
        "fr": "Signataires",
        "es": "Firmantes",
    }


def test_a_fax_with_an_annex_counts_its_pages_and_ends_with_cc() -> None:
    campaign = replace(
        make_campaign(), copies_to=(CopyTo("Campaign office", "organizers@example.org"),)
    )
    extras = LetterExtras(_signers(40), ("Foreign Ministry", "Almaty City Court"))
    campaign = replace(campaign, letter=replace(campaign.letter, also_sent_to=True))
    recipient = campaign.recipients[0]
    body = list(parse_body(campaign.letter.body))
    pages = fax_document(campaign, recipient, body, DAY, TARGET, extras=extras)
    texts = [page.text() for page in pages]
    total = len(pages)
    assert total == 3
    assert f"{total} (including this cover sheet)" in texts[0]
    assert "Copies to" in texts[0] and "Campaign office, organizers@example.org" in texts[0]
    assert all(f"Page {n} of {total}" in text for n, text in enumerate(texts, start=1))
    assert "and 40 organizations and individuals listed in the annex" in texts[1]
    assert "This letter was also sent to:" in texts[1]
    assert "Foreign Ministry; Almaty City Court." in texts[1]
    assert texts[1].index("cc:") > texts[1].index("also sent to")
    assert "Campaign office" in texts[1].split("cc:")[1]
    assert texts[2].startswith("Signatories")
    assert signature_lines(campaign, None) == campaign.letter.signature


def test_a_signer_sends_the_letter_in_their_own_name() -> None:
    signer = Signer(
        id="ann-smith",
        name="Ann Smith",
        organization="Teachers Union",
        country="US",
        role="Secretary",
        city="Oakland",
        email="ann@example.org",
        address=("1 Oak St",),
    )
    campaign = as_signer(make_campaign(), signer)
    assert campaign.sender.name == "Ann Smith"
    assert campaign.sender.organization == "Teachers Union"
    assert campaign.sender.address == ("1 Oak St", "Oakland", "United States")
    assert campaign.letter.signature == ("Ann Smith", "Secretary", "Teachers Union")
    pages = fax_document(
        campaign, campaign.recipients[0], list(parse_body(campaign.letter.body)), DAY, TARGET
    )
    cover, letter = pages[0].text(), pages[1].text()
    assert "From\nAnn Smith" in cover or "Ann Smith" in cover.split("From", 1)[1]
    assert "Solidarity Group" not in cover + letter  # the organizers are not the sender
    assert letter.startswith("Teachers Union")
