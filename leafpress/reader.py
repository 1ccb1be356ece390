"""Read a leaflet source (YAML front matter + Markdown) into a validated `Leaflet`.

Every problem is reported with the file and line it is on; nothing in a source is
ever evaluated, rendered as HTML or treated as a template.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.tree import SyntaxTreeNode

from .errors import InputError, Problem
from .files import SETTLE_NS
from .model import (
    DEFAULT_LANGUAGE,
    MONTH_NAMES,
    Block,
    Bold,
    Callout,
    Heading,
    Image,
    Inline,
    Leaflet,
    Link,
    ListBlock,
    ListItem,
    Meta,
    Paragraph,
    ReviewDate,
    Table,
    Text,
    checksum,
)

MAX_SOURCE_BYTES = 1_000_000
MAX_IMAGE_BYTES = 10_000_000
MAX_IMAGE_PIXELS = 50_000_000
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
LINK_SCHEMES = ("https://", "http://", "mailto:", "tel:")

REQUIRED_KEYS = ("title", "resource_number", "last_reviewed", "next_review")
OPTIONAL_KEYS = ("subtitle", "language", "department", "do_not_translate")
SLUG_RE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
LANGUAGE_RE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{2,8})*")
SOURCE_NAME_RE = re.compile(rf"(?P<slug>[^.]+)(?:\.(?P<lang>{LANGUAGE_RE.pattern}))?\.md")
# Characters no Word file (XML 1.0) can hold, C1 controls that are never meant as text, and a carriage
# return outside a CR LF line end (Markdown would count it as a line break, shifting every error's line).
FORBIDDEN_CHARACTERS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ufffe\uffff]")
DATE_HELP = "write it as YYYY-MM, YYYY-MM-DD or 'June 2022'"

_MARKDOWN = MarkdownIt("commonmark", {"html": True}).enable("table")


def slug_and_language(path: Path) -> tuple[str, str | None]:
    """Split ``poem-achalasia.pl.md`` into its slug and language; raises InputError if unusable."""
    match = SOURCE_NAME_RE.fullmatch(path.name)
    if not match or not SLUG_RE.fullmatch(match["slug"]):
        raise InputError.at(
            path,
            1,
            f"file name '{path.name}' is not <slug>.md or <slug>.<lang>.md; "
            "use lowercase letters, digits and hyphens, e.g. knee-surgery.md or knee-surgery.pl.md",
        )
    return match["slug"], match["lang"]


def read_leaflet(path: Path) -> Leaflet:
    """Read and validate one source file; raises InputError listing every problem found."""
    path = Path(path)
    slug_and_language(path)
    return leaflet_from_bytes(path, path.read_bytes())


def read_meta(path: Path) -> Meta:
    """Read and validate only a source's front matter (its title, language, stamp): what another
    leaflet's page needs to link it, without parsing its text; raises InputError."""
    path = Path(path)
    _slug, file_language = slug_and_language(path)
    front, front_line, _body, _body_line = _parts(path, path.read_bytes())
    return _read_meta(path, front, front_line, file_language)[0]


def leaflet_from_bytes(path: Path, raw: bytes) -> Leaflet:
    """Read and validate a source's bytes as if they were the file at ``path`` (its name gives
    the slug and language, its folder the images); raises InputError listing every problem."""
    slug, file_language = slug_and_language(path)
    front, front_line, body, body_line = _parts(path, raw)
    problems: list[Problem] = []
    try:
        meta, key_lines = _read_meta(path, front, front_line, file_language)
    except InputError as err:
        problems.extend(err.problems)
    try:
        blocks = _BodyReader(path, body_line).read(body)
    except InputError as err:
        problems.extend(err.problems)
    if problems:
        raise InputError(sorted(problems, key=lambda p: p.line))
    return Leaflet(
        meta=meta,
        blocks=blocks,
        source=path,
        slug=slug,
        checksum=checksum(raw),
        key_lines=key_lines,
    )


def _parts(path: Path, raw: bytes) -> tuple[str, int, str, int]:
    """A source's front matter and body, each with the line it starts on; InputError for a file
    too large or not UTF-8, or with no front matter."""
    if len(raw) > MAX_SOURCE_BYTES:
        raise InputError.at(
            path, 1, f"the file is {len(raw):,} bytes, over the {MAX_SOURCE_BYTES:,}-byte limit; split it into smaller leaflets"
        )
    return _split_front_matter(path, _decode(path, raw))


# source folder -> (its mtime, the names of its sources by slug): every page of a family of
# leaflets, and the build checking each for changes, lists the same folder, which in a national
# library holds thousands of sources.
_listings: dict[Path, tuple[int, dict[str, tuple[str, ...]]]] = {}


def sources_by_slug(folder: Path) -> dict[str, tuple[str, ...]]:
    """The names of the sources in ``folder`` (``<slug>.md``, ``<slug>.<lang>.md``) by slug, sorted;
    {} for a folder that cannot be listed. Listed again when the folder changes (its mtime), and
    not kept when it changed within SETTLE_NS, as a file added within the same tick of the file
    system's clock would leave it the same."""
    try:
        mtime = os.stat(folder).st_mtime_ns
        known = _listings.get(folder)
        if known is not None and known[0] == mtime:
            return known[1]
        names = sorted(os.listdir(folder))
    except OSError:  # the folder went away under the build
        return {}
    by_slug: dict[str, list[str]] = {}
    for name in names:
        if name.endswith(".md"):
            by_slug.setdefault(name.partition(".")[0], []).append(name)
    listing = {slug: tuple(names) for slug, names in by_slug.items()}
    if time.time_ns() - mtime >= SETTLE_NS:
        _listings[folder] = (mtime, listing)
    return listing


def _decode(path: Path, raw: bytes) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise InputError.at(
            path, line, f"byte 0x{raw[err.start]:02x} is not UTF-8; save the file as UTF-8"
        ) from None
    text = text.removeprefix("\ufeff").replace("\r\n", "\n")
    if bad := FORBIDDEN_CHARACTERS.search(text):
        line = text[: bad.start()].count("\n") + 1
        raise InputError.at(path, line, f"control character U+{ord(bad.group()):04X} is not allowed in a leaflet; delete it")
    return text


def _split_front_matter(path: Path, text: str) -> tuple[str, int, str, int]:
    """Return (front matter, its first line, body, the body's first line)."""
    lines = text.split("\n")
    if not lines or lines[0].strip() != "---":
        raise InputError.at(
            path, 1, "no front matter; start the file with a line '---', the title, resource number and review dates, then '---'"
        )
    for index, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            return "\n".join(lines[1:index]), 2, "\n".join(lines[index + 1 :]), index + 2
    raise InputError.at(path, 1, "the front matter is never closed; add a line '---' after its last key")


def _read_meta(path: Path, front: str, first_line: int, file_language: str | None) -> tuple[Meta, dict[str, int]]:
    try:
        node, data = _compose_and_load(front)
    except yaml.YAMLError as err:
        raise InputError.from_yaml(path, err, front, first_line, "front matter is not valid YAML; write one 'key: value' per line") from None
    if not isinstance(data, dict) or node is None:
        raise InputError.at(path, first_line, "the front matter must be 'key: value' lines (title, resource_number, last_reviewed, next_review)")

    key_lines: dict[str, int] = {}
    problems: list[Problem] = []
    for key_node, _ in node.value:
        line = first_line + key_node.start_mark.line
        if str(key_node.value) in key_lines:
            problems.append(Problem(path, line, f"'{key_node.value}' is given twice (also on line {key_lines[str(key_node.value)]}); keep one"))
        else:
            key_lines[str(key_node.value)] = line

    def problem(key: str | None, message: str) -> None:
        problems.append(Problem(path, key_lines.get(key, first_line) if key else first_line, message))

    for key in data:
        if key not in REQUIRED_KEYS + OPTIONAL_KEYS:
            problem(str(key), f"unknown key '{key}'; the keys are {', '.join(REQUIRED_KEYS + OPTIONAL_KEYS)}")
    for key in REQUIRED_KEYS:
        if data.get(key) in (None, ""):
            problem(None, f"missing '{key}'; add a line '{key}: …' to the front matter")

    def text_value(key: str) -> str | None:
        value = data.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            problem(key, f"'{key}' must be a line of text")
            return None
        return str(value).strip()

    def date_value(key: str) -> ReviewDate | None:
        value = data.get(key)
        if value in (None, ""):
            return None
        parsed = parse_review_date(value)
        if parsed is None:
            problem(key, f"'{key}: {value}' is not a date; {DATE_HELP}")
        return parsed

    def terms_value(key: str) -> tuple[str, ...]:
        value = data.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(t, (str, int, float)) and not isinstance(t, bool) for t in value):
            problem(key, f"'{key}' must be a list of terms, one '  - term' line each")
            return ()
        terms = tuple(dict.fromkeys(str(t).strip() for t in value))
        if "" in terms:
            problem(key, f"'{key}' has an empty term; delete the empty '-' line")
        return tuple(t for t in terms if t)

    title = text_value("title")
    subtitle = text_value("subtitle")
    department = text_value("department")
    resource_number = text_value("resource_number")
    last_reviewed = date_value("last_reviewed")
    next_review = date_value("next_review")
    do_not_translate = terms_value("do_not_translate")
    if last_reviewed and next_review and next_review.first_day <= last_reviewed.deadline:
        problem(
            "next_review",
            f"next_review ({next_review.display}) must be later than last_reviewed ({last_reviewed.display}); correct one of them",
        )

    language = text_value("language") or file_language or DEFAULT_LANGUAGE
    if not LANGUAGE_RE.fullmatch(language):
        problem("language", f"language '{language}' is not a BCP 47 tag; write e.g. en-GB, pl or pt-BR")
    elif file_language and language.lower() != file_language.lower():
        problem("language", f"language '{language}' does not match the file name's '.{file_language}.md'; make them the same")

    if problems:
        raise InputError(sorted(problems, key=lambda p: p.line))
    meta = Meta(
        title=title or "",
        resource_number=resource_number or "",
        last_reviewed=last_reviewed,  # type: ignore[arg-type]
        next_review=next_review,  # type: ignore[arg-type]
        language=language,
        subtitle=subtitle,
        department=department,
        do_not_translate=do_not_translate,
    )
    return meta, key_lines


def _compose_and_load(text: str) -> tuple[yaml.Node | None, Any]:
    """The YAML's node tree (for line numbers) and its data, parsing it once."""
    loader = _FrontMatterLoader(text)
    try:
        node = loader.get_single_node()
        return node, loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()


class _FrontMatterLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml's parser when PyYAML has it: 4x faster
    """Safe YAML that leaves dates as text, so an impossible date (2028-02-30) is our error, not a crash."""


_FrontMatterLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def parse_review_date(value: Any) -> ReviewDate | None:
    """Accept a YAML date, ``2025-06``, ``2025-06-30``, ``June 2025`` or ``30 June 2025``; None if none fits."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return ReviewDate(value.year, value.month, value.day)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if m := re.fullmatch(r"(\d{4})-(\d{1,2})(?:-(\d{1,2}))?", text):
        year, month, day = int(m[1]), int(m[2]), int(m[3]) if m[3] else None
    elif m := re.fullmatch(r"(?:(\d{1,2})\s+)?([A-Za-z]+)\.?\s+(\d{4})", text):
        month = _month_number(m[2])
        if month is None:
            return None
        year, day = int(m[3]), int(m[1]) if m[1] else None
    else:
        return None
    try:
        dt.date(year, month, day or 1)
    except ValueError:
        return None
    return ReviewDate(year, month, day)


def _month_number(name: str) -> int | None:
    name = name.lower()
    for number, month in enumerate(MONTH_NAMES, start=1):
        if name == month.lower() or (len(name) >= 3 and month.lower().startswith(name)):
            return number
    return None


def _image_size(path: Path) -> tuple[int, int] | None:
    """Width and height from the file's own header, or None unless it really is a PNG or JPEG."""
    from PIL import Image as PillowImage
    from PIL import UnidentifiedImageError

    try:
        with PillowImage.open(path) as image:  # reads the header only, never the pixels
            return image.size if image.format in ("PNG", "JPEG") else None
    except (UnidentifiedImageError, OSError):
        return None


class _BodyReader:
    """Turns the Markdown body into model blocks, collecting problems with their lines."""

    def __init__(self, path: Path, first_line: int):
        self.path = path
        self.first_line = first_line
        self.root = path.parent.resolve()
        self.problems: list[Problem] = []

    def read(self, body: str) -> tuple[Block, ...]:
        tree = SyntaxTreeNode(_MARKDOWN.parse(body))
        blocks = self._blocks(tree.children)
        if not blocks and not self.problems:
            self._problem(None, "the leaflet has no text after the front matter; write its content below the closing '---'")
        if self.problems:
            raise InputError(self.problems)
        return tuple(blocks)

    def _line(self, node: SyntaxTreeNode | None) -> int:
        """The file line of a node; inline nodes carry no line, so count the line breaks before them."""
        target, breaks = node, 0
        while node is not None and not node.map:
            node = node.parent
        if node is not None and target is not node and node.type == "inline":
            for descendant in node.walk(include_self=False):
                if descendant is target:
                    break
                breaks += descendant.type in ("softbreak", "hardbreak")
        return self.first_line + (node.map[0] if node is not None and node.map else 0) + breaks

    def _problem(self, node: SyntaxTreeNode | None, message: str) -> None:
        self.problems.append(Problem(self.path, self._line(node), message))

    def _blocks(self, nodes: list[SyntaxTreeNode]) -> list[Block]:
        blocks: list[Block] = []
        for node in nodes:
            block = self._block(node)
            if block is not None:
                blocks.append(block)
        return blocks

    def _block(self, node: SyntaxTreeNode) -> Block | None:
        line = self._line(node)
        if node.type == "heading":
            level = int(node.tag[1])
            if level not in (2, 3):
                fix = "the title comes from the front matter" if level == 1 else "use ### at most"
                self._problem(node, f"heading level {level} is not supported; use ## for a section and ### for a subsection ({fix})")
                return None
            return Heading(level, self._inlines(node.children[0]), line)
        if node.type == "paragraph":
            inline = node.children[0]
            images = [c for c in inline.children if c.type == "image"]
            if images:
                if len(inline.children) != 1:
                    self._problem(node, "an image must stand alone in its own paragraph; put a blank line before and after it")
                    return None
                return self._image(images[0], line)
            return Paragraph(self._inlines(inline), line)
        if node.type in ("bullet_list", "ordered_list"):
            items = tuple(ListItem(tuple(self._blocks(item.children))) for item in node.children)
            start = int(node.attrs.get("start", 1)) if node.type == "ordered_list" else 1
            return ListBlock(node.type == "ordered_list", items, start, line)
        if node.type == "blockquote":
            inner = self._blocks(node.children)
            if any(isinstance(b, (Heading, Callout)) for b in inner):
                self._problem(node, "a callout ('>') may hold paragraphs and lists only; move the heading out of it")
                return None
            return Callout(tuple(inner), line)
        if node.type == "table":
            return self._table(node, line)
        if node.type in ("html_block",):
            self._problem(node, "raw HTML is not allowed; write it in Markdown (## headings, lists, **bold**, > callouts)")
            return None
        names = {"fence": "a code block", "code_block": "an indented code block (4 spaces)", "hr": "a horizontal rule"}
        what = names.get(node.type, f"'{node.type}'")
        self._problem(node, f"{what} is not supported in a leaflet; remove it, or use a paragraph, list or '>' callout")
        return None

    def _table(self, node: SyntaxTreeNode, line: int) -> Table | None:
        rows: list[tuple[tuple[Inline, ...], ...]] = []
        header: tuple[tuple[Inline, ...], ...] = ()
        for part in node.children:  # thead, tbody
            for tr in part.children:
                cells = tuple(self._inlines(cell.children[0]) if cell.children else () for cell in tr.children)
                if part.type == "thead":
                    header = cells
                else:
                    rows.append(cells)
        return Table(header, tuple(rows), line)

    def _image(self, node: SyntaxTreeNode, line: int) -> Image | None:
        src = str(node.attrs.get("src", ""))
        alt = node.content.strip()
        if not alt:
            self._problem(node, f"image '{src}' has no alt text; describe it: ![what the picture shows]({src})")
            return None
        if re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*:", src) or src.startswith("/"):
            self._problem(node, f"image '{src}' must be a file beside the leaflet, given as a relative path such as images/diagram.png")
            return None
        target = (self.path.parent / src).resolve()
        if not target.is_relative_to(self.root):
            self._problem(node, f"image '{src}' is outside the source folder {self.root}; copy it into that folder")
            return None
        if not target.is_file():
            self._problem(node, f"image '{src}' does not exist; check the path (relative to {self.path.parent})")
            return None
        if target.stat().st_size > MAX_IMAGE_BYTES:
            self._problem(node, f"image '{src}' is over {MAX_IMAGE_BYTES // 1_000_000} MB; make it smaller")
            return None
        size = _image_size(target)
        if target.suffix.lower() not in IMAGE_SUFFIXES or size is None:
            self._problem(node, f"image '{src}' is not PNG or JPEG; save it as one of those (every output can embed them)")
            return None
        if size[0] * size[1] > MAX_IMAGE_PIXELS:
            self._problem(node, f"image '{src}' is {size[0]}×{size[1]} pixels, over {MAX_IMAGE_PIXELS // 1_000_000} megapixels; make it smaller")
            return None
        return Image(target, alt, line)

    def _inlines(self, inline: SyntaxTreeNode) -> tuple[Inline, ...]:
        spans: list[Inline] = []
        for node in inline.children:
            span = self._inline(node)
            if span is None:
                continue
            if isinstance(span, Text) and spans and isinstance(spans[-1], Text):
                spans[-1] = Text(spans[-1].text + span.text)
            else:
                spans.append(span)
        return tuple(spans)

    def _inline(self, node: SyntaxTreeNode) -> Inline | None:
        if node.type in ("text", "code_inline"):
            # Tabs and runs of spaces are layout, which translation tools and Word mishandle.
            text = re.sub(r"[ \t]+", " ", node.content)
            return Text(text) if text else None
        if node.type == "softbreak":
            return Text(" ")
        if node.type == "strong":
            return Bold(self._inlines(node))
        if node.type == "link":
            href = str(node.attrs.get("href", ""))
            if not href.startswith(LINK_SCHEMES):
                self._problem(node, f"link '{href}' cannot be followed from a printed leaflet; use a full https:// address, mailto: or tel:")
                return None
            return Link(href, self._inlines(node))
        if node.type == "em":
            self._problem(node, "italics are hard to read for people with low vision; use **bold** for emphasis")
        elif node.type == "hardbreak":
            self._problem(node, "a line break inside a paragraph confuses translation tools; start a new paragraph or use a list")
        elif node.type == "html_inline":
            self._problem(node, f"raw HTML '{node.content}' is not allowed; write it in Markdown")
        elif node.type == "image":
            self._problem(node, "an image must stand alone in its own paragraph; put a blank line before and after it")
        else:
            self._problem(node, f"'{node.type}' is not supported in a leaflet; remove it")
        return None
