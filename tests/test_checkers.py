"""The checkers of tests/checkers.py, each shown to find what it is for and to pass what is right.

Every document here is written by the test itself, small: a page with an image without a text
alternative and one without fault, a page with a 600 px block and one that reflows, a minimal EPUB 3
written file by file (mimetype first and stored, container, package document with its accessibility
metadata, navigation document), the same EPUB broken, and a read-along EPUB with a media overlay.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path

import lameenc
import pytest

from tests import checkers
from tests.checkers import (
    ace_violations,
    axe_violations,
    epubcheck_messages,
    horizontal_overflow,
    screenshot,
    summary,
    wide_elements,
    zoom_overflow,
)

pytest_plugins = ["tests.checkers"]


def page(tmp_path: Path, body: str, name: str = "page.html", style: str = "") -> Path:
    """A complete HTML page in English with ``body`` in its <main>."""
    path = tmp_path / name
    path.write_text(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>Test page</title><style>{style}</style></head>"
        f"<body><main><h1>Test page</h1>{body}</main></body></html>\n",
        encoding="utf-8",
    )
    return path


def png(width: int = 2, height: int = 2) -> bytes:
    """A grey PNG of the given size, written without an imaging library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def png_size(path: Path) -> tuple[int, int]:
    """The width and height a PNG file's header gives."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return struct.unpack(">II", data[16:24])


# --- the web page ------------------------------------------------------------------------------

def test_axe_reports_an_image_without_alt(browser, tmp_path):
    found = axe_violations(browser, page(tmp_path, '<p>A picture:</p><img src="pic.png">'))
    assert [v["id"] for v in found] == ["image-alt"], summary(found)
    assert found[0]["impact"] == "critical" and found[0]["targets"] == ["img"]


def test_axe_passes_a_clean_page(browser, tmp_path):
    (tmp_path / "pic.png").write_bytes(png())
    found = axe_violations(browser, page(tmp_path, '<p>A picture:</p><img src="pic.png" alt="A grey square">'))
    assert found == [], summary(found)


def test_a_600px_block_overflows_320px_and_400_percent_zoom(browser, tmp_path):
    path = page(tmp_path, '<div id="wide" style="width: 600px">Wide</div>')
    assert horizontal_overflow(browser, path) >= 600 - 320
    assert zoom_overflow(browser, path) == horizontal_overflow(browser, path, width=320)
    assert any(found.startswith("div#wide") for found in wide_elements(browser, path))
    assert horizontal_overflow(browser, path, width=1280) == 0


def test_a_page_that_reflows_has_no_overflow_at_320px(browser, tmp_path):
    path = page(tmp_path, '<div style="max-width: 600px">' + "Words that wrap. " * 40 + "</div>",
                style="img { max-width: 100% }")
    assert horizontal_overflow(browser, path) == 0
    assert zoom_overflow(browser, path) == 0
    assert wide_elements(browser, path) == []


def test_screenshot_takes_the_whole_page(browser, tmp_path):
    path = page(tmp_path, '<div style="height: 3000px; background: #036">Tall</div>')
    shot = screenshot(browser, path, tmp_path / "shots" / "page.png", width=800)
    width, height = png_size(shot)
    assert width == 800 and height >= 3000


def test_the_viewport_is_put_back_after_a_check(browser, tmp_path):
    path = page(tmp_path, "<p>Text</p>")
    horizontal_overflow(browser, path)
    assert browser.execute_script("return window.innerWidth") == 1280


# --- the EPUB ----------------------------------------------------------------------------------

CONTAINER = """<?xml version="1.0" encoding="UTF-8"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles><rootfile full-path="EPUB/package.opf" media-type="application/oebps-package+xml"/></rootfiles>
</container>
"""

XHTML = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html>
<html xmlns="http://www.w3.org/1999/xhtml" xmlns:epub="http://www.idpf.org/2007/ops" lang="en" xml:lang="en">
<head><meta charset="utf-8"/><title>{title}</title></head>
<body>
{body}
</body>
</html>
"""

NAV = XHTML.format(title="Contents", body="""\
<nav epub:type="toc" role="doc-toc" id="toc" aria-labelledby="toc-title">
  <h1 id="toc-title">Contents</h1>
  <ol><li><a href="chapter.xhtml">Swallowing problems</a></li></ol>
</nav>""")

SUMMARY = ("This leaflet is text with headings, a table of contents and, where it has pictures, text "
           "alternatives for them; it meets WCAG 2.2 level AA.")


def package(*, items: str, metadata: str = "", access_modes: tuple[str, ...] = ("textual",),
            features: tuple[str, ...] = ("structuralNavigation", "tableOfContents")) -> str:
    """A package document for EPUB 3.3 with its accessibility metadata and the chapter in its spine."""
    meta = "\n    ".join(
        [f'<meta property="schema:accessMode">{mode}</meta>' for mode in access_modes]
        + [f'<meta property="schema:accessibilityFeature">{feature}</meta>' for feature in features]
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0" unique-identifier="uid" xml:lang="en">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/">
    <dc:identifier id="uid">urn:uuid:2f4d6c1e-8a3b-4c5d-9e7f-0a1b2c3d4e5f</dc:identifier>
    <dc:title>Swallowing problems</dc:title>
    <dc:language>en</dc:language>
    <meta property="dcterms:modified">2026-11-24T00:00:00Z</meta>
    <meta property="schema:accessModeSufficient">textual</meta>
    {meta}
    <meta property="schema:accessibilityHazard">none</meta>
    <meta property="schema:accessibilitySummary">{SUMMARY}</meta>
    <meta property="dcterms:conformsTo">EPUB Accessibility 1.1 - WCAG 2.2 Level AA</meta>
    <meta property="a11y:certifiedBy">leafpress</meta>
    {metadata}
  </metadata>
  <manifest>
    <item id="nav" href="nav.xhtml" media-type="application/xhtml+xml" properties="nav"/>
    {items}
  </manifest>
  <spine>
    <itemref idref="chapter"/>
  </spine>
</package>
"""


CHAPTER_ITEM = '<item id="chapter" href="chapter.xhtml" media-type="application/xhtml+xml"/>'


def chapter(body: str = '<p id="s1">Eat slowly, sitting up.</p>') -> str:
    return XHTML.format(title="Swallowing problems", body=f"""\
<main><section epub:type="chapter" role="doc-chapter" aria-labelledby="title">
  <h1 id="title">Swallowing problems</h1>
  {body}
</section></main>""")


def write_epub(path: Path, files: dict[str, str | bytes]) -> Path:
    """An EPUB: mimetype first and stored, then container.xml and ``files`` (paths under EPUB/), deflated."""
    with zipfile.ZipFile(path, "w") as epub:
        epub.writestr(zipfile.ZipInfo("mimetype"), "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        epub.writestr("META-INF/container.xml", CONTAINER, compress_type=zipfile.ZIP_DEFLATED)
        for name, content in files.items():
            epub.writestr(f"EPUB/{name}", content, compress_type=zipfile.ZIP_DEFLATED)
    return path


def valid_epub(path: Path) -> Path:
    return write_epub(path, {"package.opf": package(items=CHAPTER_ITEM), "nav.xhtml": NAV, "chapter.xhtml": chapter()})


def test_the_epub_is_written_as_epub_asks(tmp_path):
    with zipfile.ZipFile(valid_epub(tmp_path / "leaflet.epub")) as epub:
        first = epub.infolist()[0]
        assert (first.filename, first.compress_type, first.extra) == ("mimetype", zipfile.ZIP_STORED, b"")


@pytest.mark.slow
@pytest.mark.parametrize("check", [epubcheck_messages, ace_violations], ids=["epubcheck", "ace"])
def test_the_checker_passes_a_minimal_epub(tmp_path, check):
    found = check(valid_epub(tmp_path / "leaflet.epub"))
    assert found == [], summary(found)


@pytest.mark.slow
def test_epubcheck_reports_a_file_missing_from_the_manifest(tmp_path):
    # The chapter is in the container and in the spine and the navigation, but not in the manifest.
    epub = write_epub(tmp_path / "broken.epub",
                      {"package.opf": package(items=""), "nav.xhtml": NAV, "chapter.xhtml": chapter()})
    found = epubcheck_messages(epub)
    assert any(message.startswith("ERROR OPF-049 EPUB/package.opf") for message in found), summary(found)
    assert any("chapter.xhtml" in message for message in found), summary(found)


@pytest.mark.slow
def test_ace_reports_an_image_without_alt(tmp_path):
    files = {
        "package.opf": package(items=CHAPTER_ITEM + '\n    <item id="pic" href="pic.png" media-type="image/png"/>',
                               access_modes=("textual", "visual"),
                               features=("structuralNavigation", "tableOfContents", "alternativeText")),
        "nav.xhtml": NAV,
        "chapter.xhtml": chapter('<p>Sit up to eat.</p><img src="pic.png"/>'),
        "pic.png": png(),
    }
    epub = write_epub(tmp_path / "no-alt.epub", files)
    found = ace_violations(epub)
    assert [(v["file"], v["rule"], v["targets"]) for v in found] == [("chapter.xhtml", "image-alt", ["img"])], summary(found)
    assert epubcheck_messages(epub) == []  # EPUBCheck does not ask for the alt: Ace is the check that does


def silence_mp3(seconds: float = 1.0, rate: int = 22050) -> bytes:
    encoder = lameenc.Encoder()
    encoder.set_bit_rate(32)
    encoder.set_in_sample_rate(rate)
    encoder.set_channels(1)
    encoder.set_quality(7)
    return encoder.encode(b"\x00\x00" * int(seconds * rate)) + encoder.flush()


SMIL = """<?xml version="1.0" encoding="UTF-8"?>
<smil xmlns="http://www.w3.org/ns/SMIL" xmlns:epub="http://www.idpf.org/2007/ops" version="3.0">
  <body>
    <seq id="seq1" epub:textref="chapter.xhtml" epub:type="chapter">
      <par id="par1"><text src="chapter.xhtml#s1"/><audio src="audio/chapter.mp3" clipBegin="0s" clipEnd="1s"/></par>
    </seq>
  </body>
</smil>
"""


def read_along_epub(path: Path, total: str = "0:00:01.000") -> Path:
    """The shape of the read-along EPUB: a media overlay for the chapter, its duration and the whole
    book's (``total``) in the package, the audio's accessibility metadata, and a style sheet for the
    class a reading system gives the sentence being read (EPUBCheck's CSS-030 asks for one)."""
    files = {
        "package.opf": package(
            items='<item id="chapter" href="chapter.xhtml" media-type="application/xhtml+xml" media-overlay="chapter-overlay"/>\n'
                  '    <item id="chapter-overlay" href="chapter.smil" media-type="application/smil+xml"/>\n'
                  '    <item id="chapter-audio" href="audio/chapter.mp3" media-type="audio/mpeg"/>\n'
                  '    <item id="style" href="style.css" media-type="text/css"/>',
            metadata='<meta property="media:duration" refines="#chapter-overlay">0:00:01.000</meta>\n'
                     f'    <meta property="media:duration">{total}</meta>\n'
                     '    <meta property="media:active-class">-epub-media-overlay-active</meta>\n'
                     '    <meta property="schema:accessModeSufficient">auditory</meta>',
            access_modes=("textual", "auditory"),
            features=("structuralNavigation", "tableOfContents", "synchronizedAudioText"),
        ),
        "nav.xhtml": NAV,
        "chapter.xhtml": chapter().replace("</title>", '</title><link rel="stylesheet" href="style.css"/>'),
        "style.css": ".-epub-media-overlay-active { background-color: #ff0; color: #000; }\n",
        "chapter.smil": SMIL,
        "audio/chapter.mp3": silence_mp3(),
    }
    return write_epub(path, files)


@pytest.mark.slow
def test_a_read_along_epub_passes_both(tmp_path):
    epub = read_along_epub(tmp_path / "read-along.epub")
    assert (found := epubcheck_messages(epub)) == [], summary(found)
    assert (found := ace_violations(epub)) == [], summary(found)


@pytest.mark.slow
def test_epubcheck_reports_warnings_too(tmp_path):
    # A book's duration that is not the sum of its overlays' is a warning (MED_016), not an error.
    # EPUBCheck lets a small difference pass (2 s for 1 s did): this one is a minute off.
    found = epubcheck_messages(read_along_epub(tmp_path / "read-along.epub", total="0:01:01.000"))
    assert [message.split()[:2] for message in found] == [["WARNING", "MED_016"]], summary(found)


# --- a missing tool fails, never skips ------------------------------------------------------------

@pytest.mark.parametrize("name, check", [
    ("AXE_JS", lambda tmp: axe_violations(None, tmp / "page.html")),
    ("ACE_CLI", lambda tmp: ace_violations(tmp / "leaflet.epub")),
    ("CHROMEDRIVER", lambda tmp: checkers.chromium().__enter__()),
])
def test_a_missing_tool_fails_the_test_and_says_make_test_installs_it(tmp_path, monkeypatch, name, check):
    monkeypatch.setattr(checkers, name, tmp_path / "not-installed")
    with pytest.raises(pytest.fail.Exception, match=r"is not installed .*: `make test` installs it"):
        check(tmp_path)


def test_missing_java_fails_the_test(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pytest.fail.Exception, match="Java .* `make test` installs it"):
        epubcheck_messages(valid_epub(tmp_path / "leaflet.epub"))
