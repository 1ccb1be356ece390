"""Import a translated Word file: check it is safe, match it to its source, and write the
translation as ``source/<slug>.<lang>.md`` with the source's structure and front matter.

A returned file is untrusted: its archive is checked (size, part count, compression
ratios, DTDs and entities) before python-docx parses it. It must carry the properties
leafpress wrote (resource number, source checksum) and keep every paragraph's style,
so each translated paragraph lands in the same place of the source's structure.
"""

from __future__ import annotations

import logging
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import InputError
from .files import write_text_atomically
from .languages.tags import BIDI_CONTROLS
from .library.build import find_sources
from .markdown import leaflet_markdown
from .model import Block, Bold, Callout, Image, Inline, Leaflet, Link, ListBlock, ListItem, Text, plain_text
from .reader import LANGUAGE_RE, leaflet_from_bytes, read_leaflet, slug_and_language
from .segments import Segment, normalise_spaces, protected_pattern, protected_texts, segments, split_protected, with_translation

log = logging.getLogger(__name__)

MAX_DOCX_BYTES = 50_000_000
MAX_PARTS = 1_000
MAX_PART_BYTES = 100_000_000
MAX_UNPACKED_BYTES = 200_000_000
MAX_COMPRESSION_RATIO = 100  # real Word parts stay well under this; zip bombs reach thousands
RATIO_CHECKED_FROM_BYTES = 1_000_000
XML_SUFFIXES = (".xml", ".rels")
_DTD_RE = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.IGNORECASE)

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CUSTOM_PROPERTIES_TYPE = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties"
SKIPPED_WHEN_EMPTY = {"normal", "figure"}  # paragraphs Word or a tool may add, holding no text


class TranslationError(Exception):
    """A returned Word file that cannot be imported; the message is one line saying why and what to do."""


@dataclass
class ImportResult:
    path: Path  # the translation source written
    source: Path  # the source it translates
    language: str
    replaced: bool  # an earlier import of this language was overwritten
    warnings: list[str] = field(default_factory=list)


def import_translation(docx_path: Path, sources: Path, language: str | None = None, accept_changed_source: bool = False) -> ImportResult:
    """Write the translation in ``docx_path`` beside its source (found under ``sources``)."""
    docx_path = Path(docx_path)
    check_archive(docx_path)
    document = _open(docx_path)
    properties = custom_properties(document)
    source = _find_source(docx_path, properties, sources)
    warnings: list[str] = []
    if properties.get("source_checksum") != f"sha256:{source.checksum}":
        changed = f"{source.source} has changed since {docx_path.name} was made from it (the checksums differ)"
        if not accept_changed_source:
            raise TranslationError(
                f"{docx_path}: {changed}; send the translators the new Word file (generate.py build {source.source} --formats docx) "
                "or, if the changes do not matter, import with --accept-changed-source and have the changed parts translated"
            )
        warnings.append(f"{docx_path}: warning: {changed}; the changed parts still need translating")
    language = _language(docx_path, document, source, language)
    found = list(_paragraphs(document))
    expected = segments(source)
    _check_structure(docx_path, source, expected, found)
    warnings.extend(_check_protected(docx_path, source, expected, found))

    target = source.source.parent / f"{source.slug}.{language}.md"
    pattern = protected_pattern(source.meta)
    texts = [_keep_protected_bold(got.inlines, want.inlines, pattern) for want, got in zip(expected, found, strict=True)]
    translated = with_translation(source, texts, language, target)
    comment = (f"Translated from {source.source.name} ({properties.get('source_checksum', '')}) by generate.py import-translation.\n"
               f"Change the source and have it translated again rather than editing this file.")
    text = leaflet_markdown(translated, comment)
    _check_reads_back(docx_path, translated, text)
    replaced = target.exists()
    write_text_atomically(target, text)
    return ImportResult(target, source.source, language, replaced, warnings)


# -- the archive -------------------------------------------------------------------------


def check_archive(path: Path) -> None:
    """Refuse oversized files, zip bombs, encrypted parts and XML with DTDs or entities."""
    try:
        size = path.stat().st_size
    except OSError as err:
        raise TranslationError(f"{path}: cannot read the file ({err.strerror})") from None
    if size > MAX_DOCX_BYTES:
        raise TranslationError(f"{path}: the file is {size:,} bytes, over the {MAX_DOCX_BYTES:,}-byte limit for a returned Word file; refused")
    if not zipfile.is_zipfile(path):
        raise TranslationError(f"{path}: is not a Word .docx file (it is not a ZIP archive); save it from Word as .docx")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            _check_members(path, members)
            for member in members:
                if member.filename.lower().endswith(XML_SUFFIXES):
                    _check_xml(path, member.filename, archive.read(member))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError) as err:
        raise TranslationError(f"{path}: the file is damaged ({err}); ask for it again") from None


def _check_members(path: Path, members: list[zipfile.ZipInfo]) -> None:
    if len(members) > MAX_PARTS:
        raise TranslationError(f"{path}: holds {len(members):,} parts, over the limit of {MAX_PARTS:,} for a Word file; refused as unsafe")
    names = Counter(member.filename for member in members)
    if duplicate := next((name for name, count in names.items() if count > 1), None):
        raise TranslationError(f"{path}: holds two parts named '{duplicate}'; refused as unsafe")
    if "word/document.xml" not in names:
        raise TranslationError(f"{path}: has no word/document.xml, so it is not a Word document; save it from Word as .docx")
    total = 0
    for member in members:
        if member.flag_bits & 0x1:
            raise TranslationError(f"{path}: part '{member.filename}' is encrypted; ask for the file without a password")
        if member.file_size > MAX_PART_BYTES:
            raise TranslationError(
                f"{path}: part '{member.filename}' would unpack to {member.file_size:,} bytes, "
                f"over the {MAX_PART_BYTES:,}-byte limit; refused as unsafe"
            )
        ratio = member.file_size / max(member.compress_size, 1)
        if member.file_size >= RATIO_CHECKED_FROM_BYTES and ratio > MAX_COMPRESSION_RATIO:
            raise TranslationError(
                f"{path}: part '{member.filename}' is compressed {ratio:,.0f} to 1, far more than any Word file "
                f"(at most {MAX_COMPRESSION_RATIO} to 1): a zip bomb, refused"
            )
        total += member.file_size
    if total > MAX_UNPACKED_BYTES:
        raise TranslationError(f"{path}: would unpack to {total:,} bytes, over the {MAX_UNPACKED_BYTES:,}-byte limit; refused as unsafe")


def _check_xml(path: Path, name: str, data: bytes) -> None:
    """Word never writes a DTD; one in a returned file can only be an entity trick (billion laughs, XXE)."""
    texts = [data]
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in data[:4]:
        texts.append(data.decode("utf-16", errors="ignore").encode("utf-8"))
    if any(_DTD_RE.search(text) for text in texts):
        raise TranslationError(f"{path}: part '{name}' declares a DTD or XML entities, which Word files never do; refused as unsafe")


def _open(path: Path):
    import docx
    from lxml import etree

    try:
        return docx.Document(str(path))
    except (ValueError, KeyError, zipfile.BadZipFile, etree.XMLSyntaxError) as err:
        raise TranslationError(f"{path}: is not a readable Word document ({err}); save it from Word as .docx") from None


def custom_properties(document) -> dict[str, str]:
    """The file's custom document properties (name -> text); empty when it has none."""
    from lxml import etree

    for rel in document.part.package.rels.values():
        if rel.reltype == CUSTOM_PROPERTIES_TYPE and not rel.is_external:
            parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
            root = etree.fromstring(rel.target_part.blob, parser)
            return {
                str(prop.get("name")): "".join(prop.itertext()).strip()
                for prop in root
                if isinstance(prop.tag, str) and prop.get("name")
            }
    return {}


# -- matching the source -----------------------------------------------------------------


def _find_source(path: Path, properties: dict[str, str], sources: Path) -> Leaflet:
    resource = properties.get("resource_number")
    if not resource:
        raise TranslationError(
            f"{path}: has no resource_number property, so it is not a Word file leafpress made; "
            "import the translation of the .docx from output/, with its file properties kept"
        )
    if not sources.is_dir():
        raise TranslationError(f"{path}: the source folder {sources} does not exist; give it with --sources DIR")
    candidates = [p for p in find_sources([sources]) if _is_primary(p)]
    named = [p for p in candidates if p.name == properties.get("source_file")]
    for candidate in named + [p for p in candidates if p not in named]:
        try:
            leaflet = read_leaflet(candidate)
        except InputError:
            if candidate in named:
                raise
            continue
        if leaflet.meta.resource_number == resource:
            return leaflet
    raise TranslationError(
        f"{path}: no source in {sources} has resource number {resource}, the Word file's; "
        "import it into the project it was made from, or give that source folder with --sources DIR"
    )


def _is_primary(path: Path) -> bool:
    try:
        return slug_and_language(path)[1] is None
    except InputError:
        return False


def _language(path: Path, document, source: Leaflet, wanted: str | None) -> str:
    """``--lang`` if given, else the language the translation tool set on the text or styles."""
    source_language = source.meta.language
    if wanted is None:
        wanted = _document_language(document, source_language)
        if wanted is None:
            raise TranslationError(
                f"{path}: cannot tell the translation's language (the file still says {source_language}); give it with --lang, e.g. --lang pl"
            )
    if not LANGUAGE_RE.fullmatch(wanted):
        raise TranslationError(f"{path}: language '{wanted}' is not a BCP 47 tag; write e.g. pl, cy or pt-BR")
    if wanted.lower() == source_language.lower():
        raise TranslationError(f"{path}: {wanted} is the source's own language; give the translation's language with --lang")
    return wanted


def _document_language(document, source_language: str) -> str | None:
    """The commonest language tag on the body's runs, else on the default style, unless it is the source's."""
    body = document.element.body
    counts = Counter(str(value) for value in body.xpath(".//w:r/w:rPr/w:lang/@w:val"))
    styles = document.styles.element
    defaults = styles.xpath("./w:docDefaults//w:lang/@w:val") + styles.xpath("./w:style[@w:default='1'][@w:type='paragraph']//w:lang/@w:val")
    for tag in [tag for tag, _ in counts.most_common()] + [str(v) for v in defaults]:
        if tag and tag.lower() != source_language.lower():
            return tag
    return None


# -- the paragraphs ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Found:
    """One paragraph of the returned file: its style, where it is, and its text as spans."""

    style: str
    cell: tuple[int, int, int] | None  # (table, row, column), counted from 0
    inlines: tuple[Inline, ...]
    hrefs: tuple[str, ...]

    @property
    def text(self) -> str:
        return plain_text(self.inlines)


def _paragraphs(document) -> Iterator[_Found]:
    """The body's paragraphs in order, table cells included, without the empty ones tools add."""
    style_names = {s.style_id: s.name for s in document.styles}
    rels = document.part.rels
    tables = 0
    for element in _block_elements(document.element.body):
        if element.tag == f"{{{W}}}p":
            found = _paragraph(element, style_names, rels, None)
            if found.text or found.hrefs or (found.style.lower() not in SKIPPED_WHEN_EMPTY and not element.xpath(".//w:drawing")):
                yield found
            continue
        for row_index, row in enumerate(element.xpath("./w:tr")):
            for column, cell in enumerate(row.xpath("./w:tc")):
                for p in _block_elements(cell):
                    if p.tag == f"{{{W}}}p":
                        yield _paragraph(p, style_names, rels, (tables, row_index, column))
        tables += 1


def _block_elements(parent) -> Iterator:
    """Paragraphs and tables, looking inside content controls (``w:sdt``) that tools may wrap them in."""
    for child in parent:
        if child.tag in (f"{{{W}}}p", f"{{{W}}}tbl"):
            yield child
        elif child.tag == f"{{{W}}}sdt":
            for content in child.iterchildren(f"{{{W}}}sdtContent"):
                yield from _block_elements(content)


def _paragraph(p, style_names: dict[str, str], rels, cell) -> _Found:
    style_ids = p.xpath("./w:pPr/w:pStyle/@w:val")
    style = style_names.get(str(style_ids[0]), str(style_ids[0])) if style_ids else "Normal"
    pieces: list[tuple[str, str]] = []  # (text, kind): kind is "text", "bold" or "link:<href>"
    hrefs: list[str] = []
    _collect(p, style_names, rels, pieces, hrefs, link=None)
    return _Found(style, cell, _spans(pieces), tuple(hrefs))


def _collect(element, style_names, rels, pieces: list[tuple[str, str]], hrefs: list[str], link: str | None) -> None:
    for child in element:
        tag = child.tag if isinstance(child.tag, str) else ""
        name = tag.rpartition("}")[2]
        if name == "r":
            text = _run_text(child)
            if not text:
                continue
            char_style = child.xpath("./w:rPr/w:rStyle/@w:val")
            bold = bool(char_style) and style_names.get(str(char_style[0]), "") == "Strong"
            pieces.append((text, link if link is not None else ("bold" if bold else "text")))
        elif name == "hyperlink":
            rel_id = child.get(f"{{{R}}}id")
            href = rels[rel_id].target_ref if rel_id in rels else None
            if href is None:
                _collect(child, style_names, rels, pieces, hrefs, link)
                continue
            hrefs.append(href)
            _collect(child, style_names, rels, pieces, hrefs, f"link{len(hrefs)}:{href}")
        elif name in ("ins", "moveTo", "smartTag", "customXml", "fldSimple", "sdt", "sdtContent"):
            _collect(child, style_names, rels, pieces, hrefs, link)  # tracked insertions count as accepted


# Direction marks and embeddings a translation tool adds to right-to-left text: the direction
# comes from the language tag, and the isolates leafpress needs it adds itself.
WITHOUT_BIDI_CONTROLS = dict.fromkeys(map(ord, BIDI_CONTROLS))


def _run_text(run) -> str:
    parts = []
    for child in run:
        name = child.tag.rpartition("}")[2] if isinstance(child.tag, str) else ""
        if name == "t":
            parts.append(child.text or "")
        elif name in ("tab", "br", "cr"):
            parts.append(" ")
        elif name == "noBreakHyphen":
            parts.append("-")
    return "".join(parts).translate(WITHOUT_BIDI_CONTROLS)


def _spans(pieces: list[tuple[str, str]]) -> tuple[Inline, ...]:
    """Runs as model spans: one space for any run of whitespace, none at the ends, no spaces just inside bold."""
    tidy: list[tuple[str, str]] = []
    for text, kind in pieces:
        text = normalise_spaces(text)
        if tidy and tidy[-1][0].endswith(" ") or not tidy:
            text = text.lstrip(" ")
        if kind == "bold" and text != text.strip(" "):
            stripped = text.strip(" ")
            before, after = text[: len(text) - len(text.lstrip(" "))], text[len(text.rstrip(" ")) :]
            tidy.extend((part, k) for part, k in ((before, "text"), (stripped, "bold"), (after, "text")) if part)
        elif text:
            tidy.append((text, kind))
    while tidy and not tidy[-1][0].strip(" "):
        tidy.pop()
    if tidy:
        tidy[-1] = (tidy[-1][0].rstrip(" "), tidy[-1][1])
    spans: list[Inline] = []
    previous = None
    for text, kind in tidy:
        if kind == previous and spans:
            last = spans[-1]
            if isinstance(last, Text):
                spans[-1] = Text(last.text + text)
            elif isinstance(last, Bold):
                spans[-1] = Bold((Text(plain_text(last.children) + text),))
            elif isinstance(last, Link):
                spans[-1] = Link(last.href, (Text(plain_text(last.children) + text),))
        elif kind == "text":
            spans.append(Text(text))
        elif kind == "bold":
            spans.append(Bold((Text(text),)))
        else:
            spans.append(Link(kind.partition(":")[2], (Text(text),)))
        previous = kind
    return tuple(spans)


# -- checks against the source -----------------------------------------------------------


def _check_structure(path: Path, source: Leaflet, expected: list[Segment], found: list[_Found]) -> None:
    """Every source segment must come back, in order, with its style, in its table cell, with its links."""
    tables: dict[int, int] = {}
    rule = "the structure no longer matches the source: keep every paragraph with its style and translate only the text"
    for number, (want, got) in enumerate(zip(expected, found, strict=False), start=1):
        where = f"{source.source}:{want.line}" if want.line else f"{source.source}"
        cell = None
        if want.cell is not None:
            table = tables.setdefault(id(want.owner), len(tables))
            cell = (table, *want.cell)
        if _style_key(got.style) != _style_key(want.style) or got.cell != cell:
            raise TranslationError(
                f"{path}: paragraph {number} ({_quote(got.text)}) is {_place(got.style, got.cell)} "
                f"where the source has {_place(want.style, cell)} ({where}: {_quote(want.text)}); {rule}"
            )
        if not got.text and want.text:
            raise TranslationError(
                f"{path}: paragraph {number} ({got.style}) is empty where the source has {_quote(want.text)} ({where}); translate it"
            )
        wanted_links = sorted(_hrefs(want.inlines))
        if sorted(got.hrefs) != wanted_links:
            raise TranslationError(
                f"{path}: paragraph {number} ({_quote(got.text)}) links to {', '.join(sorted(got.hrefs)) or 'nothing'} "
                f"where the source links to {', '.join(wanted_links) or 'nothing'} ({where}); keep the source's links, with their addresses"
            )
    if len(found) < len(expected):
        want = expected[len(found)]
        raise TranslationError(
            f"{path}: ends after paragraph {len(found)}; the source goes on with {_quote(want.text)} ({want.style}, "
            f"{source.source}:{want.line}); the structure no longer matches the source: translate every paragraph"
        )
    if len(found) > len(expected):
        extra = found[len(expected)]
        raise TranslationError(
            f"{path}: paragraph {len(expected) + 1} ({_quote(extra.text)}, {extra.style}) is not in the source, which ends "
            f"at paragraph {len(expected)}; {rule}"
        )


def _check_protected(path: Path, source: Leaflet, expected: list[Segment], found: list[_Found]) -> list[str]:
    """Phone numbers, addresses and the resource number must come back unchanged; a listed term
    missing is only a warning, since a language may inflect it."""
    pattern = protected_pattern(source.meta)
    warnings = []
    for number, (want, got) in enumerate(zip(expected, found, strict=True), start=1):
        for piece in protected_texts(want.inlines, pattern):
            if re.search(rf"(?<!\w){re.escape(piece)}(?!\w)", got.text):
                continue
            if piece in source.meta.do_not_translate:
                warnings.append(f"{path}: warning: paragraph {number} ({_quote(got.text)}) no longer contains '{piece}', a do_not_translate term")
                continue
            raise TranslationError(
                f"{path}: paragraph {number} ({_quote(got.text)}) no longer contains '{piece}' "
                f"({source.source}:{want.line}), which must not be translated; put it back exactly as in the source"
            )
    return warnings


def _keep_protected_bold(inlines: tuple[Inline, ...], source: tuple[Inline, ...], pattern: re.Pattern[str]) -> tuple[Inline, ...]:
    """Protected text (a phone number, say) keeps the bold it had in the source: in the Word
    file it carries the do-not-translate style instead of Strong, so the bold is not there."""
    bold = {piece for span in source if isinstance(span, Bold) for piece in protected_texts(span.children, pattern)}
    if not bold:
        return inlines
    spans: list[Inline] = []
    for span in inlines:
        pieces = split_protected(span.text, pattern) if isinstance(span, Text) else [(span, False)]
        for piece, protected in pieces:
            if isinstance(piece, str):
                piece = Bold((Text(piece),)) if protected and piece in bold else Text(piece)
            spans.append(piece)
    return _merge_bold(spans)


def _merge_bold(spans: list[Inline]) -> tuple[Inline, ...]:
    """Join bold spans that only a space separates, and neighbouring texts."""
    merged: list[Inline] = []
    for span in spans:
        space_after_bold = len(merged) >= 2 and isinstance(merged[-2], Bold) and isinstance(merged[-1], Text) and not merged[-1].text.strip()
        if isinstance(span, Bold) and space_after_bold:
            gap = merged.pop().text
            merged[-1] = Bold((Text(plain_text(merged[-1].children) + gap + plain_text(span.children)),))
        elif isinstance(span, Bold) and merged and isinstance(merged[-1], Bold):
            merged[-1] = Bold((Text(plain_text(merged[-1].children) + plain_text(span.children)),))
        elif isinstance(span, Text) and merged and isinstance(merged[-1], Text):
            merged[-1] = Text(merged[-1].text + span.text)
        else:
            merged.append(span)
    return tuple(merged)


def _check_reads_back(path: Path, translated: Leaflet, text: str) -> None:
    """The written source must read back as exactly the translated leaflet."""
    try:
        again = leaflet_from_bytes(translated.source, text.encode("utf-8"))
    except InputError as err:
        raise TranslationError(f"{path}: the translation does not make a valid source: {err.problems[0]}") from None
    if again.meta != translated.meta or _without_lines(again.blocks) != _without_lines(translated.blocks):
        mismatch = next(
            (a for a, b in zip(translated.blocks, again.blocks, strict=False) if _without_lines((a,)) != _without_lines((b,))),
            None,
        )
        near = f" near {_quote(_block_text(mismatch))}" if mismatch is not None else ""
        raise TranslationError(
            f"{path}: the translation cannot be written as Markdown that reads back the same{near}; "
            "where bold text there begins or ends with a punctuation mark, put a space outside it, or report it"
        )


def _without_lines(blocks: tuple[Block, ...]) -> tuple[Block, ...]:
    stripped: list[Block] = []
    for block in blocks:
        if isinstance(block, ListBlock):
            block = replace(block, items=tuple(ListItem(_without_lines(item.blocks)) for item in block.items))
        elif isinstance(block, Callout):
            block = replace(block, blocks=_without_lines(block.blocks))
        stripped.append(replace(block, line=0))
    return tuple(stripped)


def _block_text(block: Block) -> str:
    if isinstance(block, Image):
        return block.alt
    inlines = getattr(block, "inlines", None)
    if inlines is not None:
        return plain_text(inlines)
    if isinstance(block, ListBlock):
        return " ".join(_block_text(b) for item in block.items for b in item.blocks)
    if isinstance(block, Callout):
        return " ".join(_block_text(b) for b in block.blocks)
    return type(block).__name__.lower()


def _hrefs(inlines: tuple[Inline, ...]) -> list[str]:
    found = []
    for span in inlines:
        if isinstance(span, Link):
            found.append(span.href)
        elif isinstance(span, Bold):
            found.extend(_hrefs(span.children))
    return found


def _style_key(name: str) -> str:
    return re.sub(r"\s+", "", name).lower()


def _place(style: str, cell: tuple[int, int, int] | None) -> str:
    if cell is None:
        return f"styled '{style}'"
    table, row, column = cell
    return f"styled '{style}' in table {table + 1}, row {row + 1}, column {column + 1}"


def _quote(text: str, limit: int = 40) -> str:
    return f'"{text[:limit].rstrip()}…"' if len(text) > limit else f'"{text}"'

