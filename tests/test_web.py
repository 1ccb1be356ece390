"""The web page of every leaflet and language, read back from the built files: structure, language
and direction, the stamp, links that resolve, nothing from the network, the audio's chapters, the
links between languages; the PDFs' QR code of it, decoded; and bad settings."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlsplit

import html5lib
import pytest
from mutagen.id3 import ID3

from leafpress.languages.catalogue import catalogue_for
from leafpress.languages.tags import BIDI_CONTROLS
from leafpress.model import Heading, Link
from leafpress.reader import read_leaflet
from leafpress.renderers import web_page
from leafpress.renderers.web_page import Assets
from leafpress.segments import segments
from leafpress.settings import LAYOUTS_DIR

from .checkers import axe_violations, horizontal_overflow, summary, wide_elements, zoom_overflow
from .conftest import EXAMPLE, FIXTURES, output_file, run_cli, stamp

pytest_plugins = ["tests.checkers"]  # the fixture `browser`: one headless Chromium for the session

NS = {"h": "http://www.w3.org/1999/xhtml"}
KNEE = {"": "en-GB", ".ar": "ar", ".bn": "bn", ".pl": "pl", ".ur": "ur", ".zh-Hans": "zh-Hans"}
SOURCES = {"poem-achalasia": EXAMPLE, **{f"knee-replacement{suffix}": FIXTURES / f"knee-replacement{suffix}.md" for suffix in KNEE}}
RIGHT_TO_LEFT = {"knee-replacement.ar", "knee-replacement.ur"}
BASE_URL = "https://leaflets.example.org/patient-info"
UNDRAWN = dict.fromkeys(map(ord, BIDI_CONTROLS))


def parse(path: Path):
    """Parse strictly: any HTML parse error fails the test."""
    return html5lib.HTMLParser(strict=True, namespaceHTMLElements=True).parse(path.read_text(encoding="utf-8"))


def text(element) -> str:
    return " ".join("".join(element.itertext()).translate(UNDRAWN).split())


def page(built: dict, stem: str) -> Path:
    return output_file(built, stem, "html")


def meta(tree, name: str) -> str:
    return next(m.get("content") for m in tree.iterfind(".//h:meta", NS) if m.get("name") == name)


def in_main(tree, tag: str) -> list:
    """The leaflet's own headings: those in main, outside its navigation and player."""
    main = tree.find(".//h:main", NS)
    inside_extras = {id(e) for box in main.iterfind(".//h:nav", NS) for e in box.iter()}
    inside_extras |= {id(e) for box in main.iterfind(".//h:section", NS) for e in box.iter()}
    return [e for e in main.iter(f"{{{NS['h']}}}{tag}") if id(e) not in inside_extras]


@pytest.mark.slow
@pytest.mark.parametrize("stem", SOURCES)
def test_page_parses_with_its_language_direction_title_and_headings(built, stem):
    tree = parse(page(built, stem))
    leaflet = read_leaflet(SOURCES[stem])
    assert tree.get("lang") == leaflet.meta.language
    assert tree.get("dir") == ("rtl" if stem in RIGHT_TO_LEFT else "ltr")
    assert [text(h) for h in tree.iterfind(".//h:h1", NS)] == [leaflet.meta.title.translate(UNDRAWN)]
    assert tree.find(".//h:main/h:h1", NS) is not None
    for level in (2, 3):
        wanted = [" ".join(b.text.split()) for b in leaflet.blocks if isinstance(b, Heading) and b.level == level]
        assert [text(h) for h in in_main(tree, f"h{level}")] == wanted
    levels = [int(e.tag[-1]) for e in tree.iter() if re.fullmatch(r"\{.*\}h[1-6]", str(e.tag))]
    assert levels[0] == 1 and all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False))  # no level skipped


@pytest.mark.slow
@pytest.mark.parametrize("stem", SOURCES)
def test_stamp_is_on_the_page_and_in_its_metadata(built, stem):
    tree = parse(page(built, stem))
    leaflet = read_leaflet(SOURCES[stem])
    shown = stamp(leaflet)
    assert text(tree.find(".//h:footer/h:p[@class='stamp']", NS)) == " ".join(shown.split())
    assert meta(tree, "description").endswith(shown)
    assert meta(tree, "dcterms.identifier") == leaflet.meta.resource_number
    assert meta(tree, "dcterms.modified") == leaflet.meta.last_reviewed.iso
    assert meta(tree, "dcterms.valid") == f"start={leaflet.meta.last_reviewed.iso}; end={leaflet.meta.next_review.iso}; scheme=W3C-DTF"


@pytest.mark.slow
@pytest.mark.parametrize("stem", SOURCES)
def test_landmarks_skip_link_and_accessible_structure(built, stem):
    tree = parse(page(built, stem))
    body = tree.find("h:body", NS)
    skip = body[0]
    assert (skip.tag, skip.get("href"), skip.get("class")) == (f"{{{NS['h']}}}a", "#main", "skip-link")
    assert [m.get("id") for m in tree.iterfind(".//h:main", NS)] == ["main"]
    for landmark in ("header", "nav", "footer"):
        assert tree.find(f".//h:{landmark}", NS) is not None, landmark
    navigations = [nav.get("aria-labelledby") for nav in tree.iterfind(".//h:nav", NS)]
    assert len(set(navigations)) == len(navigations)  # each navigation named, and differently
    assert all(img.get("alt") for img in tree.iterfind(".//h:img", NS))
    assert all(th.get("scope") == "col" for th in tree.iterfind(".//h:th", NS))
    assert tree.find(".//h:script", NS) is None
    assert not [name for e in tree.iter() for name in e.attrib if str(name).startswith("on")]  # no script at all
    links = [a for a in tree.iterfind(".//h:nav[@class='formats']//h:a", NS)]
    assert links and all(text(a).endswith(f": {text(tree.find('.//h:h1', NS))}") for a in links)  # each link says whose file


def local_references(tree) -> list[str]:
    """Every address the page names (links, pictures, audio, fonts in its style)."""
    found = [e.get(attribute) for e in tree.iter() for attribute in ("href", "src") if e.get(attribute)]
    style = "".join(text(s) for s in tree.iterfind(".//h:style", NS))
    return found + re.findall(r'url\("([^"]+)"\)', style)


@pytest.mark.slow
@pytest.mark.parametrize("stem", SOURCES)
def test_every_local_link_resolves_to_a_file_the_build_wrote(built, stem):
    out = built["out"]
    path = page(built, stem)
    written = {(out / relative).resolve() for entry in built["manifest"]["leaflets"] for relative in entry["outputs"].values() if relative}
    source_links = {span.href for span in _spans(read_leaflet(SOURCES[stem]))}
    for reference in local_references(parse(path)):
        parts = urlsplit(reference)
        if parts.scheme == "data" or reference.startswith("#"):
            continue
        if parts.scheme:
            assert reference in source_links, f"{reference}: only the leaflet's own links may leave the page"
            continue
        target = (path.parent / unquote(parts.path)).resolve()
        assert target.is_file(), reference
        assert target in written or target.is_relative_to((out / "_assets").resolve()), reference


def _spans(leaflet):
    """Every link the leaflet's own text holds."""
    def inner(spans):
        for span in spans:
            yield span
            yield from inner(getattr(span, "children", ()))

    return [span for segment in segments(leaflet) for span in inner(segment.inlines) if isinstance(span, Link)]


@pytest.mark.slow
@pytest.mark.parametrize("stem", SOURCES)
def test_nothing_is_loaded_from_the_network(built, stem):
    tree = parse(page(built, stem))
    loaded = [e.get("src") for e in tree.iter() if e.get("src")] + [e.get("href") for e in tree.iterfind(".//h:link", NS)]
    style = "".join(text(s) for s in tree.iterfind(".//h:style", NS))
    loaded += re.findall(r"url\(([^)]*)\)", style) + re.findall(r"@import[^;]*", style)
    assert not [address for address in loaded if re.search(r"(?i)\b(https?:)?//", address)]


@pytest.mark.slow
def test_fonts_are_copied_once_beside_the_pages_and_cjk_faces_are_asked_for_by_name(built):
    out = built["out"]
    fonts = sorted((out / "_assets" / "fonts").rglob("*.*"))
    assert fonts and all(path.suffix == ".ttf" for path in fonts)  # never a 20 MB collection
    atkinson = out / "_assets" / "fonts" / "atkinson-hyperlegible" / "AtkinsonHyperlegible-Regular.ttf"
    assert atkinson.read_bytes() == (Path(__file__).parent.parent / "fonts/atkinson-hyperlegible/AtkinsonHyperlegible-Regular.ttf").read_bytes()
    assert (out / "_assets" / "logo.svg").read_bytes() == (LAYOUTS_DIR / "logo.svg").read_bytes()
    style = text(parse(page(built, "knee-replacement.zh-Hans")).find(".//h:style", NS))
    assert 'font-family: "Noto Sans CJK SC"; font-weight: 400; font-style: normal; font-display: swap; src: local("Noto Sans CJK SC")' in style
    assert '"Noto Sans CJK SC", "Atkinson Hyperlegible"' in style and ".ttc" not in style
    urdu = text(parse(page(built, "knee-replacement.ur")).find(".//h:style", NS))
    assert 'font-family: "Noto Nastaliq Urdu", ' in urdu and "line-height: 2.2;" in urdu
    assert 'url("../_assets/fonts/noto-nastaliq-urdu/NotoNastaliqUrdu-Regular.ttf")' in urdu


def test_an_asset_is_written_again_only_when_its_size_differs(tmp_path, monkeypatch):
    source = tmp_path / "font.ttf"
    source.write_bytes(b"A" * 10)
    assert Assets(tmp_path / "out").publish(source, "fonts/x/font.ttf") == "../_assets/fonts/x/font.ttf"
    copy = tmp_path / "out" / "_assets" / "fonts" / "x" / "font.ttf"
    copy.write_bytes(b"B" * 10)  # the same size: taken for the same file, left alone
    monkeypatch.setattr(web_page, "_published", {})  # the next build, in a new process
    Assets(tmp_path / "out").publish(source, "fonts/x/font.ttf")
    assert copy.read_bytes() == b"B" * 10
    source.write_bytes(b"C" * 11)
    monkeypatch.setattr(web_page, "_published", {})
    Assets(tmp_path / "out").publish(source, "fonts/x/font.ttf")
    assert copy.read_bytes() == b"C" * 11
    assert [p.name for p in copy.parent.iterdir()] == ["font.ttf"]  # no temporary file left


def test_assets_are_checked_once_a_process_and_again_when_their_folder_is_made_anew(tmp_path):
    source = tmp_path / "font.ttf"
    source.write_bytes(b"A" * 10)
    out = tmp_path / "out"
    copy = out / "_assets" / "fonts" / "x" / "font.ttf"
    copy.parent.mkdir(parents=True)
    os.utime(out / "_assets", ns=(0, 0))  # a folder made by an earlier build
    Assets(out).publish(source, "fonts/x/font.ttf")
    copy.unlink()  # a file removed inside the folder is not looked for again by this process
    Assets(out).publish(source, "fonts/x/font.ttf")
    assert not copy.exists()
    shutil.rmtree(out / "_assets")  # the folder removed (a clean output folder, a long-lived worker): copied again
    Assets(out).publish(source, "fonts/x/font.ttf")
    assert copy.read_bytes() == b"A" * 10


@pytest.mark.slow
@pytest.mark.parametrize("stem", ["poem-achalasia", "knee-replacement", "knee-replacement.ur"])
def test_audio_plays_in_the_page_with_the_mp3s_chapters(built, stem):
    tree = parse(page(built, stem))
    mp3 = output_file(built, stem, "audio")
    audio = tree.find(".//h:audio", NS)
    assert (audio.get("src"), audio.get("preload"), audio.get("controls")) == (mp3.name, "none", "")
    chapters = sorted(ID3(mp3).getall("CHAP"), key=lambda frame: frame.start_time)
    links = tree.findall(".//h:ol[@class='chapters']/h:li/h:a", NS)
    assert [(a.get("href"), text(a)) for a in links] == [
        (f"{mp3.name}#t={frame.start_time // 100 / 10:g}",
         f"{frame.start_time // 60000}:{frame.start_time // 1000 % 60:02d} {' '.join(frame.sub_frames['TIT2'].text[0].split())}")
        for frame in chapters]
    assert len(links) >= 3


@pytest.mark.slow
def test_other_formats_are_linked_only_where_the_build_makes_them(built):
    def files(stem: str) -> list[str]:
        return [a.get("href") for a in parse(page(built, stem)).iterfind(".//h:nav[@class='formats']//h:a", NS)]

    every = (".print.pdf", ".large-print.pdf", ".epub", ".mp3", ".brf", ".docx")
    assert files("knee-replacement") == [f"knee-replacement{suffix}" for suffix in every]
    assert files("knee-replacement.pl")[4] == "knee-replacement.pl.brf"  # Polish has a braille table
    assert files("knee-replacement.ur") == [f"knee-replacement.ur{suffix}" for suffix in every if suffix != ".brf"]


def test_the_audio_and_the_read_along_epub_are_linked_once_they_are_there(tmp_path):
    from leafpress.renderers.web_page import web_page
    from leafpress.settings import load_settings

    out = tmp_path / "out"
    (out / "poem-achalasia").mkdir(parents=True)
    html = web_page(read_leaflet(EXAMPLE), load_settings(), out)
    assert '>achalasia on the NHS website</a><span class="url"> (' in html  # the address, for paper only, takes its space with it
    tree = html5lib.parse(html, namespaceHTMLElements=True)
    assert [a.get("href") for a in tree.iterfind(".//h:nav[@class='formats']//h:a", NS)] == [
        f"poem-achalasia{suffix}" for suffix in (".print.pdf", ".large-print.pdf", ".brf", ".docx")]
    assert tree.find(".//h:audio", NS) is None  # no MP3 built yet: no player, no link


@pytest.mark.slow
def test_language_versions_link_each_other_both_ways_by_their_own_names(built):
    names = {"": "English", ".ar": "العربية", ".bn": "বাংলা", ".pl": "Polski", ".ur": "اردو", ".zh-Hans": "简体中文"}
    for suffix, language in KNEE.items():
        tree = parse(page(built, f"knee-replacement{suffix}"))
        assert tree.get("lang") == language
        links = tree.findall(".//h:nav[@class='languages']//h:a", NS)
        others = [other for other in KNEE if other != suffix]
        assert [a.get("href") for a in links] == [f"knee-replacement{other}.html" for other in others]
        assert [(a.get("hreflang"), a.get("lang"), text(a)) for a in links] == [(KNEE[o], KNEE[o], names[o]) for o in others]
        assert [a.get("dir") for a in links] == ["rtl" if o in (".ar", ".ur") else "ltr" for o in others]
    assert parse(page(built, "poem-achalasia")).find(".//h:nav[@class='languages']", NS) is None  # no translation, no list


def test_a_translation_added_to_the_folder_is_linked_by_the_next_page_of_the_same_process(tmp_path):
    images = tmp_path / "images"
    shutil.copytree(FIXTURES / "images", images)
    shutil.copy(FIXTURES / "knee-replacement.md", tmp_path)
    os.utime(tmp_path, ns=(0, 0))  # a folder last changed long ago: its listing is kept
    leaflet = read_leaflet(tmp_path / "knee-replacement.md")
    assert web_page.other_languages(leaflet, LAYOUTS_DIR) == []
    shutil.copy(FIXTURES / "knee-replacement.pl.md", tmp_path)  # the folder changes: listed again
    assert [language.tag for language in web_page.other_languages(leaflet, LAYOUTS_DIR)] == ["pl"]
    (tmp_path / "knee-replacement.pl.md").unlink()
    assert web_page.other_languages(leaflet, LAYOUTS_DIR) == []


@pytest.mark.slow
def test_the_index_links_every_page(built):
    tree = parse(built["out"] / "index.html")
    titles = [a.get("href") for a in tree.iterfind(".//h:tbody/h:tr/h:th/h:a", NS)]
    assert titles == [entry["outputs"]["html"] for entry in built["manifest"]["leaflets"]]
    assert all(entry["outputs"]["html"].endswith(".html") for entry in built["manifest"]["leaflets"])


@pytest.mark.slow
def test_the_pages_colours_are_the_settings_which_pass_contrast(built):
    from leafpress.settings import load_settings

    style = text(parse(page(built, "knee-replacement")).find(".//h:style", NS))
    colours = load_settings().colours
    assert {c.upper() for c in re.findall(r"#[0-9A-Fa-f]{6}\b", style)} <= {getattr(colours, name).upper() for name in vars(colours)}


# -- the PDFs' way to the page --------------------------------------------------------------


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> dict:
    """The example and two translations in print and large print, with web.base_url set."""
    root = tmp_path_factory.mktemp("published")
    layouts = root / "layouts"
    shutil.copytree(LAYOUTS_DIR, layouts)
    settings = layouts / "settings.yaml"
    settings.write_text(re.sub(r'(?m)^  base_url: ""', f'  base_url: "{BASE_URL}/"', settings.read_text(encoding="utf-8")), encoding="utf-8")
    out = root / "out"
    sources = [EXAMPLE, FIXTURES / "knee-replacement.ur.md", FIXTURES / "knee-replacement.zh-Hans.md"]
    result = run_cli("build", *sources, "--out", out, "--settings", settings, "--formats", "print,large-print", "--today", "2026-01-01")
    assert result.returncode == 0, result.stderr
    return {"out": out, "root": root}


def qr_codes(pdf: Path, folder: Path) -> list[str]:
    """What zbarimg reads on each page of the PDF, rendered at 150 dpi."""
    prefix = folder / pdf.stem
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(pdf), str(prefix)], check=True)
    found = []
    for png in sorted(folder.glob(f"{pdf.stem}-*.png")):
        result = subprocess.run(["zbarimg", "-q", "--raw", str(png)], capture_output=True, text=True)
        found += result.stdout.split()
    return found


@pytest.mark.slow
@pytest.mark.parametrize("stem", ["poem-achalasia", "knee-replacement.ur", "knee-replacement.zh-Hans"])
@pytest.mark.parametrize("variant", ["print", "large-print"])
def test_pdf_prints_the_pages_address_and_a_qr_code_that_decodes_to_it(published, stem, variant, tmp_path):
    import pymupdf

    slug = stem.partition(".")[0]
    pdf = published["out"] / slug / f"{stem}.{variant}.pdf"
    address = f"{BASE_URL}/{slug}/{stem}.html"
    assert qr_codes(pdf, tmp_path) == [address]
    printed = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    letters = "".join(printed.translate(UNDRAWN).split())  # pdftotext marks right-to-left runs, and may move a space
    assert address.removeprefix("https://") in letters
    labels = catalogue_for(read_leaflet(SOURCES[stem]).meta.language, LAYOUTS_DIR)
    assert "".join(labels.text("print.web_version").split()) in letters
    modules = [d["rect"] for page in pymupdf.open(pdf) for d in page.get_drawings() if d.get("fill") and max(d["fill"]) < 0.2]
    code = modules[0]
    for rect in modules[1:]:
        code |= rect
    assert min(code.width, code.height) / 72 * 25.4 >= 20  # the code itself, without its quiet zone: 2 cm at least


@pytest.mark.slow
def test_without_a_base_url_the_pdfs_have_no_qr_code_or_address(built, tmp_path):
    pdf = output_file(built, "poem-achalasia", "print")
    assert qr_codes(pdf, tmp_path) == []
    words = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "online:" not in words and ".html" not in words


# -- bad settings ---------------------------------------------------------------------------


@pytest.mark.parametrize("base_url", ["ftp://leaflets.example.org", "leaflets.example.org", "https://example.org/?page=1", "https://"])
def test_a_base_url_that_is_not_a_web_address_is_refused_with_its_line(tmp_path, base_url):
    layouts = tmp_path / "layouts"
    shutil.copytree(LAYOUTS_DIR, layouts)
    settings = layouts / "settings.yaml"
    lines = settings.read_text(encoding="utf-8").splitlines()
    line = next(number for number, text in enumerate(lines, start=1) if text.startswith("  base_url:"))
    lines[line - 1] = f'  base_url: "{base_url}"'
    settings.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_cli("build", EXAMPLE, "--out", tmp_path / "out", "--settings", settings, "--formats", "html")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{settings}:{line}: web.base_url '{base_url}' must be the http:// or https:// address the output folder is published at, "
        "with no spaces, '?' or '#', like https://leaflets.example.org; or empty"]
    assert not (tmp_path / "out").exists()


def test_a_brand_colour_unreadable_on_the_callout_background_is_refused(tmp_path):
    layouts = tmp_path / "layouts"
    shutil.copytree(LAYOUTS_DIR, layouts)
    settings = layouts / "settings.yaml"
    settings.write_text(settings.read_text(encoding="utf-8").replace('callout_background: "#FFF4C2"', 'callout_background: "#6E8FA3"'),
                        encoding="utf-8")
    line = next(n for n, t in enumerate(settings.read_text(encoding="utf-8").splitlines(), start=1) if t.startswith("  brand:"))
    result = run_cli("check", EXAMPLE, "--settings", settings)
    assert result.returncode == 1
    assert [p for p in result.stderr.splitlines() if "callout_background" in p] == [
        f"{settings}:{line}: colours.brand #005A8C on colours.callout_background #6E8FA3 has contrast 2.15:1, under the WCAG AA minimum "
        "of 4.5:1; choose a darker or lighter colour"]


# -- In a real browser: axe-core's WCAG 2.2 A and AA rules, and reflow --------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("stem", SOURCES)
def test_axe_core_finds_no_wcag_violation_on_the_page(built, browser, stem):
    assert (found := axe_violations(browser, page(built, stem))) == [], summary(found)


@pytest.mark.slow
def test_axe_core_finds_no_wcag_violation_on_the_index(built, browser):
    assert (found := axe_violations(browser, built["out"] / "index.html")) == [], summary(found)


@pytest.mark.slow
@pytest.mark.parametrize("stem", SOURCES)
def test_the_page_reflows_at_320_css_pixels_and_400_percent_zoom(built, browser, stem):
    path = page(built, stem)
    assert horizontal_overflow(browser, path) == 0, wide_elements(browser, path)
    assert zoom_overflow(browser, path) == 0, wide_elements(browser, path)
