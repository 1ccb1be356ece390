"""The library's index page (output/index.html): every leaflet, its language versions, files and review status.

Made from the manifest on every build through the autoescaped template layouts/index.html.j2,
so staff can find and print the right handout. Only files that exist are linked.
"""

from __future__ import annotations

import datetime as dt
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from ..languages.tags import language_info
from ..model import ReviewDate, review_status
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
    from ..templates import environment

    layouts = template_path(settings).parent
    leaflets = index_rows(entries, out_dir, today)
    versions = [v for group in leaflets for v in group["versions"]]
    counts = {status: sum(v["status"] == status for v in versions) for status in STATUS_LABELS}
    return environment(layouts).get_template(TEMPLATE).render(
        organisation=settings.organisation,
        leaflets=leaflets,
        versions=len(versions),
        counts=counts,
        status_labels=STATUS_LABELS,
        today=today,
        today_text=f"{today.day} {today:%B %Y}",
        stamp=stamp,
    )
