"""Hostile content: nothing in a source is run, rendered as HTML, fetched or written outside output/."""

from __future__ import annotations

import subprocess
import zipfile

import pytest
from PIL import Image as PillowImage

from leafpress.errors import InputError
from leafpress.reader import read_leaflet
from leafpress.renderers.print_pdf import url_fetcher
from leafpress.settings import load_settings
from leafpress.speech import build_script

from .conftest import ROOT, VALID_FRONT, run_cli, write_leaflet

TEMPLATE_BODY = "## {{ 7 * 7 }} and {% raw %}\n\nText with {{ config }} and {# a comment #} and &lt;b&gt;.\n"


def test_template_syntax_in_a_source_is_printed_literally(tmp_path):
    front = VALID_FRONT.replace("title: Test leaflet", "title: \"{{ 6 * 7 }} <script>alert(1)</script>\"")
    source = write_leaflet(tmp_path / "src", "template.md", TEMPLATE_BODY, front)
    out = tmp_path / "out"
    result = run_cli("build", source, "--out", out, "--formats", "print,docx")
    assert result.returncode == 0, result.stderr
    pdf_text = subprocess.run(["pdftotext", out / "template" / "template.print.pdf", "-"], capture_output=True, text=True).stdout
    assert "{{ 6 * 7 }} <script>alert(1)</script>" in pdf_text
    assert "{{ 7 * 7 }} and {% raw %}" in pdf_text
    assert "{{ config }}" in pdf_text and "{# a comment #}" in pdf_text
    assert "42" not in pdf_text and "49" not in pdf_text
    document = zipfile.ZipFile(out / "template" / "template.docx").read("word/document.xml").decode()
    assert "{{ 7 * 7 }}" in document and "&lt;script&gt;" in document


def test_template_syntax_is_spoken_as_written(tmp_path):
    source = write_leaflet(tmp_path, "template.md", TEMPLATE_BODY)
    script = build_script(read_leaflet(source), load_settings()).text()
    assert "{{ 7 * 7 }}" in script
    assert "49" not in script


@pytest.mark.parametrize(
    ("body", "line", "message"),
    [
        ("<script>alert(1)</script>\n", 7, "raw HTML is not allowed; write it in Markdown (## headings, lists, **bold**, > callouts)"),
        ("Text <img src=\"file:///etc/passwd\"> here.\n", 7, "raw HTML '<img src=\"file:///etc/passwd\">' is not allowed; write it in Markdown"),
        ("<iframe src=\"https://example.org\"></iframe>\n", 7,
         "raw HTML is not allowed; write it in Markdown (## headings, lists, **bold**, > callouts)"),
    ],
)
def test_html_and_script_are_refused(tmp_path, body, line, message):
    source = write_leaflet(tmp_path, "html.md", body)
    with pytest.raises(InputError) as info:
        read_leaflet(source)
    assert [str(p) for p in info.value.problems] == [f"{source}:{line}: {message}"]


@pytest.mark.parametrize(
    "src",
    ["/etc/passwd", "https://example.org/tracker.png", "data:image/png;base64,iVBORw0KGgo="],
)
def test_images_cannot_come_from_outside_the_source_folder(tmp_path, src):
    source = write_leaflet(tmp_path, "img.md", f"![A picture]({src})\n")
    with pytest.raises(InputError) as info:
        read_leaflet(source)
    (problem,) = info.value.problems
    assert str(problem) == (
        f"{source}:7: image '{src}' must be a file beside the leaflet, given as a relative path such as images/diagram.png"
    )


def test_a_file_url_image_is_only_text(tmp_path):
    """markdown-it refuses file: links, so the would-be image stays literal text."""
    source = write_leaflet(tmp_path, "img.md", "![A picture](file:///etc/passwd)\n")
    (block,) = read_leaflet(source).blocks
    assert block.kind == "paragraph"
    assert block.inlines[0].text == "![A picture](file:///etc/passwd)"


@pytest.mark.parametrize(
    "url",
    ["file:///etc/passwd", "http://127.0.0.1:9/x.png", "https://example.org/x.css", "data:text/css,body{}", "ftp://example.org/x"],
)
def test_pdf_url_fetcher_serves_nothing_outside_the_project(tmp_path, url):
    fetcher = url_fetcher((ROOT / "layouts", ROOT / "fonts", tmp_path))
    with pytest.raises(ValueError):
        fetcher.fetch(url)


def test_pdf_url_fetcher_serves_layouts_and_fonts(tmp_path):
    fetcher = url_fetcher((ROOT / "layouts", ROOT / "fonts", tmp_path))
    response = fetcher.fetch((ROOT / "layouts" / "logo.svg").as_uri())
    assert response.read().startswith(b"<svg")
    with pytest.raises(ValueError):
        fetcher.fetch((ROOT / "layouts" / ".." / "README.md").as_uri())


def test_yaml_tags_are_not_executed(tmp_path):
    front = VALID_FRONT + "subtitle: !!python/object/apply:os.system ['touch pwned']\n"
    source = write_leaflet(tmp_path, "yaml.md", front=front)
    with pytest.raises(InputError) as info:
        read_leaflet(source)
    (problem,) = info.value.problems
    assert str(problem).startswith(f"{source}:6: front matter is not valid YAML; write one 'key: value' per line (")
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize(
    ("name", "language", "message"),
    [
        ("escape.md", "../../etc", "language '../../etc' is not a BCP 47 tag; write e.g. en-GB, pl or pt-BR"),
        ("escape.md", "en/../../x", "language 'en/../../x' is not a BCP 47 tag; write e.g. en-GB, pl or pt-BR"),
    ],
)
def test_language_cannot_escape_the_output_folder(tmp_path, name, language, message):
    source = write_leaflet(tmp_path, name, front=VALID_FRONT + f"language: \"{language}\"\n")
    with pytest.raises(InputError) as info:
        read_leaflet(source)
    assert [str(p) for p in info.value.problems] == [f"{source}:6: {message}"]


@pytest.mark.parametrize("name", ["..md", "...md", "a..b.md", ".hidden.md", "UPPER.md", "sp ace.md", "x.y.z.md"])
def test_file_names_that_could_escape_or_collide_are_refused(tmp_path, name):
    source = write_leaflet(tmp_path, name)
    with pytest.raises(InputError) as info:
        read_leaflet(source)
    (problem,) = info.value.problems
    assert str(problem).startswith(f"{source}:1: file name '{name}' is not <slug>.md or <slug>.<lang>.md;")


def test_image_over_10_megabytes_is_refused(tmp_path):
    (tmp_path / "big.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 10_000_001)
    source = write_leaflet(tmp_path, "big.md", "![A big picture](big.png)\n")
    with pytest.raises(InputError) as info:
        read_leaflet(source)
    assert [str(p) for p in info.value.problems] == [f"{source}:7: image 'big.png' is over 10 MB; make it smaller"]


def test_image_over_50_megapixels_is_refused_without_decoding_it(tmp_path):
    PillowImage.new("1", (8000, 7000)).save(tmp_path / "huge.png")  # 56 megapixels, a few kB on disk
    assert (tmp_path / "huge.png").stat().st_size < 100_000
    source = write_leaflet(tmp_path, "huge.md", "![A huge picture](huge.png)\n")
    with pytest.raises(InputError) as info:
        read_leaflet(source)
    assert [str(p) for p in info.value.problems] == [
        f"{source}:7: image 'huge.png' is 8000×7000 pixels, over 50 megapixels; make it smaller"
    ]
