"""The rules every page of a batch must satisfy, and their check on a page laid out in memory.

Both the build (on every page it lays out, before writing it) and ``faxbatch preflight`` (on the
marks it reads back from the written PDFs) apply these rules; the build needs no PDF reader for
it. A page must have the batch's size, keep everything inside the printable margin, leave a fax's
header zone free, and (a postal letter's first page) show its address in the envelope's window.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from faxbatch.letters.envelopes import GLYPH_BOTTOM, GLYPH_TOP, Rect
from faxbatch.letters.fonts import Style, typeface
from faxbatch.letters.layout import (
    FAX_HEADER_ZONE,
    MM,
    PAGE_SIZES,
    Box,
    ByIdentity,
    Image,
    Item,
    Page,
    Rule,
    TextRun,
)

#: office printers leave this much of every edge unprinted
PRINTABLE_MARGIN = 5 * MM
#: a page size matches when both sides agree this closely (points)
SIZE_TOLERANCE = 1.0


# -- what a page draws ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Mark:
    """Something a page draws, with its bounding box in page space (points)."""

    kind: str  # "text", "path" or "image"
    x0: float
    y0: float
    x1: float
    y1: float
    #: a text's characters; an image's digest (of its data as stored), to compare pages by
    text: str = ""
    #: an image of black and white pixels only (1 bit per pixel, or a stencil mask)
    bilevel: bool = True

    def describe(self) -> str:
        """``text 'Page 1 of 2'``, ``a line`` or ``an image``, for messages."""
        if self.kind == "text":
            shown = self.text.strip() or "(spaces)"
            return f"text '{shown[:40]}{'…' if len(shown) > 40 else ''}'"
        return "a line or shape" if self.kind == "path" else "an image"


# -- checking pages ------------------------------------------------------------------------------
@dataclass(frozen=True)
class PageRules:
    """What a page must satisfy.

    ``text``: why the page must draw text (a page of a document has at least its "Page N of M"
    line); None: it may be empty.
    """

    page_size: str
    fax: bool = False
    blank: bool = False
    window: Rect | None = None
    text: str | None = None


def _mm(points: float) -> str:
    return f"{points / MM:.1f} mm"


def _outside_margin(mark: Mark, width: float, height: float, margin: float) -> str | None:
    slack = 0.05
    gaps = (
        ("left", mark.x0),
        ("right", width - mark.x1),
        ("bottom", mark.y0),
        ("top", height - mark.y1),
    )
    edge, gap = min(gaps, key=lambda item: item[1])
    if gap >= margin - slack:
        return None
    return f"{mark.describe()} reaches {_mm(max(gap, 0.0))} from the {edge} edge"


def layout_marks(page: Page) -> list[Mark]:
    """What a laid-out page will draw, with the same boxes :func:`page_marks` reads from a PDF."""
    marks: list[Mark] = []
    for item in [*page.items, *page.footer]:
        if isinstance(item, TextRun):
            width = _run_width(item.style, item.text, item.size)
            low, high = item.y - GLYPH_BOTTOM * item.size, item.y + GLYPH_TOP * item.size
            marks.append(Mark("text", item.x, low, item.x + width, high, item.text))
        elif isinstance(item, Rule):  # the path itself, as page_marks reads it from a PDF
            x0, x1 = sorted((item.x1, item.x2))
            y0, y1 = sorted((item.y1, item.y2))
            marks.append(Mark("path", x0, y0, x1, y1))
        elif isinstance(item, Box):
            marks.append(Mark("path", item.x, item.y, item.x + item.w, item.y + item.h))
        elif isinstance(item, Image):  # an enclosure's page: black and white by construction
            marks.append(Mark("image", item.x, item.y, item.x + item.w, item.y + item.h))
    return marks


@lru_cache(maxsize=8192)
def _run_width(style: Style, text: str, size: float) -> float:
    """A run's width (the lines of a letter repeat in every document: measured once)."""
    return typeface()[style].width(text, size)


def check_layout(
    page: Page, where: str, rules: PageRules, margin: float = PRINTABLE_MARGIN
) -> list[str]:
    """Failures of a laid-out page, before it is written (the same rules as :func:`check_page`).

    The build runs this on every page it makes, where the positions are exact and free to know;
    ``faxbatch preflight`` reads the written files instead.
    """
    geometry = page.geometry
    failures: list[str] = []
    expected_w, expected_h = PAGE_SIZES[rules.page_size]
    if abs(geometry.width - expected_w) > SIZE_TOLERANCE or abs(geometry.height - expected_h) > (
        SIZE_TOLERANCE
    ):
        failures.append(f"{where}: the page is not {rules.page_size}")
    if rules.window is None and _clear(page, rules, margin):
        return failures  # the common case, decided from the page's outer bounds alone
    marks = layout_marks(page)
    failures.extend(check_marks(marks, geometry.width, geometry.height, rules, where, margin))
    return failures


def _clear(page: Page, rules: PageRules, margin: float) -> bool:
    """Whether everything lies inside the margins (and below the fax header zone)."""
    width, height = page.geometry.width, page.geometry.height
    inf = float("inf")
    left = bottom = inf
    right = top = -inf
    parts = [*page.content_parts(), (page.footer, True)]
    for x0, y0, x1, y1 in (_bounds(items, not own) for items, own in parts):
        left, bottom = min(left, x0), min(bottom, y0)
        right, top = max(right, x1), max(top, y1)
    return left == inf or _clear_box(left, bottom, right, top, width, height, rules.fax, margin)


def marks_clear(marks: list[Mark], width: float, height: float, fax: bool, margin: float) -> bool:
    """Whether :func:`check_marks` (without a window) finds nothing on these marks.

    Most pages are so: then no mark need be worded.
    """
    return all(_clear_box(m.x0, m.y0, m.x1, m.y1, width, height, fax, margin) for m in marks)


def _clear_box(
    x0: float,
    y0: float,
    x1: float,
    y1: float,
    width: float,
    height: float,
    fax: bool,
    margin: float,
) -> bool:
    """Whether a box leaves the margins (and a fax's header zone) free; a NaN never does.

    Compared as :func:`check_marks` compares a mark.
    """
    low = margin - 0.05  # _outside_margin: a gap of margin - slack is clear
    return (
        x0 >= low
        and width - x1 >= low
        and y0 >= low
        and height - y1 >= low
        and (not fax or y1 <= height - FAX_HEADER_ZONE + 0.05)
    )


Bounds = tuple[float, float, float, float]
#: the outer bounds of items measured before (the parts of pages that letters share)
_BOUNDS: ByIdentity[Bounds] = ByIdentity(256)


def _bounds(items: Sequence[Item], remember: bool = True) -> Bounds:
    """The box (left, bottom, right, top) around ``items``; infinities around none.

    ``remember``: False for items no other page has (a recipient's own).
    """
    found = _BOUNDS.get(items) if remember else None
    if found is not None:
        return found
    boxes = list(map(_box, items))
    inf = float("inf")
    bounds = (
        min((box[0] for box in boxes), default=inf),
        min((box[1] for box in boxes), default=inf),
        max((box[2] for box in boxes), default=-inf),
        max((box[3] for box in boxes), default=-inf),
    )
    if remember:
        _BOUNDS.put(items, bounds)
    return bounds


def _box(item: Item) -> Bounds:
    if isinstance(item, TextRun):
        x1 = item.x + _run_width(item.style, item.text, item.size)
        return item.x, item.y - GLYPH_BOTTOM * item.size, x1, item.y + GLYPH_TOP * item.size
    if isinstance(item, Rule):
        x0, x1 = sorted((item.x1, item.x2))
        y0, y1 = sorted((item.y1, item.y2))
        return x0, y0, x1, y1
    return item.x, item.y, item.x + item.w, item.y + item.h


def check_marks(
    marks: list[Mark], width: float, height: float, rules: PageRules, where: str, margin: float
) -> list[str]:
    failures: list[str] = []
    outside = [
        (mark, text)
        for mark in marks
        if (text := _outside_margin(mark, width, height, margin)) is not None
    ]
    if outside:
        more = f" (and {len(outside) - 1} more)" if len(outside) > 1 else ""
        failures.append(
            f"{where}: {outside[0][1]}, inside the {_mm(margin)} printers leave unprinted{more}"
        )
    if rules.fax:
        limit = height - FAX_HEADER_ZONE
        in_zone = [mark for mark in marks if mark.y1 > limit + 0.05]
        if in_zone:
            first = max(in_zone, key=lambda mark: mark.y1)
            more = f" (and {len(in_zone) - 1} more)" if len(in_zone) > 1 else ""
            failures.append(
                f"{where}: {first.describe()} reaches {_mm(max(height - first.y1, 0.0))} from the "
                f"top, inside the fax header zone (top {_mm(FAX_HEADER_ZONE)}){more}"
            )
    if rules.window is not None:
        failures.extend(_check_window(marks, rules.window, where))
    return failures


def _check_window(marks: list[Mark], window: Rect, where: str) -> list[str]:
    failures = []
    inside = 0
    for mark in marks:
        if not window.overlaps(mark.x0, mark.y0, mark.x1, mark.y1):
            continue
        if window.contains(mark.x0, mark.y0, mark.x1, mark.y1):
            inside += mark.kind == "text"
            continue
        failures.append(
            f"{where}: {mark.describe()} sticks out of the envelope window "
            f"({_mm(window.x)}–{_mm(window.right)} from the left, "
            f"{_mm(window.y)}–{_mm(window.top)} from the bottom)"
        )
    if inside < 2:
        failures.append(
            f"{where}: the envelope window holds {inside} line(s) of text; a postal letter needs "
            "the return line and the address there"
        )
    return failures
