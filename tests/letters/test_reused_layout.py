"""Pages made from reused layout (placed lines, drawn pages) are the pages made afresh."""

from __future__ import annotations

import dataclasses

import pytest

from faxbatch.letters import layout, pdf
from faxbatch.letters.document import FaxTarget, fax_document
from faxbatch.letters.layout import Page, TextRun
from faxbatch.letters.markdown import parse_body
from tests.builders import DAY, LONG_BODY, RECIPIENTS, fonts, make_campaign

TARGET = FaxTarget(fax="+7 727 271 5802", phone="")


def _pages(recipient_index: int) -> list[Page]:
    campaign = make_campaign(body=LONG_BODY)
    body = tuple(parse_body(campaign.letter.body))
    return fax_document(campaign, RECIPIENTS[recipient_index], body, DAY, TARGET)


def _fresh(pages: list[Page]) -> list[Page]:
    """The same pages with every item a new object (nothing for a cache to recognise)."""
    return [
        Page(
            page.geometry,
            [dataclasses.replace(i) for i in page.items],
            list(page.footer),
            list(page.parts),
        )
        for page in pages
    ]


def _clear_caches() -> None:
    layout._PLACED.clear()
    pdf._DRAWN.clear()


def test_a_body_placed_again_is_the_same_runs_and_the_same_pages() -> None:
    _clear_caches()
    first = _pages(0)
    _clear_caches()
    again = _pages(0)
    later = _pages(0)  # now from the placed lines of the run before
    assert [p.items for p in first] == [p.items for p in again] == [p.items for p in later]
    assert [p.footer for p in first] == [p.footer for p in later]
    # the body's pages are the very same run objects, letter after letter
    shared = [a is b for a, b in zip(again[-1].items, later[-1].items, strict=True)]
    assert shared and all(shared)


def test_a_page_drawn_again_renders_as_one_drawn_afresh() -> None:
    _clear_caches()
    for index in (0, 1, 0, 2, 1):
        pages = _pages(index)
        reused = [pdf.render_page(page, fonts()) for page in pages]
        _clear_caches()
        fresh = [pdf.render_page(page, fonts()) for page in _fresh(pages)]
        assert reused == fresh


def test_a_drawn_page_is_recognised_by_its_items_not_by_their_places() -> None:
    _clear_caches()
    page = _pages(0)[-1]
    first = pdf.render_page(page, fonts())
    # the same objects, one of them moved: another page, drawn anew
    moved = TextRun(10.0, 10.0, "moved", page.items[0].style, 9.0)  # type: ignore[union-attr]
    other = Page(page.geometry, [moved, *page.items[1:]], list(page.footer))
    assert pdf.render_page(other, fonts()) != first
    assert pdf.render_page(page, fonts()) == first
    _clear_caches()
    assert pdf.render_page(other, fonts()) == pdf.render_page(_fresh([other])[0], fonts())


def test_the_placed_line_cache_starts_again_when_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(layout, "PLACED_LINES", 4)
    monkeypatch.setattr(pdf._DRAWN, "size", 2)
    _clear_caches()
    small = [[p.items for p in _pages(i)] for i in (0, 1, 2, 0)]
    assert len(layout._PLACED) <= 4 and len(pdf._DRAWN) <= 2
    _clear_caches()
    monkeypatch.undo()
    assert small == [[p.items for p in _pages(i)] for i in (0, 1, 2, 0)]
