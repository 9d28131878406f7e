"""The page rules on pages laid out in memory (what the build checks before writing a page)."""

from __future__ import annotations

import dataclasses

from faxbatch.letters.document import FaxTarget, fax_document
from faxbatch.letters.layout import MM, Page, Rule, TextRun
from faxbatch.letters.markdown import parse_body
from faxbatch.printshop import rules
from faxbatch.printshop.rules import PageRules, check_layout
from tests.builders import DAY, LONG_BODY, RECIPIENTS, make_campaign

FAX = PageRules("A4", fax=True, text="a page of a document")


def _pages() -> list[Page]:
    campaign = make_campaign(body=LONG_BODY)
    target = FaxTarget(fax="+7 727 271 5802", phone="")
    return fax_document(
        campaign, RECIPIENTS[0], tuple(parse_body(campaign.letter.body)), DAY, target
    )


def test_a_letter_passes_and_a_run_in_the_margin_fails() -> None:
    pages = _pages()
    assert all(check_layout(page, f"page {n}", FAX) == [] for n, page in enumerate(pages, 1))
    page = pages[-1]
    run = page.items[0]
    assert isinstance(run, TextRun)
    astray = Page(page.geometry, [dataclasses.replace(run, x=2 * MM), *page.items[1:]], page.footer)
    (failure,) = check_layout(astray, "page 3", FAX)
    assert failure.startswith("page 3: text") and "from the left edge" in failure


def test_items_measured_before_are_not_taken_for_others() -> None:
    rules._BOUNDS.clear()
    page = _pages()[-1]
    assert check_layout(page, "p", FAX) == []
    # the same item objects (their bounds known) and one more, in the fax header zone
    top = page.geometry.height - 5 * MM
    high = Page(page.geometry, [*page.items, Rule(30 * MM, top, 60 * MM, top)], page.footer)
    (failure,) = check_layout(high, "p", FAX)
    assert "fax header zone" in failure
    # the footer is measured on every page: a footer in the margin fails on known items
    footer = page.footer[0]
    assert isinstance(footer, TextRun)
    low = dataclasses.replace(footer, y=1 * MM)
    assert check_layout(Page(page.geometry, page.items, [low]), "p", FAX)
    assert check_layout(page, "p", FAX) == []
