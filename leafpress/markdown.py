"""Write a `Leaflet` back as a source file: YAML front matter and the Markdown the reader reads.

Used for imported translations. Text is escaped so that nothing a translator typed can
turn into Markdown structure; the caller reads the result back to prove it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from .model import Block, Bold, Callout, Heading, Image, Inline, Leaflet, Link, ListBlock, Meta, Paragraph, Table, Text

_INLINE_SPECIAL = re.compile(r"([\\`*_\[\]<>#])")
_ENTITY = re.compile(r"&(?=#?\w+;)")
_LINE_START_SPECIAL = re.compile(r"^(?:([+=-])|(\d+)([.)]))")


def leaflet_markdown(leaflet: Leaflet, comment: str = "") -> str:
    """The whole source file for ``leaflet``, written where it will live (image paths are relative to it)."""
    front = "".join(f"# {line}\n" for line in comment.splitlines()) + _front_matter(leaflet.meta)
    body = "\n\n".join(_blocks(leaflet.blocks, leaflet.source.parent))
    return f"---\n{front}---\n\n{body}\n"


def _front_matter(meta: Meta) -> str:
    values: dict[str, object] = {
        "title": meta.title,
        "subtitle": meta.subtitle,
        "resource_number": meta.resource_number,
        "last_reviewed": meta.last_reviewed.iso,
        "next_review": meta.next_review.iso,
        "language": meta.language,
        "department": meta.department,
        "do_not_translate": list(meta.do_not_translate) or None,
    }
    return "".join(
        yaml.safe_dump({key: value}, allow_unicode=True, sort_keys=False, width=1_000_000, indent=2)
        for key, value in values.items()
        if value is not None
    )


def _blocks(blocks: tuple[Block, ...], folder: Path) -> list[str]:
    written: list[str] = []
    previous: Block | None = None
    alternate = False  # two lists in a row need different markers, or Markdown joins them
    for block in blocks:
        if isinstance(block, ListBlock) and isinstance(previous, ListBlock) and previous.ordered == block.ordered:
            alternate = not alternate
        else:
            alternate = False
        written.append(_block(block, folder, alternate))
        previous = block
    return written


def _block(block: Block, folder: Path, alternate: bool) -> str:
    if isinstance(block, Heading):
        return f"{'#' * block.level} {inline_markdown(block.inlines)}"
    if isinstance(block, Paragraph):
        return inline_markdown(block.inlines, at_line_start=True)
    if isinstance(block, ListBlock):
        return _list(block, folder, alternate)
    if isinstance(block, Callout):
        inner = "\n\n".join(_blocks(block.blocks, folder))
        return "\n".join(f"> {line}" if line else ">" for line in inner.split("\n"))
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Image):
        target = Path(os.path.relpath(block.path, folder)).as_posix()
        return f"![{block.alt}]({_destination(target)})"  # the reader takes alt text as written, escapes included
    raise TypeError(f"no Markdown for {type(block).__name__}")


def _list(block: ListBlock, folder: Path, alternate: bool) -> str:
    loose = any(sum(isinstance(b, Paragraph) for b in item.blocks) > 1 for item in block.items)
    items = []
    for number, item in enumerate(block.items, start=block.start):
        marker = (f"{number}{')' if alternate else '.'} " if block.ordered else f"{'*' if alternate else '-'} ")
        parts = _blocks(item.blocks, folder)
        text = ""
        for index, part in enumerate(parts):
            if index:
                text += "\n" if isinstance(item.blocks[index], ListBlock) and not loose else "\n\n"
            text += part
        lines = text.split("\n")
        items.append("\n".join([marker + lines[0], *((" " * len(marker) + line) if line else "" for line in lines[1:])]))
    return ("\n\n" if loose else "\n").join(items)


def _table(table: Table) -> str:
    def row(cells: tuple[tuple[Inline, ...], ...]) -> str:
        return "| " + " | ".join(inline_markdown(cell).replace("|", "\\|") for cell in cells) + " |"

    lines = [row(table.header), "|" + "---|" * len(table.header)]
    lines.extend(row(cells) for cells in table.rows)
    return "\n".join(lines)


def inline_markdown(spans: tuple[Inline, ...], at_line_start: bool = False) -> str:
    """Inline spans as Markdown on one line; ``at_line_start`` escapes what would start a block."""
    text = "".join(_span(span) for span in spans)
    return _LINE_START_SPECIAL.sub(_escape_line_start, text) if at_line_start else text


def _escape_line_start(match: re.Match[str]) -> str:
    """``\\-``, ``\\+``…, or ``1\\.``: a list number is escaped at its delimiter."""
    return f"\\{match[1]}" if match[1] else f"{match[2]}\\{match[3]}"


def _span(span: Inline) -> str:
    if isinstance(span, Text):
        return _escape(span.text)
    if isinstance(span, Bold):
        return f"**{''.join(_span(child) for child in span.children)}**"
    if isinstance(span, Link):
        return f"[{''.join(_span(child) for child in span.children)}]({_destination(span.href)})"
    raise TypeError(f"no Markdown for {type(span).__name__}")


def _destination(target: str) -> str:
    """A link or image target, in <…> when it holds what would end a bare one."""
    return f"<{target}>" if re.search(r"[\s()<>\\]", target) else target


def _escape(text: str) -> str:
    return _ENTITY.sub("\\&", _INLINE_SPECIAL.sub(r"\\\1", text))
