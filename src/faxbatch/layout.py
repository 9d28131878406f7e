"""Page geometry, line breaking and pagination: pure functions from text to positioned runs.

Nothing here writes a file. A :class:`Page` is a list of positioned items (text runs, lines,
rectangles) in PDF points, origin at the bottom left; :mod:`faxbatch.pdf` serialises it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from faxbatch.fonts import Style, typeface
from faxbatch.model import PageSize

MM = 72.0 / 25.4

#: sizes in points, from ISO 216 and ANSI
PAGE_SIZES: dict[str, tuple[float, float]] = {"A4": (595.276, 841.89), "Letter": (612.0, 792.0)}

#: the sending fax station prints its header line over the top of every page (DOMAIN: keep ~12 mm)
FAX_HEADER_ZONE = 12 * MM

#: DejaVu Sans' typographic ascender, in em; baselines sit this far below the top of a line box
ASCENT = 0.76


@dataclass(frozen=True)
class Geometry:
    """A page size and the frame text flows in."""

    size: PageSize
    width: float
    height: float
    left: float
    right: float
    top: float
    bottom: float
    footer_baseline: float

    @classmethod
    def for_size(cls, size: PageSize) -> Geometry:
        """Margins of about an inch, top well clear of the fax header zone."""
        width, height = PAGE_SIZES[size]
        return cls(
            size=size,
            width=width,
            height=height,
            left=25 * MM,
            right=width - 22 * MM,
            top=height - 22 * MM,
            bottom=24 * MM,
            footer_baseline=12 * MM,
        )

    @property
    def frame_width(self) -> float:
        """Width of the text frame."""
        return self.right - self.left


# -- page items ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class TextRun:
    """Text in one style and size, its baseline starting at (x, y)."""

    x: float
    y: float
    text: str
    style: Style
    size: float


@dataclass(frozen=True)
class Rule:
    """A straight line."""

    x1: float
    y1: float
    x2: float
    y2: float
    width: float = 0.8


@dataclass(frozen=True)
class Box:
    """A rectangle, stroked or filled black."""

    x: float
    y: float
    w: float
    h: float
    width: float = 1.2
    filled: bool = False


Item = TextRun | Rule | Box


@dataclass
class Page:
    """One page: its geometry and what is drawn on it."""

    geometry: Geometry
    items: list[Item] = field(default_factory=list)
    #: what differs on every page of a batch ("Page 2 of 4"), kept apart from the rest so that
    #: the rest can be rendered once and shared by every letter whose page is the same
    footer: list[Item] = field(default_factory=list)

    def text(self) -> str:
        """The page's text runs, in drawing order (for tests and checks)."""
        runs = [*self.items, *self.footer]
        return "\n".join(item.text for item in runs if isinstance(item, TextRun))


# -- text ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Span:
    """A piece of text in one style; a newline in it breaks the line."""

    text: str
    style: Style = Style.REGULAR


@dataclass(frozen=True)
class Paragraph:
    """A block of text that flows, wraps and may break across pages."""

    spans: tuple[Span, ...]
    size: float = 12.0
    leading: float = 0.0  # 0: 1.3 x size
    space_before: float = 0.0
    space_after: float = 0.0
    indent: float = 0.0
    bullet: str = ""  # drawn in the indent of the first line, right-aligned
    keep_with_next: bool = False
    align: str = "left"  # left, right or center

    @property
    def line_height(self) -> float:
        """Distance between baselines."""
        return self.leading or round(self.size * 1.3, 2)


@dataclass(frozen=True)
class Spacer:
    """Vertical space; dropped at the top of a page."""

    height: float


Block = Paragraph | Spacer

_TOKEN = re.compile(r"\n|[ \t]+|[^\s]+")

# one laid-out line: (text, style, x offset from the line start)
LinePieces = tuple[tuple[str, Style, float], ...]


def wrap(spans: Sequence[Span], width: float, size: float) -> list[LinePieces]:
    """Break spans into lines no wider than ``width`` (greedy; over-long words are cut)."""
    return list(_wrap_cached(tuple(spans), round(width, 3), size))


@lru_cache(maxsize=1024)
def _wrap_cached(spans: tuple[Span, ...], width: float, size: float) -> tuple[LinePieces, ...]:
    faces = typeface()
    # words: lists of (text, style) parts; None marks a forced break
    words: list[list[tuple[str, Style]] | None] = []
    gap_before: list[Style | None] = []
    pending_gap: Style | None = None
    joined = True  # the next part continues the current word (no space in between)
    for span in spans:
        for token in _TOKEN.findall(span.text):
            if token == "\n":
                words.append(None)
                gap_before.append(None)
                pending_gap, joined = None, False
            elif token[0] in " \t":
                pending_gap, joined = span.style, False
            elif joined and words and words[-1] is not None:
                current = words[-1]
                assert current is not None
                current.append((token, span.style))
            else:
                words.append([(token, span.style)])
                gap_before.append(pending_gap)
                pending_gap, joined = None, True

    lines: list[list[tuple[str, Style, float]]] = [[]]
    x = 0.0
    for word, gap in zip(words, gap_before, strict=True):
        if word is None:
            lines.append([])
            x = 0.0
            continue
        word_width = sum(faces[style].width(text, size) for text, style in word)
        space = faces[gap].width(" ", size) if gap is not None and lines[-1] else 0.0
        if lines[-1] and x + space + word_width > width + 0.01:
            lines.append([])
            x, space = 0.0, 0.0
        if word_width > width + 0.01:
            x = _place_cut_word(lines, word, x + space, width, size)
            continue
        if space:
            lines[-1].append((" ", gap or Style.REGULAR, x))
        x += space
        for text, style in word:
            lines[-1].append((text, style, x))
            x += faces[style].width(text, size)
    return tuple(_merge(line) for line in lines)


def _place_cut_word(
    lines: list[list[tuple[str, Style, float]]],
    word: list[tuple[str, Style]],
    x: float,
    width: float,
    size: float,
) -> float:
    """Place a word wider than the line, character by character over several lines."""
    faces = typeface()
    for text, style in word:
        for char in text:
            w = faces[style].width(char, size)
            if lines[-1] and x + w > width + 0.01:
                lines.append([])
                x = 0.0
            lines[-1].append((char, style, x))
            x += w
    return x


def _merge(line: list[tuple[str, Style, float]]) -> LinePieces:
    """Join neighbouring pieces of one style into one run."""
    merged: list[tuple[str, Style, float]] = []
    for text, style, x in line:
        if merged and merged[-1][1] == style:
            prev_text, _, prev_x = merged[-1]
            merged[-1] = (prev_text + text, style, prev_x)
        else:
            merged.append((text, style, x))
    return tuple(merged)


def line_width(pieces: LinePieces, size: float) -> float:
    """Width of a laid-out line."""
    if not pieces:
        return 0.0
    text, style, x = pieces[-1]
    return x + typeface()[style].width(text, size)


def text_runs(
    spans: Sequence[Span], x: float, y: float, width: float, size: float, leading: float = 0.0
) -> tuple[list[TextRun], float]:
    """Lay spans out in a box at (x, top y); returns the runs and the y below the last line."""
    step = leading or round(size * 1.3, 2)
    runs: list[TextRun] = []
    for pieces in wrap(spans, width, size):
        baseline = y - _baseline_drop(size, step)
        runs.extend(TextRun(x + dx, baseline, t, s, size) for t, s, dx in pieces if t.strip())
        y -= step
    return runs, y


def _baseline_drop(size: float, step: float) -> float:
    return (step - size) / 2 + ASCENT * size


# -- flowing blocks over pages --------------------------------------------------------------------
@dataclass(frozen=True)
class _LaidLine:
    runs: tuple[TextRun, ...]  # positioned relative to the line's top at y = 0
    height: float


@lru_cache(maxsize=1024)
def _lay_paragraph(block: Paragraph, geometry: Geometry) -> tuple[_LaidLine, ...]:
    width = geometry.frame_width - block.indent
    size = block.size
    step = block.line_height
    drop = _baseline_drop(size, step)
    laid: list[_LaidLine] = []
    for n, pieces in enumerate(wrap(block.spans, width, size)):
        if block.align == "left":
            shift = 0.0
        else:
            free = width - line_width(pieces, size)
            shift = free if block.align == "right" else free / 2
        x0 = geometry.left + block.indent + shift
        runs = [TextRun(x0 + dx, -drop, t, s, size) for t, s, dx in pieces if t.strip()]
        if n == 0 and block.bullet:
            bullet_width = typeface()[Style.REGULAR].width(block.bullet, size)
            runs.insert(
                0, TextRun(x0 - bullet_width - 0.4 * size, -drop, block.bullet, Style.REGULAR, size)
            )
        laid.append(_LaidLine(tuple(runs), step))
    return tuple(laid)


@dataclass
class _Laid:
    lines: tuple[_LaidLine, ...]
    space_before: float
    space_after: float
    keep_with_next: bool


def _lay(block: Block, geometry: Geometry) -> _Laid:
    if isinstance(block, Spacer):
        return _Laid((), block.height, 0.0, False)
    return _Laid(
        _lay_paragraph(block, geometry), block.space_before, block.space_after, block.keep_with_next
    )


def _kept_height(laid: Sequence[_Laid], k: int) -> float:
    """Height that the blocks kept with block ``k`` need on its page.

    That is a chain of keeps, then two lines of the first block that does not keep with its next.
    """
    extra = laid[k].space_after
    for nxt in laid[k + 1 :]:
        extra += nxt.space_before
        if not nxt.keep_with_next:
            return extra + sum(line.height for line in nxt.lines[:2])
        extra += sum(line.height for line in nxt.lines) + nxt.space_after
    return extra


def flow(blocks: Iterable[Block], geometry: Geometry, first_top: float | None = None) -> list[Page]:
    """Flow blocks down pages: whole lines only, no lonely first or last line of a paragraph.

    ``first_top`` starts the first page lower than the frame's top (below a letterhead).
    """
    laid = [_lay(block, geometry) for block in blocks]
    pages = [Page(geometry)]
    y = geometry.top if first_top is None else first_top

    def place(lines: Sequence[_LaidLine]) -> None:
        nonlocal y
        for line in lines:
            pages[-1].items.extend(
                TextRun(run.x, y + run.y, run.text, run.style, run.size) for run in line.runs
            )
            y -= line.height

    def new_page() -> None:
        nonlocal y
        pages.append(Page(geometry))
        y = geometry.top

    for k, item in enumerate(laid):
        if pages[-1].items:
            y -= item.space_before
        start = 0
        while start < len(item.lines):
            at_top = not pages[-1].items
            available = y - geometry.bottom
            fit, used = 0, 0.0
            for line in item.lines[start:]:
                if used + line.height > available + 0.01:
                    break
                used += line.height
                fit += 1
            remaining = len(item.lines) - start
            if fit >= remaining:
                if item.keep_with_next and not at_top:
                    extra = _kept_height(laid, k)
                    if used + extra > available + 0.01:
                        new_page()
                        continue
                place(item.lines[start:])
                break
            wanted = fit
            if remaining >= 3 and wanted == remaining - 1:
                wanted = remaining - 2  # no single line left for the next page
            if wanted == 1 or (remaining == 2 and wanted == 1):
                wanted = 0  # no single first line at the foot of a page
            if wanted == 0:
                if not at_top:
                    new_page()
                    continue
                wanted = max(fit, 1)  # taller than a page: place what fits, at least a line
            place(item.lines[start : start + wanted])
            start += wanted
            new_page()
        if item.lines:
            y -= item.space_after
    return pages
