"""Page geometry, line breaking and pagination: pure functions from text to positioned runs.

Nothing here writes a file. A :class:`Page` is a list of positioned items (text runs, lines,
rectangles) in PDF points, origin at the bottom left; :mod:`faxbatch.letters.pdf` serialises it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from itertools import pairwise
from typing import Generic, TypeVar

from faxbatch.campaign.model import PageSize
from faxbatch.letters.direction import MIRROR, has_rtl, levels, line_order, paragraph_level
from faxbatch.letters.fonts import Style, is_invisible, is_space, typeface
from faxbatch.letters.shaping import needs_shaping, shape

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

    @staticmethod
    @cache  # the same object each time: layout's caches find their keys by identity first
    def for_size(size: PageSize) -> Geometry:
        """Margins of about an inch, top well clear of the fax header zone."""
        width, height = PAGE_SIZES[size]
        return Geometry(
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


@dataclass(frozen=True)
class Image:
    """A raster image (a page of an enclosure) drawn into the box (x, y, w, h).

    ``key`` names the image among the batch's (see :class:`faxbatch.letters.pdf.RasterImage`).
    """

    x: float
    y: float
    w: float
    h: float
    key: str


Item = TextRun | Rule | Box | Image

V = TypeVar("V")


class ByIdentity(Generic[V]):
    """Values remembered by the identities of a sequence of objects (a page's items, fonts).

    Items are immutable, and the layout hands out the very same objects for the same line at the
    same height (see :func:`flow`): what was worked out for a page of them holds for every page
    of them. Each entry holds its objects, so no identity in a key is taken by another object
    while the entry lives. At most ``size`` entries are kept (then it starts again).
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: dict[tuple[int, ...], tuple[tuple[object, ...], V]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, objects: Sequence[object]) -> V | None:
        """The value remembered for these very objects, in this order, or None."""
        found = self._entries.get(tuple(map(id, objects)))
        return None if found is None else found[1]

    def put(self, objects: Sequence[object], value: V) -> None:
        """Remember ``value`` for these very objects."""
        if len(self._entries) >= self.size:
            self._entries.clear()
        held = tuple(objects)
        self._entries[tuple(map(id, held))] = (held, value)

    def clear(self) -> None:
        """Forget every value."""
        self._entries.clear()


@dataclass
class Page:
    """One page: its geometry and what is drawn on it."""

    geometry: Geometry
    items: list[Item] = field(default_factory=list)
    #: what differs on every page of a batch ("Page 2 of 4"), kept apart from the rest so that
    #: the rest can be rendered once and shared by every letter whose page is the same
    footer: list[Item] = field(default_factory=list)
    #: where in ``items`` a recipient's own items (an address, a name on the cover) begin and
    #: end: (index, whether the items from there on are a recipient's own). Each part is a
    #: content stream of its own, so that the parts all letters share are drawn once
    parts: list[tuple[int, bool]] = field(default_factory=list)

    def begin(self, own: bool) -> None:
        """The items added next are (or are not) a recipient's own: a new part if that changes."""
        if self.parts and self.parts[-1][0] == len(self.items):
            self.parts.pop()  # the part begun last holds no items
        if own != (self.parts[-1][1] if self.parts else False):
            self.parts.append((len(self.items), own))

    def content_parts(self) -> list[tuple[Sequence[Item], bool]]:
        """The items part by part (none empty), each with whether it is a recipient's own."""
        if not self.parts:
            return [(self.items, False)] if self.items else []
        bounds = [(0, False), *self.parts, (len(self.items), False)]
        return [
            (self.items[start:end], own)
            for (start, own), (end, _) in pairwise(bounds)
            if end > start
        ]

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
    #: one recipient's own text (an address, a greeting by name): see :attr:`Page.parts`
    own: bool = False

    @property
    def line_height(self) -> float:
        """Distance between baselines."""
        return self.leading or round(self.size * 1.3, 2)


@dataclass(frozen=True)
class Spacer:
    """Vertical space; dropped at the top of a page."""

    height: float


Block = Paragraph | Spacer

#: where lines break: a line feed, and Unicode's line and paragraph separators
_BREAKS = "\n\u2028\u2029"
#: spaces a line may break at (a zero width space is one, of no width); U+00A0 NO-BREAK SPACE,
#: U+2007 FIGURE SPACE and U+202F NARROW NO-BREAK SPACE belong to the word they are in
_GAPS = frozenset(
    " \t\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2008\u2009\u200a\u200b\u205f\u3000"
)
_GAP_CLASS = "".join(sorted(_GAPS)).replace("\t", "\\t")
_TOKEN = re.compile(rf"[{_BREAKS}]|[{_GAP_CLASS}]+|(?:[^\s\u200b]|[\u00a0\u2007\u202f])+")
SOFT_HYPHEN = "\u00ad"
#: what a line that breaks at a soft hyphen ends with (a character every subset holds)
HYPHEN = "-"

# one laid-out line: (text, style, x offset from the line start)
LinePieces = tuple[tuple[str, Style, float], ...]


@dataclass(frozen=True)
class Line:
    """One laid-out line: its pieces from left to right, and whether it reads right to left."""

    pieces: LinePieces
    rtl: bool = False


# a piece of a line in logical order: (drawn text, style, x, where in the paragraph each drawn
# character was written: None when the paragraph reads left to right only)
_Placed = tuple[str, Style, float, tuple[int, ...] | None]
# a part of a word: (text as written, style, index of its first character in the paragraph)
_Part = tuple[str, Style, int]


def wrap(spans: Sequence[Span], width: float, size: float) -> list[LinePieces]:
    """Break spans into lines no wider than ``width`` (greedy; over-long words are cut)."""
    return [line.pieces for line in wrap_lines(spans, width, size)]


def wrap_lines(spans: Sequence[Span], width: float, size: float) -> list[Line]:
    """Like :func:`wrap`, with each line's direction.

    Text is laid out as written: Arabic letters joined, lines broken in the order the text was
    written, then each line put in display order by the Unicode bidirectional algorithm (the
    direction of a paragraph, that is of each part between line feeds, is that of its first
    letter). Spaces keep their own widths; no line breaks at a no-break space; a soft hyphen is
    drawn only where a line breaks at it.
    """
    return list(_wrap_cached(tuple(spans), round(width, 3), size))


def single_line(text: str, style: Style, size: float) -> Line:
    """``text`` on one line, however long (labels, footers, a return line).

    Text with nothing to shape, reorder or hide is drawn exactly as written, spaces and all.
    """
    if _plain(text) and typeface()[style].covers(text):
        return Line(((text, style, 0.0),) if text else ())
    lines = _wrap_cached((Span(text.replace("\n", " "), style),), float("inf"), size)
    return lines[0] if lines else Line(())


def _plain(text: str) -> bool:
    """Whether ``text`` draws as written: no line feed, nothing to shape, reorder or hide."""
    if text.isascii():
        return "\n" not in text and "\t" not in text
    return not (
        has_rtl(text)
        or needs_shaping(text)
        or any(is_invisible(c) or (c != " " and is_space(c)) or c in _BREAKS for c in text)
    )


def unbreakable(text: str, size: float, style: Style = Style.REGULAR) -> list[tuple[str, float]]:
    """The pieces of ``text`` no line can break inside (as written), each with its width in points.

    A piece that ends at a soft hyphen counts the hyphen a line ending there shows.
    """
    found: list[tuple[str, float]] = []
    hyphen = typeface()[style].width(HYPHEN, size)
    for word in _TOKEN.findall(text):
        if word in _BREAKS or word[0] in _GAPS:
            continue
        chunks = word.split(SOFT_HYPHEN)
        for n, chunk in enumerate(chunks):
            line = single_line(chunk, style, size)
            if line.pieces:
                extra = hyphen if n < len(chunks) - 1 else 0.0
                found.append((chunk, line_width(line.pieces, size) + extra))
    return found


@lru_cache(maxsize=65536)  # the words of a letter repeat, in it and in every other letter
def _drawn(text: str, gap: bool = False) -> str:
    """What a word part (or a gap) as written draws.

    No invisible characters; in a gap, a run of ordinary spaces and tabs is one space.
    """
    if not gap and text.isascii():
        return text
    return "".join(_drawn_map(text, 0, gap)[0])


def _drawn_map(text: str, start: int, gap: bool) -> tuple[list[str], list[int]]:
    """The characters :func:`_drawn` draws, and where each was written (``start`` + offset)."""
    chars: list[str] = []
    where: list[int] = []
    after_space = False
    for k, char in enumerate(text):
        if is_invisible(char):
            continue
        if gap and char in " \t":
            if after_space:
                continue
            char, after_space = " ", True
        else:
            after_space = False
        chars.append(char)
        where.append(start + k)
    return chars, where


@lru_cache(maxsize=65536)
def _by_face(text: str, style: Style) -> tuple[tuple[str, Style], ...]:
    """``text`` cut where another face must draw it (see :data:`faxbatch.letters.fonts.FALLBACK`).

    A space no face has is drawn as a space.
    """
    faces = typeface()
    if faces[style].covers(text):
        return ((text, style),)
    runs: list[tuple[str, Style]] = []
    for char in text:
        used = faces.style_for(style, char)
        if not faces[used].has(char) and is_space(char):
            char = " "
        if runs and runs[-1][1] == used:
            runs[-1] = (runs[-1][0] + char, used)
        else:
            runs.append((char, used))
    return tuple(runs)


@lru_cache(maxsize=65536)
def _width(text: str, style: Style, size: float) -> float:
    """Width of drawn text in ``style``, each character in the face that draws it."""
    faces = typeface()
    return sum(faces[used].width(part, size) for part, used in _by_face(text, style))


def _shaped(spans: tuple[Span, ...]) -> tuple[Span, ...]:
    """The spans with their Arabic letters joined, across span boundaries.

    A word may change style in the middle: its letters still join.
    """
    text = "".join(span.text for span in spans)
    if not needs_shaping(text):
        return spans
    shaped, origin = shape(text)
    owner: list[int] = []
    for n, span in enumerate(spans):
        owner.extend([n] * len(span.text))
    texts = [""] * len(spans)
    for char, source in zip(shaped, origin, strict=True):
        texts[owner[source]] += char
    return tuple(Span(t, span.style) for t, span in zip(texts, spans, strict=True) if t)


def _as_written(spans: tuple[Span, ...], width: float, size: float) -> tuple[Line, ...] | None:
    """The lines of one span that needs no breaking, each drawn as written; None if it does.

    That is text of one style whose every line fits, with nothing to shape, reorder, hide or
    join (single spaces between words, none at either end): most of what a cover sheet and an
    address hold. :func:`_broken_lines` lays such text out the same way, only slower.
    """
    if len(spans) != 1:
        return None
    style = spans[0].style
    face = typeface()[style]
    lines = []
    for text in spans[0].text.split("\n"):
        if text:
            # printable: no control, format (soft hyphen, zero width space), separator
            # (no-break and other special spaces, U+2028, U+2029) characters
            if not text.isprintable() or text[0] == " " or text[-1] == " " or "  " in text:
                return None
            if not text.isascii() and (
                has_rtl(text) or needs_shaping(text) or any(map(is_invisible, text))
            ):
                return None
            if not face.covers(text) or face.width(text, size) > width + 0.01:
                return None
        lines.append(Line(((text, style, 0.0),) if text else ()))
    return tuple(lines)


@lru_cache(maxsize=1024)
def _wrap_cached(spans: tuple[Span, ...], width: float, size: float) -> tuple[Line, ...]:
    written = _as_written(spans, width, size)
    return _broken_lines(spans, width, size) if written is None else written


def _broken_lines(spans: tuple[Span, ...], width: float, size: float) -> tuple[Line, ...]:
    """Spans broken into lines (see :func:`wrap_lines`), whatever they hold."""
    spans = _shaped(spans)
    paragraph = "".join(span.text for span in spans)
    bidi = _Bidi(paragraph) if has_rtl(paragraph) else None
    # words: lists of parts; None marks a forced break; gaps: (text as written, style, index)
    words: list[list[_Part] | None] = []
    gap_before: list[tuple[str, Style, int] | None] = []
    pending_gap: tuple[str, Style, int] | None = None
    joined = True  # the next part continues the current word (no space in between)
    offset = 0
    for span in spans:
        for match in _TOKEN.finditer(span.text):
            token, start = match.group(), offset + match.start()
            if token in _BREAKS:
                words.append(None)
                gap_before.append(None)
                pending_gap, joined = None, False
            elif token[0] in _GAPS:
                text = pending_gap[0] + token if pending_gap else token
                pending_gap = (text, span.style, pending_gap[2] if pending_gap else start)
                joined = False
            elif joined and words and words[-1] is not None:
                current = words[-1]
                assert current is not None
                current.append((token, span.style, start))
            else:
                words.append([(token, span.style, start)])
                gap_before.append(pending_gap)
                pending_gap, joined = None, True
        offset += len(span.text)

    lines: list[list[_Placed]] = [[]]
    x = 0.0

    def place(text: str, style: Style, start: int, gap: bool = False) -> None:
        nonlocal x
        if bidi is None:
            drawn, where = _drawn(text, gap), None
        else:
            chars, positions = _drawn_map(text, start, gap)
            drawn = "".join(chars)
        for part, used in _by_face(drawn, style) if drawn else ():
            if bidi is not None:
                where, positions = tuple(positions[: len(part)]), positions[len(part) :]
            lines[-1].append((part, used, x, where))
            x += typeface()[used].width(part, size)

    def place_split(split: _Split) -> list[_Part]:
        """Place the head of a word cut at a soft hyphen, and a hyphen; return its tail."""
        head, style, index, tail = split
        for text, part_style, start in head:
            place(text, part_style, start)
        place(HYPHEN, style, index)
        return tail

    for word, gap in zip(words, gap_before, strict=True):
        if word is None:
            lines.append([])
            x = 0.0
            continue
        while True:
            word_width = sum(_width(_drawn(text), style, size) for text, style, _ in word)
            space = _width(_drawn(gap[0], True), gap[1], size) if gap and lines[-1] else 0.0
            if lines[-1] and x + space + word_width > width + 0.01:
                split = _soft_split(word, width - x - space, size)
                if split is not None:
                    if gap is not None:
                        place(gap[0], gap[1], gap[2], gap=True)
                    word = place_split(split)
                    lines.append([])
                    x, gap = 0.0, None
                    continue
                lines.append([])
                x, space = 0.0, 0.0
            if word_width > width + 0.01:
                split = _soft_split(word, width - x, size)
                if split is not None:
                    word = place_split(split)
                    lines.append([])
                    x, gap = 0.0, None
                    continue
                x = _place_cut_word(lines, word, x + space, width, size, bidi is not None)
                break
            if space and gap is not None:
                place(gap[0], gap[1], gap[2], gap=True)
            for text, style, start in word:
                place(text, style, start)
            break
    if bidi is None:
        return tuple(Line(_merge([(t, s, x) for t, s, x, _ in line])) for line in lines)
    return tuple(bidi.display(line, size) for line in lines)


# a word cut at a soft hyphen: the parts before it, the hyphen's style and index, the parts after
_Split = tuple[list[_Part], Style, int, list[_Part]]


def _soft_split(word: list[_Part], room: float, size: float) -> _Split | None:
    """The word cut at its last soft hyphen that leaves a head (and hyphen) within ``room``."""
    if not any(SOFT_HYPHEN in text for text, _, _ in word):
        return None
    faces = typeface()
    best: _Split | None = None
    for p, (text, style, start) in enumerate(word):
        at = text.find(SOFT_HYPHEN)
        while at >= 0:
            head = [part for part in (*word[:p], (text[:at], style, start)) if part[0]]
            tail = [part for part in ((text[at + 1 :], style, start + at + 1), *word[p + 1 :])
                    if part[0]]  # fmt: skip
            if "".join(_drawn(t) for t, _, _ in head) and "".join(_drawn(t) for t, _, _ in tail):
                used = sum(_width(_drawn(t), s, size) for t, s, _ in head)
                if used + faces[style].width(HYPHEN, size) > room + 0.01:
                    return best
                best = (head, style, start + at, tail)
            at = text.find(SOFT_HYPHEN, at + 1)
    return best


def _place_cut_word(
    lines: list[list[_Placed]],
    word: list[_Part],
    x: float,
    width: float,
    size: float,
    positions: bool = False,
) -> float:
    """Place a word wider than the line, character by character over several lines."""
    faces = typeface()
    for text, style, start in word:
        for k, char in enumerate(text):
            drawn = _drawn(char)
            if not drawn:
                continue
            used = faces.style_for(style, drawn)
            w = faces[used].width(drawn, size)
            if lines[-1] and x + w > width + 0.01:
                lines.append([])
                x = 0.0
            lines[-1].append((drawn, used, x, (start + k,) if positions else None))
            x += w
    return x


class _Bidi:
    """The embedding levels of a paragraph holding right-to-left text, and its lines' order."""

    def __init__(self, paragraph: str) -> None:
        self.paragraph = paragraph
        # the parts between paragraph separators, each with its direction and levels
        self.levels: list[int] = []
        self.base: list[int] = []
        for part in re.split(r"([\n\u2029])", paragraph):
            base = paragraph_level(part)
            self.levels.extend(levels(part, base) if has_rtl(part) else [base] * len(part))
            self.base.extend([base] * len(part))

    def display(self, placed: list[_Placed], size: float) -> Line:
        """A line in display order (UAX #9 L1, L2; brackets mirrored in right-to-left runs)."""
        if not placed:
            return Line(())
        atoms: list[tuple[str, Style, int]] = []
        for text, style, _, where in placed:
            assert where is not None
            atoms.extend(zip(text, [style] * len(text), where, strict=True))
        first = atoms[0][2]
        base = self.base[first]
        # what L1 looks at: the character as written, a hyphen for a soft hyphen shown
        written = "".join(
            HYPHEN if self.paragraph[i] == SOFT_HYPHEN else self.paragraph[i] for _, _, i in atoms
        )
        order = line_order(written, [self.levels[i] for _, _, i in atoms], base)
        if order == sorted(order) and not any(self.levels[i] % 2 for _, _, i in atoms):
            return Line(_merge([(t, s, x) for t, s, x, _ in placed]), rtl=bool(base))
        faces = typeface()
        runs: list[tuple[str, Style, float]] = []
        x = 0.0
        for k in order:
            char, style, index = atoms[k]
            mirror = MIRROR.get(char)
            if mirror and self.levels[index] % 2 and faces[style].has(mirror):
                char = mirror
            runs.append((char, style, x))
            x += faces[style].width(char, size)
        return Line(_merge(runs), rtl=bool(base))


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
    for line in wrap_lines(spans, width, size):
        baseline = y - _baseline_drop(size, step)
        x0 = x + (width - line_width(line.pieces, size) if line.rtl else 0.0)  # RTL: flush right
        runs.extend(TextRun(x0 + dx, baseline, t, s, size) for t, s, dx in line.pieces if t.strip())
        y -= step
    return runs, y


def _baseline_drop(size: float, step: float) -> float:
    return (step - size) / 2 + ASCENT * size


# -- flowing blocks over pages --------------------------------------------------------------------
@dataclass(frozen=True, eq=False)  # hashed and compared as itself: a key of _PLACED
class _LaidLine:
    runs: tuple[TextRun, ...]  # positioned relative to the line's top at y = 0
    height: float


#: the runs of a laid-out line placed with its top at a height, by (line, height): the lines of a
#: body land at the same heights in letter after letter, and the same runs (the very objects)
#: make pages a renderer knows as drawn before (see :func:`faxbatch.letters.pdf.render_page`)
_PLACED: dict[tuple[_LaidLine, float], tuple[TextRun, ...]] = {}
#: at most this many placed lines are kept (then the cache starts again)
PLACED_LINES = 8192


def _placed_runs(line: _LaidLine, y: float) -> tuple[TextRun, ...]:
    """The runs of ``line`` with its top at ``y``; the same objects for the same line and height."""
    key = (line, y)
    runs = _PLACED.get(key)
    if runs is None:
        runs = tuple(TextRun(run.x, y + run.y, run.text, run.style, run.size) for run in line.runs)
        if len(_PLACED) >= PLACED_LINES:
            _PLACED.clear()
        _PLACED[key] = runs
    return runs


@lru_cache(maxsize=1024)
def _lay_paragraph(block: Paragraph, geometry: Geometry) -> tuple[_LaidLine, ...]:
    width = geometry.frame_width - block.indent
    size = block.size
    step = block.line_height
    drop = _baseline_drop(size, step)
    laid: list[_LaidLine] = []
    for n, line in enumerate(wrap_lines(block.spans, width, size)):
        pieces = line.pieces
        # a right-to-left paragraph is indented from the right and flush right
        align = "right" if line.rtl and block.align == "left" else block.align
        if align == "left":
            shift = 0.0
        else:
            free = width - line_width(pieces, size)
            shift = free if align == "right" else free / 2
        x0 = geometry.left + (0.0 if line.rtl else block.indent) + shift
        runs = [TextRun(x0 + dx, -drop, t, s, size) for t, s, dx in pieces if t.strip()]
        if n == 0 and block.bullet:
            bullet = single_line(block.bullet, Style.REGULAR, size)
            bullet_width = line_width(bullet.pieces, size)
            right = geometry.left + width  # where a right-to-left line ends
            bx = right + 0.4 * size if line.rtl else x0 - bullet_width - 0.4 * size
            runs[:0] = [TextRun(bx + dx, -drop, t, s, size) for t, s, dx in bullet.pieces]
        laid.append(_LaidLine(tuple(runs), step))
    return tuple(laid)


@dataclass
class _Laid:
    lines: tuple[_LaidLine, ...]
    space_before: float
    space_after: float
    keep_with_next: bool
    own: bool = False


def line_count(block: Paragraph, geometry: Geometry) -> int:
    """How many lines ``block`` takes in the frame of ``geometry``."""
    return len(_lay_paragraph(block, geometry))


def _lay(block: Block, geometry: Geometry) -> _Laid:
    if isinstance(block, Spacer):
        return _Laid((), block.height, 0.0, False)
    return _Laid(
        _lay_paragraph(block, geometry),
        block.space_before,
        block.space_after,
        block.keep_with_next,
        block.own,
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
        page = pages[-1]
        page.begin(own)
        items = page.items
        for line in lines:
            items.extend(_placed_runs(line, y))
            y -= line.height

    def new_page() -> None:
        nonlocal y
        pages.append(Page(geometry))
        y = geometry.top

    for k, item in enumerate(laid):
        own = item.own
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
                        # a long paragraph is not moved whole (a fax page costs): its last
                        # two lines go over with what it keeps with, the rest stays here
                        wanted = remaining - 2
                        if wanted >= 2:
                            place(item.lines[start : start + wanted])
                            start += wanted
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
