"""The hint of an unknown key: a key only when it is really close, or the section a key belongs to.

``difflib``'s similarity ratio suggested ``signature`` for ``signatories`` and ``closing`` for
``lang``: a ratio of 0.5 matches words that share a few letters. A hint here names a key only when
the word is that key with one slip of the hand (two for a longer word that begins right): a letter
missing, added, changed, or two letters swapped. A word that is a key of another section says
where it goes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence


def slips(a: str, b: str) -> int:
    """Edits from ``a`` to ``b``: letters added, removed, changed, or two neighbours swapped."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, start=1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]


def close_word(word: str, known: Iterable[str]) -> str | None:
    """The known word ``word`` was probably meant to be, or None when none is really close."""
    typed = word.strip().lower().replace("-", "_")
    best: tuple[int, str] | None = None
    for candidate in known:
        distance = slips(typed, candidate.lower())
        # two slips only in a word that begins right (``facs`` for ``fax``, not ``date`` for
        # ``page``); a short key is not "close" to a word it shares one letter with
        allowed = 2 if len(typed) >= 4 and typed[:2] == candidate[:2].lower() else 1
        if distance <= min(allowed, len(candidate) - 1) and (best is None or distance < best[0]):
            best = (distance, candidate)
    return best[1] if best else None


def _sections_phrase(sections: Sequence[str]) -> str:
    words = {"recipient": "a recipient", "": "the top level (not indented)"}
    named = [words.get(name, f"'{name}:'") for name in sections]
    if len(named) == 1:
        return named[0]
    return ", ".join(named[:-1]) + " or " + named[-1]


def key_hint(key: str, allowed: Sequence[str], elsewhere: Mapping[str, Sequence[str]]) -> str:
    """The hint of the unknown key ``key`` among ``allowed``.

    ``elsewhere`` maps the other sections (``print``; ``recipient`` for a recipient's keys, ``""``
    for the top level) to their keys: a key of one of them belongs there. Otherwise a close key
    of this section, or the list of its keys.
    """
    homes = [section for section, keys in elsewhere.items() if key in keys]
    if homes:
        return f"'{key}' belongs under {_sections_phrase(homes)}"
    close = close_word(key, allowed)
    if close is not None:
        return f"did you mean '{close}'?"
    return f"known keys: {', '.join(allowed)}"


__all__ = ["close_word", "key_hint", "slips"]
