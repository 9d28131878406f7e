"""The letter body: a small Markdown subset turned into layout paragraphs.

Paragraphs, *emphasis*, **strong**, bullet and numbered lists (nested), headings (printed bold)
and block quotes (indented). Markdown is parsed by markdown-it-py with raw HTML and entities off,
so ``<b>`` or ``&amp;`` in a letter prints as written. Placeholders (``{name}``) survive parsing and
are filled per recipient by :func:`fill_blocks`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from markdown_it import MarkdownIt

from faxbatch.letters.fonts import Style
from faxbatch.letters.layout import Paragraph, Span

BODY_SIZE = 12.0
_INDENT = 18.0

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{(\w+)\}")


def fill(text: str, values: Mapping[str, str]) -> str:
    """Put values into ``{placeholders}``; ``{{`` and ``}}`` are literal braces."""

    def sub(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        return values.get(match.group(1), token)

    return _PLACEHOLDER.sub(sub, text)


@dataclass
class _ListState:
    ordered: bool
    number: int
    items_seen: int = 0


def parse_body(text: str, size: float = BODY_SIZE) -> list[Paragraph]:
    """Parse a Markdown letter body into paragraphs (placeholders left in place)."""
    md = MarkdownIt("commonmark", {"html": False, "typographer": False}).disable("entity")
    tokens = md.parse(text)
    blocks: list[Paragraph] = []
    lists: list[_ListState] = []
    quote_depth = 0
    heading = False
    bullet_pending = ""
    for token in tokens:
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            if blocks and not lists and quote_depth == 0:
                # the paragraph that introduces a list ("We therefore ask you:") never stands
                # alone at the foot of a page
                blocks[-1] = replace(blocks[-1], keep_with_next=True)
            start = int(token.attrGet("start") or 1) if kind == "ordered_list_open" else 1
            lists.append(_ListState(kind == "ordered_list_open", start))
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
            if blocks and not lists:
                blocks[-1] = replace(blocks[-1], space_after=0.6 * size)
        elif kind == "list_item_open":
            state = lists[-1]
            bullet_pending = f"{state.number + state.items_seen}." if state.ordered else "•"
            state.items_seen += 1
        elif kind == "blockquote_open":
            quote_depth += 1
        elif kind == "blockquote_close":
            quote_depth -= 1
        elif kind == "heading_open":
            heading = True
        elif kind == "heading_close":
            heading = False
        elif kind == "inline":
            spans = _inline_spans(token.children or [], bold=heading)
            if not spans:
                continue
            indent = _INDENT * (len(lists) + quote_depth)
            in_list = bool(lists)
            blocks.append(
                Paragraph(
                    spans=spans,
                    size=size,
                    indent=indent,
                    bullet=bullet_pending,
                    space_after=(0.25 if in_list else 0.6) * size,
                    space_before=0.4 * size if heading else 0.0,
                    keep_with_next=heading,
                )
            )
            bullet_pending = ""
        elif kind in ("code_block", "fence"):
            lines = token.content.rstrip("\n")
            blocks.append(
                Paragraph(
                    (Span(lines),),
                    size=size,
                    space_after=0.6 * size,
                    indent=_INDENT * (len(lists) + quote_depth),
                )
            )
        elif kind == "hr":
            blocks.append(
                Paragraph((Span("—"),), size=size, align="center", space_after=0.6 * size)
            )
    if blocks:
        blocks[-1] = replace(blocks[-1], space_after=0.0)
    return blocks


def _inline_spans(children: Sequence[object], bold: bool) -> tuple[Span, ...]:
    strong = 1 if bold else 0
    emphasis = 0
    spans: list[Span] = []
    link_targets: list[str] = []

    def style() -> Style:
        if strong and emphasis:
            return Style.BOLD_ITALIC
        if strong:
            return Style.BOLD
        return Style.ITALIC if emphasis else Style.REGULAR

    def add(text: str) -> None:
        if not text:
            return
        if spans and spans[-1].style == style():
            spans[-1] = Span(spans[-1].text + text, style())
        else:
            spans.append(Span(text, style()))

    for child in children:
        kind = getattr(child, "type", "")
        content = str(getattr(child, "content", ""))
        if kind == "strong_open":
            strong += 1
        elif kind == "strong_close":
            strong -= 1
        elif kind == "em_open":
            emphasis += 1
        elif kind == "em_close":
            emphasis -= 1
        elif kind == "softbreak":
            add(" ")
        elif kind == "hardbreak":
            add("\n")
        elif kind == "link_open":
            attr = getattr(child, "attrGet", None)
            link_targets.append(str(attr("href") or "") if attr else "")
        elif kind == "link_close":
            target = link_targets.pop() if link_targets else ""
            shown = spans[-1].text if spans else ""
            # on paper a link is only useful with its address written out
            if target and not shown.endswith(target) and not target.startswith("#"):
                add(f" ({target.removeprefix('mailto:')})")
        elif kind == "image":
            add(content)
        else:  # text, code_inline, html_inline (shown as written) and anything newer
            add(content)
    return tuple(spans)


def fill_blocks(blocks: Sequence[Paragraph], values: Mapping[str, str]) -> list[Paragraph]:
    """The body's paragraphs with a recipient's values in the placeholders."""
    filled: list[Paragraph] = []
    for block in blocks:
        if any("{" in span.text or "}" in span.text for span in block.spans):
            spans = tuple(Span(fill(span.text, values), span.style) for span in block.spans)
            block = replace(block, spans=spans, own=block.own or spans != block.spans)
        filled.append(block)
    return filled
