"""The library's index page (output/index.html): every leaflet, its language versions, files and review status.

Made from the manifest on every build through the autoescaped template layouts/index.html.j2,
so staff can find and print the right handout. Only files that exist are linked. When leafpress's
own template made the page on disk, the rows of leaflets the build left as they were are copied
from it: a library of thousands is not laid out again for one edited leaflet.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
from collections.abc import Collection, Sequence
from pathlib import Path
from urllib.parse import quote

from ..languages.tags import language_info
from ..model import ReviewDate, judged, review_status
from ..settings import LAYOUTS_DIR, Settings

INDEX_NAME = "index.html"
STAMP_WITHIN = 2048  # characters at the top of the page where its stamp is
TEMPLATE = "index.html.j2"
FILE_LABELS = {
    "print": "Print PDF",
    "large_print": "Large-print PDF",
    "docx": "Word file (for translators)",
    "audio": "Audio (MP3)",
    "audio_script": "Audio script",
    "translation_brief": "Translation brief",
    "xliff": "XLIFF (for translation tools)",
    "braille": "Braille (BRF, for an embosser)",
    "html": "Web page",
}
STATUS_LABELS = {"overdue": "Overdue", "due-soon": "Due soon", "ok": "Up to date"}
ROWS_START, ROWS_END = b'<tbody id="', b"</tbody>"  # around each leaflet's rows in leafpress's template
ROWS_OPENING = re.compile(rb'<tbody id="([^"]*)">')
COPYABLE_SLUG = re.compile(r"[a-z0-9-]+")  # written as it is in the page's HTML
SPLICED_AT_MOST = 32  # leaflets laid out again: beyond, the page is put together row by row (each found once)


def _size(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 1_000_000 else f"{max(1, round(n / 1000))} KB"


def index_rows(entries: Sequence[dict], out_dir: Path, today: dt.date) -> list[dict]:
    """One group per leaflet (slug), holding its language versions, the original first."""
    groups: dict[str, dict] = {}
    for entry in entries:
        try:
            next_review = ReviewDate.from_iso(entry["next_review"])
            last_reviewed = ReviewDate.from_iso(entry["last_reviewed"])
        except (KeyError, ValueError):
            continue  # not an entry this version wrote
        files = []
        for key, relative in (entry.get("outputs") or {}).items():
            size = _file_size(out_dir, relative)
            if size is not None:
                files.append({"key": key, "label": FILE_LABELS.get(key, key), "href": quote(Path(relative).as_posix()), "size": _size(size)})
        status = review_status(next_review, today)
        version = {
            "title": entry.get("title", ""),
            "page": next((file["href"] for file in files if file["key"] == "html"), None),  # the title links the web page
            "language": entry.get("language", ""),
            "direction": language_info(entry.get("language") or "und").direction,
            "resource_number": entry.get("resource_number", ""),
            "last_reviewed": last_reviewed.display,
            "next_review": next_review.display,
            "status": status,
            "status_label": STATUS_LABELS[status],
            "files": files,
        }
        groups.setdefault(entry.get("slug", ""), {"slug": entry.get("slug", ""), "versions": []})["versions"].append(version)
    return [groups[slug] for slug in sorted(groups)]


def _file_size(out_dir: Path, relative: str | None) -> int | None:
    """The size of a file the manifest lists inside out_dir; None if it is not a file there (or
    the path would lead out of out_dir)."""
    if not relative or os.path.isabs(relative) or os.path.normpath(relative).startswith(".."):
        return None
    try:
        status = os.stat(os.path.join(out_dir, relative))
    except OSError:
        return None
    return status.st_size if stat.S_ISREG(status.st_mode) else None


def template_path(settings: Settings) -> Path:
    """The page's template: the settings' layouts folder's, else leafpress's own."""
    own = settings.layouts_dir / TEMPLATE
    return own if own.is_file() else LAYOUTS_DIR / TEMPLATE


def own_template(settings: Settings) -> bool:
    """Whether the page is laid out by leafpress's own template (its rows can be copied: see index_html)."""
    own = LAYOUTS_DIR / TEMPLATE
    path = template_path(settings)
    try:
        return path == own or path.read_bytes() == own.read_bytes()
    except OSError:
        return False


def index_is_current(index: Path, stamp: str) -> bool:
    """Whether the index page on disk was made with ``stamp`` (its day and what shapes it)."""
    try:
        with index.open(encoding="utf-8") as file:
            head = file.read(STAMP_WITHIN)
    except (OSError, UnicodeDecodeError):
        return False
    return f'<meta name="leafpress-index" content="{stamp}">' in head


def index_html(entries: Sequence[dict], out_dir: Path, settings: Settings, today: dt.date, stamp: str = "") -> str:
    """The page; ``stamp`` is written in its head for index_is_current."""
    leaflets = index_rows(entries, out_dir, today)
    return _render(leaflets, [version["status"] for group in leaflets for version in group["versions"]], settings, today, stamp)


class PageOnDisk:
    """The page as the last build wrote it, and the leaflets (slugs) whose rows it holds, in order."""

    def __init__(self, index: Path):
        try:
            self.data = index.read_bytes()
        except OSError:
            self.data = b""
        self.slugs = ROWS_OPENING.findall(self.data)


def index_page(entries: Sequence[dict], out_dir: Path, settings: Settings, today: dt.date, stamp: str, kept: Collection[str],
               previous: PageOnDisk | None) -> list[bytes | memoryview]:
    """index_html as UTF-8, in pieces, with the rows of the leaflets (slugs) in ``kept`` copied
    from the ``previous`` page: the caller vouches that leafpress's own template made it with the
    same stamp from the same entries and files."""
    on_page = previous.slugs if previous else []
    copied = {slug for slug in kept if COPYABLE_SLUG.fullmatch(slug)} & {slug.decode("utf-8", "replace") for slug in on_page}
    if previous and copied:
        laid_out = index_rows([entry for entry in entries if entry.get("slug", "") not in copied], out_dir, today)
        statuses = [status for status in (_status(entry, today) for entry in entries if entry.get("slug", "") in copied) if status]
        statuses += [version["status"] for group in laid_out for version in group["versions"]]
        groups = {group["slug"]: group for group in laid_out}
        order = sorted(groups.keys() | copied)
        page = _render([groups.get(slug) or _Copied(slug) for slug in order], statuses, settings, today, stamp).encode("utf-8")
        if on_page == [slug.encode() for slug in order] and len(groups) <= SPLICED_AT_MOST:
            return _splice(page, previous.data, sorted(groups))
        if (filled := _fill(page, previous.data, copied)) is not None:
            return [filled]
    return [index_html(entries, out_dir, settings, today, stamp).encode("utf-8")]


def _splice(page: bytes, previous: bytes, laid_out: Sequence[str]) -> list[bytes | memoryview]:
    """The ``previous`` page's rows, the same leaflets in the same order, with those of the leaflets
    ``laid_out`` in ``page`` instead, between ``page``'s head and foot: the rest of ``page``'s rows
    are empty. In pieces, the previous page's not copied."""
    kept = memoryview(previous)
    pieces: list[bytes | memoryview] = [page[:page.find(ROWS_START)]]
    position = previous.find(ROWS_START)
    for slug in laid_out:
        opening = b'%b%b">' % (ROWS_START, slug.encode())
        start = page.find(opening)
        old_start = previous.find(opening, position)
        pieces += [kept[position:old_start], page[start:page.find(ROWS_END, start) + len(ROWS_END)]]
        position = previous.find(ROWS_END, old_start) + len(ROWS_END)
    pieces += [kept[position:previous.rfind(ROWS_END) + len(ROWS_END)], page[page.rfind(ROWS_END) + len(ROWS_END):]]
    return pieces


def _render(leaflets: Sequence, statuses: Sequence[str], settings: Settings, today: dt.date, stamp: str) -> str:
    from ..templates import environment

    return environment(template_path(settings).parent).get_template(TEMPLATE).render(
        organisation=settings.organisation,
        leaflets=leaflets,
        versions=len(statuses),
        counts={status: statuses.count(status) for status in STATUS_LABELS},
        status_labels=STATUS_LABELS,
        today=today,
        today_text=f"{today.day} {today:%B %Y}",
        stamp=stamp,
    )


class _Copied:
    """A leaflet whose rows are copied: laid out with none, for _fill to put them in."""

    __slots__ = ("slug",)
    versions = ()

    def __init__(self, slug: str):
        self.slug = slug


def _status(entry: dict, today: dt.date) -> str | None:
    """An entry's review status as index_rows judges it; None for an entry it leaves out."""
    try:
        judged(entry["last_reviewed"], today)
        return judged(entry["next_review"], today)[1]
    except (KeyError, TypeError, ValueError):
        return None


def _fill(page: bytes, previous: bytes, copied: set[str]) -> bytes | None:
    """``page``, laid out with no rows for the ``copied`` leaflets, with their rows from ``previous``;
    None if either page is not laid out as expected."""
    blocks: dict[str, tuple[int, int]] = {}  # slug -> from just after its ROWS_START to the end of its ROWS_END in previous
    for match in ROWS_OPENING.finditer(previous):
        slug = match[1].decode("utf-8", "replace")
        end = previous.find(ROWS_END, match.end())
        if end < 0 or slug in blocks:
            return None
        blocks[slug] = (match.start() + len(ROWS_START), end + len(ROWS_END))
    parts = page.split(ROWS_START)
    filled = 0
    for number, part in enumerate(parts[1:], start=1):
        slug = part[:part.find(b'"')].decode("utf-8", "replace")
        if slug in copied:
            empty = b'%b">\n%b' % (slug.encode(), ROWS_END)
            if not part.startswith(empty):
                return None
            start, end = blocks[slug]
            parts[number] = previous[start:end] + part[len(empty):]
            filled += 1
    return ROWS_START.join(parts) if filled == len(copied) else None
