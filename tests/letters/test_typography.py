"""Page breaks in every language: no lonely line, no heading or list introduction at a page's foot,
the closing and signature never alone (a property test over letters of every length)."""

from __future__ import annotations

import re
from collections import defaultdict

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from faxbatch.campaign.model import Recipient
from faxbatch.letters.document import letter_text
from faxbatch.letters.layout import Geometry, TextRun, flow
from faxbatch.letters.markdown import parse_body
from tests.builders import make_campaign

#: a word of block N (``pNwJ``); a list item's words end in ``x`` (``pNwJx``)
WORD = re.compile(r"p(\d+)w\d+(x?)")
RECIPIENT = Recipient(id="court", name="Judge", organization="Court", address=("A", "B"))


@st.composite
def bodies(draw: st.DrawFn) -> tuple[str, list[str]]:
    """A Markdown body of headings, paragraphs and introduced lists; the kind of each block."""
    parts, kinds = [], []
    for n in range(draw(st.integers(1, 14))):
        kind = draw(st.sampled_from(["paragraph", "paragraph", "heading", "list"]))
        words = " ".join(f"p{n}w{j}" for j in range(draw(st.integers(1, 120))))
        if kind == "heading":
            parts.append(f"## {words[:60]}")
        elif kind == "list":  # a paragraph introducing a list of three short items
            parts.append(f"{words}:\n\n" + "\n".join(f"- p{n}w{j}x" for j in range(3)))
        else:
            parts.append(words)
        kinds.append(kind)
    return "\n\n".join(parts), kinds


def _pages_of(body: str) -> list[dict[str, list[float]]]:
    """For each page, the baselines of each block's lines: key ``N`` (block N's paragraph or
    heading), ``Ni`` (its list items), ``closing`` (the closing and signature)."""
    campaign = make_campaign(body=body)
    blocks = letter_text(campaign, RECIPIENT, parse_body(body))
    found = []
    for page in flow(blocks, Geometry.for_size("A4")):
        lines: dict[str, set[float]] = defaultdict(set)
        for item in page.items:
            if not isinstance(item, TextRun):
                continue
            match = WORD.search(item.text)
            if match:
                lines[match.group(1) + ("i" if match.group(2) else "")].add(round(item.y, 2))
            elif item.text.strip() in ("Sincerely,", "Ann Organizer"):
                lines["closing"].add(round(item.y, 2))
        found.append({key: sorted(ys) for key, ys in lines.items()})
    return found


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])  # fmt: skip
@given(bodies())
def test_page_breaks_follow_the_rules_of_typography(example: tuple[str, list[str]]) -> None:
    body, kinds = example
    pages = _pages_of(body)
    # a paragraph split over pages leaves at least two of its lines on each
    for n, kind in enumerate(kinds):
        parts = [page[str(n)] for page in pages if str(n) in page]
        if kind != "heading" and len(parts) > 1:
            assert all(len(lines) >= 2 for lines in parts), (n, [len(p) for p in parts])
    # no page ends with a heading or with the paragraph that introduces a list
    for number, page in enumerate(pages[:-1]):
        lowest = min(page, key=lambda key: page[key][0])  # the block lowest on the page
        if lowest == "closing" or not lowest.isdigit():
            continue
        kind = kinds[int(lowest)]
        continued = lowest in pages[number + 1]
        assert kind != "heading", (number, lowest)
        assert kind != "list" or continued, f"page {number + 1} ends with list {lowest}'s intro"
    # the closing and signature share their page with at least two lines of the body's end
    closing = next(number for number, page in enumerate(pages) if "closing" in page)
    last = str(len(kinds) - 1) + ("i" if kinds[-1] == "list" else "")
    total = sum(len(page.get(last, [])) for page in pages)
    assert len(pages[closing].get(last, [])) >= min(2, total)
