"""output/index.html: valid, accessible HTML listing every leaflet and language, whose links all resolve."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import unquote

import html5lib
import pytest

from leafpress.library.index import index_html
from leafpress.settings import load_settings

from .conftest import run_cli, write_leaflet

NS = {"h": "http://www.w3.org/1999/xhtml"}


def front(title: str, next_review: str, language: str = "") -> str:
    return (f"title: '{title}'\nresource_number: 55/VER1\nlast_reviewed: 2023-01\nnext_review: {next_review}\n"
            + (f"language: {language}\n" if language else ""))


def parse(path: Path):
    """Parse strictly: any HTML parse error fails the test."""
    return html5lib.HTMLParser(strict=True, namespaceHTMLElements=True).parse(path.read_text(encoding="utf-8"))


def text(element) -> str:
    return " ".join("".join(element.itertext()).split())


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("index")
    src, out = root / "src", root / "out"
    write_leaflet(src, "hip.md", front=front("Hip <replacement> & you", "2026-02"))
    write_leaflet(src, "hip.pl.md", front=front("Wymiana stawu biodrowego", "2026-02", "pl"))
    write_leaflet(src, "knee.md", front=front("Knee", "2026-04"))
    write_leaflet(src, "wrist.md", front=front("Wrist", "2030-01"))
    result = run_cli("build", src, "--out", out, "--formats", "docx", "--today", "2026-03-01")
    assert result.returncode == 0, result.stderr
    return {"out": out, "src": src, "tree": parse(out / "index.html")}


def test_page_has_language_title_and_headings(site):
    tree = site["tree"]
    assert tree.get("lang") == "en-GB"
    assert text(tree.find("h:head/h:title", NS)) == "Patient information leaflets: Example Community Health Trust"
    assert [text(h) for h in tree.iterfind(".//h:h1", NS)] == ["Patient information leaflets"]
    assert [text(h) for h in tree.iterfind(".//h:h2", NS)] == ["All leaflets"]


def test_table_has_headers_with_scope_and_a_row_per_language_version(site):
    table = site["tree"].find(".//h:table", NS)
    assert text(table.find("h:caption", NS)).startswith("Every leaflet and language version")
    headers = table.findall("h:thead/h:tr/h:th", NS)
    assert [th.get("scope") for th in headers] == ["col"] * 7
    assert [text(th) for th in headers] == ["Leaflet", "Language", "Resource number", "Last reviewed", "Next review", "Review status", "Files"]
    rows = table.findall("h:tbody/h:tr", NS)
    row_headers = [row.find("h:th", NS) for row in rows]
    assert [th.get("scope") for th in row_headers] == ["row"] * 4
    assert [(text(th), th.get("lang")) for th in row_headers] == [
        ("Hip <replacement> & you", "en-GB"), ("Wymiana stawu biodrowego", "pl"), ("Knee", "en-GB"), ("Wrist", "en-GB"),
    ]
    # the two language versions of one leaflet share a row group
    assert [len(body.findall("h:tr", NS)) for body in table.findall("h:tbody", NS)] == [2, 1, 1]


def test_review_status_is_written_not_only_coloured(site):
    rows = site["tree"].findall(".//h:table/h:tbody/h:tr", NS)
    assert [text(row.findall("h:td", NS)[4]) for row in rows] == ["Overdue", "Overdue", "Due soon", "Up to date"]
    assert "2 overdue; 1 due soon; 1 up to date." in text(site["tree"].find(".//h:main", NS))


def test_every_link_resolves_to_a_built_file(site):
    links = [a.get("href") for a in site["tree"].iterfind(".//h:a", NS)]
    assert links == [
        f"{slug}/{stem}{suffix}"
        for slug, stem in [("hip", "hip"), ("hip", "hip.pl"), ("knee", "knee"), ("wrist", "wrist")]
        for suffix in (".docx", ".translation-brief.txt", ".xlf")
    ]
    for href in links:
        assert (site["out"] / unquote(href)).is_file(), href


def test_link_text_names_the_leaflet_for_screen_readers(site):
    first = site["tree"].find(".//h:a", NS)
    assert text(first) == "Word file (for translators): Hip <replacement> & you (en-GB)"


def test_text_from_sources_is_escaped(site):
    html = (site["out"] / "index.html").read_text(encoding="utf-8")
    assert "Hip &lt;replacement&gt; &amp; you" in html
    assert "<replacement>" not in html


def test_missing_files_are_not_linked(tmp_path):
    out = tmp_path / "out"
    (out / "a").mkdir(parents=True)
    (out / "a" / "a.docx").write_bytes(b"x" * 2048)
    entry = {"slug": "a", "source": "../a.md", "title": "A", "language": "en-GB", "resource_number": "1",
             "last_reviewed": "2024-01", "next_review": "2027-01", "review_status": "ok",
             "outputs": {"print": "a/a.print.pdf", "docx": "a/a.docx", "audio": "../../etc/passwd", "audio_script": None}}
    (out / "index.html").write_text(index_html([entry], out, load_settings(), dt.date(2026, 1, 1)), encoding="utf-8")
    tree = parse(out / "index.html")
    assert [a.get("href") for a in tree.iterfind(".//h:a", NS)] == ["a/a.docx"]
    assert "(2 KB)" in text(tree.find(".//h:ul", NS))


def test_empty_library_page_is_valid(tmp_path):
    (tmp_path / "index.html").write_text(index_html([], tmp_path, load_settings(), dt.date(2026, 1, 1)), encoding="utf-8")
    assert "No leaflets have been built yet." in text(parse(tmp_path / "index.html").find(".//h:main", NS))


def test_index_follows_deleted_sources(site, tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    write_leaflet(src, "one.md", front=front("One", "2030-01"))
    gone = write_leaflet(src, "two.md", front=front("Two", "2030-01"))
    assert run_cli("build", src, "--out", out, "--formats", "docx", "--today", "2026-03-01").returncode == 0
    gone.unlink()
    assert run_cli("build", src, "--out", out, "--formats", "docx", "--today", "2026-03-01").returncode == 0
    assert [a.get("href") for a in parse(out / "index.html").iterfind(".//h:a", NS)] == [
        "one/one.docx", "one/one.translation-brief.txt", "one/one.xlf"
    ]
