"""Right-to-left text: the Unicode bidirectional algorithm (UAX #9) for one paragraph.

faxbatch lays text out in logical order (the order it was written in) and reorders each line
for display. This module resolves the embedding level of every character of a paragraph (rules
P2-P3, W1-W7, N0-N2, I1-I2) and gives the visual order of a line (L1-L2) and the mirrored glyphs
of brackets (L4). Explicit direction controls (embeddings, overrides, isolates) are not
supported: :func:`explicit_controls` finds them so that the campaign checks can refuse them;
if they reach this module anyway they are ignored like the other invisible characters (X9).

python-bidi (in the tests) checks this against its own implementation of the algorithm. It is not
used here because it gives a reordered string, not the order of the characters: layout needs the
order to keep each character's style and width.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

#: explicit embeddings, overrides and isolates (UAX #9 X1-X8)
EXPLICIT = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

#: characters drawn with the glyph of their mirror image in right-to-left text (L4), both ways
_PAIRS = (
    "()<>[]{}«»‹›⁅⁆⁽⁾₍₎≤≥≦≧≪≫≮≯≰≱≺≻∈∋∉∌⊂⊃⊆⊇⌈⌉⌊⌋〈〉❨❩❪❫❬❭❮❯❰❱❲❳❴❵⟦⟧⟨⟩⟪⟫⦃⦄⦅⦆"
    "〈〉《》「」『』【】〔〕〖〗〘〙〚〛（）＜＞［］｛｝｟｠｢｣"
)
MIRROR: dict[str, str] = {}
for _a, _b in zip(_PAIRS[::2], _PAIRS[1::2], strict=True):
    MIRROR[_a], MIRROR[_b] = _b, _a

#: bracket pairs (UAX #9 BD16), opening to closing: the pairs above that are punctuation
_OPENING = {a: b for a, b in MIRROR.items() if unicodedata.category(a) == "Ps"}
_CLOSING = {b: a for a, b in _OPENING.items()}

_STRONG_R = frozenset(("R", "AL"))
_REMOVED = frozenset(("BN", "LRE", "RLE", "LRO", "RLO", "PDF", "LRI", "RLI", "FSI", "PDI"))
_NEUTRAL = frozenset(("B", "S", "WS", "ON"))


def has_rtl(text: str) -> bool:
    """Whether ``text`` holds a right-to-left character (Hebrew, Arabic, ...)."""
    bidirectional = unicodedata.bidirectional
    return any(bidirectional(c) in _STRONG_R for c in text if c > "\u058f")


def explicit_controls(text: str) -> list[str]:
    """The explicit direction controls in ``text`` (once each, in order of appearance)."""
    found: list[str] = []
    for char in text:
        if char in EXPLICIT and char not in found:
            found.append(char)
    return found


def paragraph_level(text: str) -> int:
    """0 (left to right) or 1 (right to left): the direction of the first strong character."""
    bidirectional = unicodedata.bidirectional
    for char in text:
        kind = bidirectional(char)
        if kind == "L":
            return 0
        if kind in _STRONG_R:
            return 1
    return 0


def levels(text: str, base: int) -> list[int]:
    """The resolved embedding level of every character of one paragraph (no explicit controls).

    Characters the algorithm ignores (X9: format characters, controls) take the level of the
    character before them, so that every character has one.
    """
    bidirectional = unicodedata.bidirectional
    classes = [bidirectional(c) for c in text]
    kept = [i for i, kind in enumerate(classes) if kind not in _REMOVED]
    types = [classes[i] for i in kept]
    chars = [text[i] for i in kept]
    sos = "R" if base % 2 else "L"
    _weak(types, sos)
    _brackets(chars, types, [classes[i] for i in kept], sos)
    _neutrals(types, sos)
    resolved = [base] * len(text)
    for i, kind in zip(kept, types, strict=True):
        if base % 2 == 0:
            resolved[i] = base + (1 if kind == "R" else 2 if kind in ("AN", "EN") else 0)
        else:
            resolved[i] = base + (1 if kind in ("L", "AN", "EN") else 0)
    for i, kind in enumerate(classes):  # removed characters follow the one before them
        if kind in _REMOVED:
            resolved[i] = resolved[i - 1] if i else base
    return resolved


def _weak(types: list[str], sos: str) -> None:
    """Rules W1-W7, in place."""
    previous = sos
    for i, kind in enumerate(types):  # W1
        if kind == "NSM":
            types[i] = previous
        else:
            previous = types[i]
    strong = sos
    for i, kind in enumerate(types):  # W2
        if kind in ("L", "R", "AL"):
            strong = kind
        elif kind == "EN" and strong == "AL":
            types[i] = "AN"
    for i, kind in enumerate(types):  # W3
        if kind == "AL":
            types[i] = "R"
    for i in range(1, len(types) - 1):  # W4
        before, kind, after = types[i - 1], types[i], types[i + 1]
        if before == after == "EN" and kind in ("ES", "CS"):
            types[i] = "EN"
        elif before == after == "AN" and kind == "CS":
            types[i] = "AN"
    i = 0
    while i < len(types):  # W5
        if types[i] != "ET":
            i += 1
            continue
        end = i
        while end < len(types) and types[end] == "ET":
            end += 1
        if (i > 0 and types[i - 1] == "EN") or (end < len(types) and types[end] == "EN"):
            types[i:end] = ["EN"] * (end - i)
        i = end
    for i, kind in enumerate(types):  # W6
        if kind in ("ES", "ET", "CS"):
            types[i] = "ON"
    strong = sos
    for i, kind in enumerate(types):  # W7
        if kind in ("L", "R"):
            strong = kind
        elif kind == "EN" and strong == "L":
            types[i] = "L"


def _strong(kind: str) -> str:
    """The direction a resolved type counts as for neutrals (numbers count as R)."""
    return "R" if kind in ("R", "EN", "AN") else kind


def _brackets(chars: Sequence[str], types: list[str], original: Sequence[str], sos: str) -> None:
    """Rule N0: a pair of brackets takes the direction of what it encloses, or of its context."""
    stack: list[tuple[str, int]] = []
    pairs: list[tuple[int, int]] = []
    for i, char in enumerate(chars):
        if types[i] != "ON":
            continue
        if char in _OPENING:
            if len(stack) == 63:  # BD16: too deep, no more pairs
                break
            stack.append((_OPENING[char], i))
        elif char in _CLOSING:
            for depth in range(len(stack) - 1, -1, -1):
                if stack[depth][0] == char:
                    pairs.append((stack[depth][1], i))
                    del stack[depth:]
                    break
    embedding = sos  # one run: the embedding direction is the paragraph's
    for opening, closing in sorted(pairs):
        inside = {_strong(types[k]) for k in range(opening + 1, closing)} & {"L", "R"}
        if not inside:
            continue
        if embedding in inside:
            direction = embedding
        else:
            before = sos
            for k in range(opening - 1, -1, -1):
                if _strong(types[k]) in ("L", "R"):
                    before = _strong(types[k])
                    break
            direction = before  # the context before, whichever way it goes
        for k in (opening, closing):
            types[k] = direction
            # combining marks on a bracket follow it (they took its type in W1)
            j = k + 1
            while j < len(types) and original[j] == "NSM":
                types[j] = direction
                j += 1


def _neutrals(types: list[str], sos: str) -> None:
    """Rules N1-N2, in place."""
    i = 0
    while i < len(types):
        if types[i] not in _NEUTRAL:
            i += 1
            continue
        end = i
        while end < len(types) and types[end] in _NEUTRAL:
            end += 1
        before = _strong(types[i - 1]) if i > 0 else sos
        after = _strong(types[end]) if end < len(types) else sos
        direction = before if before == after else sos
        types[i:end] = [direction] * (end - i)
        i = end


def line_order(text: str, resolved: Sequence[int], base: int) -> list[int]:
    """The indices of a line's characters from left to right (rules L1-L2).

    ``resolved`` holds the levels :func:`levels` gave the line's characters.
    """
    bidirectional = unicodedata.bidirectional
    line = list(resolved)
    trailing = True
    for i in range(len(text) - 1, -1, -1):  # L1
        kind = bidirectional(text[i])
        if kind in ("S", "B"):
            line[i] = base
            trailing = True
        elif trailing and (kind in ("WS", "BN") or kind in _REMOVED):
            line[i] = base
        else:
            trailing = False
    order = list(range(len(text)))
    if not line:
        return order
    highest = max(line)
    lowest_odd = min((level for level in line if level % 2), default=highest + 1)
    for level in range(highest, lowest_odd - 1, -1):  # L2
        i = 0
        while i < len(order):
            if line[order[i]] < level:
                i += 1
                continue
            end = i
            while end < len(order) and line[order[end]] >= level:
                end += 1
            order[i:end] = order[i:end][::-1]
            i = end
    return order
