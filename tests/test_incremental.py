"""Incremental builds: what makes a leaflet's format rebuild, and what leaves it alone.

The renderers are replaced by recording stand-ins, so each test sees exactly which
(leaflet, format) pairs a build renders; the CLI tests at the end use the real ones.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from leafpress.library import build as build_module
from leafpress.library import incremental
from leafpress.renderers import RENDERERS
from leafpress.settings import FONTS_DIR, LAYOUTS_DIR, load_settings
from leafpress.speech import espeak

from .conftest import FIXTURES, run_cli, write_leaflet

FORMATS = ["print", "large-print", "docx", "audio", "braille", "epub", "html"]
TODAY = dt.date(2026, 1, 1)
FRONT = """\
title: {title}
resource_number: 1/VER1
last_reviewed: 2025-03
next_review: 2028-03
"""
WITH_IMAGE = "## About\n\nSome text.\n\n![A diagram of the knee](images/diagram.png)\n"


class Library:
    """A source folder, its own layouts and fonts, an output folder, and a log of what was rendered."""

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch):
        self.root = root
        self.src, self.out = root / "src", root / "out"
        self.layouts = root / "layouts"
        self.fonts = root / "fonts"
        shutil.copytree(LAYOUTS_DIR, self.layouts)
        shutil.copytree(FONTS_DIR, self.fonts)
        (self.src / "images").mkdir(parents=True)
        shutil.copy(FIXTURES / "images" / "diagram.png", self.src / "images" / "diagram.png")
        self.a = write_leaflet(self.src, "alpha.md", body=WITH_IMAGE, front=FRONT.format(title="Alpha"))
        self.b = write_leaflet(self.src, "beta.md", body="## About\n\nOther text.\n", front=FRONT.format(title="Beta"))
        self.rendered: list[tuple[str, str]] = []
        for name, real in list(RENDERERS.items()):
            monkeypatch.setitem(RENDERERS, name, dataclasses.replace(real, render=self._recorder(name)))

    def _recorder(self, name: str):
        def render(leaflet, settings, targets) -> None:
            self.rendered.append((leaflet.slug, name))
            for path in targets.values():
                Path(path).write_text(f"{name} of {leaflet.meta.title}\n", encoding="utf-8")

        return render

    def settings(self):
        return dataclasses.replace(load_settings(self.layouts / "settings.yaml"), fonts_dir=self.fonts)

    def build(self, formats=FORMATS, force: bool = False, today: dt.date = TODAY, **kwargs) -> set[tuple[str, str]]:
        """Build the whole source folder; returns the (slug, format) pairs rendered."""
        self.rendered.clear()
        sources = sorted(self.src.glob("*.md"))
        self.report = build_module.build(sources, self.out, formats, self.settings(), today, force=force, **kwargs)
        return set(self.rendered)


def every(slugs=("alpha", "beta"), formats=FORMATS) -> set[tuple[str, str]]:
    return {(slug, name) for slug in slugs for name in formats}


@pytest.fixture
def library(tmp_path, monkeypatch) -> Library:
    lib = Library(tmp_path, monkeypatch)
    assert lib.build() == every()
    return lib


def test_second_build_renders_nothing_and_says_unchanged(library):
    assert library.build() == set()
    assert [r.unchanged for r in library.report.results] == [True, True]
    assert library.report.built == [] and library.report.failed == []
    entries = json.loads((library.out / "manifest.json").read_text())["leaflets"]
    assert [e["slug"] for e in entries] == ["alpha", "beta"]
    assert all(all(entry["outputs"].values()) for entry in entries)


def test_a_no_op_build_writes_nothing_and_a_new_day_rewrites_the_manifest_and_index(library):
    """At 5,000 leaflets, rewriting the manifest, build state and index took most of a no-op build."""
    written = {name: (library.out / name).stat().st_mtime_ns for name in ("manifest.json", incremental.STATE_NAME, "index.html")}
    assert library.build() == set()
    assert {name: (library.out / name).stat().st_mtime_ns for name in written} == written
    assert library.build(today=dt.date(2028, 5, 1)) == set()  # both leaflets are overdue that day
    assert json.loads((library.out / "manifest.json").read_text())["leaflets"][0]["review_status"] == "overdue"
    assert "1 May 2028" in (library.out / "index.html").read_text()
    index = (library.out / "index.html").stat().st_mtime_ns
    assert library.build(today=dt.date(2028, 5, 2)) == set()  # no status changes, but the page is dated
    assert "2 May 2028" in (library.out / "index.html").read_text() and (library.out / "index.html").stat().st_mtime_ns != index


def test_reviews_take_a_built_leaflets_facts_from_the_build_state(library):
    """generate.py reviews reads a source again only when a build did not read these very bytes
    with this very leafpress."""
    from leafpress.library.reviews import read_review_facts

    def titles() -> list[str]:
        facts, bad = read_review_facts([library.a, library.b], library.out, library.settings(), print)
        assert bad == 0
        return [fact.title for fact in facts]

    with incremental.load_state(library.out) as state:
        key = next(key for key in state if key.endswith("alpha.md"))
        record = state[key]

        def save() -> None:
            state[key] = record
            state.save(library.out / incremental.STATE_NAME)

        record["review"]["title"] = "As the build read it"
        save()
        assert titles() == ["As the build read it", "Beta"]
        record["read_by"] = "another leafpress"
        save()
        assert titles() == ["Alpha", "Beta"]
        record["read_by"] = incremental.Inputs(library.settings()).tool
        save()
    library.a.write_text(library.a.read_text().replace("title: Alpha", "title: Alpha, edited"), encoding="utf-8")
    assert titles() == ["Alpha, edited", "Beta"]


def test_source_edit_rebuilds_that_leaflet_only(library):
    library.b.write_text(library.b.read_text().replace("Other text.", "Changed text."), encoding="utf-8")
    assert library.build() == every(["beta"])
    assert set(library.report.built[0].reasons.values()) == {"the source changed"}
    assert [r.unchanged for r in library.report.results] == [True, False]


def test_touching_a_source_without_changing_it_rebuilds_nothing(library):
    library.a.write_bytes(library.a.read_bytes())
    assert library.build() == set()


def test_image_edit_rebuilds_the_formats_that_show_it(library):
    image = library.src / "images" / "diagram.png"
    image.write_bytes(image.read_bytes() + b"\0")  # trailing bytes after IEND: still a valid PNG
    assert library.build() == every(["alpha"], ["print", "large-print", "docx", "epub", "html"])
    assert set(library.report.built[0].reasons.values()) == {"an image changed"}


def test_settings_edit_rebuilds_everything(library):
    path = library.layouts / "settings.yaml"
    path.write_text(path.read_text().replace("rate: 155", "rate: 150"), encoding="utf-8")
    assert library.build() == every()


def test_layout_edit_rebuilds_the_pdfs_word_book_and_web_page_not_the_audio(library):
    css = library.layouts / "leaflet.css.j2"
    css.write_text(css.read_text() + "\n/* a tweak */\n", encoding="utf-8")
    assert library.build() == every(formats=["print", "large-print", "docx", "epub", "html"])
    assert {reason for r in library.report.built for reason in r.reasons.values()} == {"the layouts changed"}


def test_a_template_of_the_book_rebuilds_the_book_only(library):
    template = library.layouts / "epub" / "style.css.j2"
    template.write_text(template.read_text() + "\n/* a tweak */\n", encoding="utf-8")
    assert every(formats=["epub"]) <= library.build()


def test_logo_edit_rebuilds_the_pdfs(library):
    logo = library.layouts / "logo.svg"
    logo.write_text(logo.read_text().replace("</svg>", "<!-- new --></svg>"), encoding="utf-8")
    assert every(formats=["print", "large-print"]) <= library.build()


def test_catalogue_edit_rebuilds_the_leaflets_of_its_language_only(library):
    write_leaflet(library.src, "alpha.pl.md", body="## O ulotce\n\nTekst.\n", front=FRONT.format(title="Alfa"))
    assert library.build() == {("alpha", name) for name in FORMATS}  # the new translation
    polish = library.layouts / "languages" / "pl.yaml"
    polish.write_text(polish.read_text(encoding="utf-8").replace("Strona {page} z {pages}", "Str. {page} z {pages}"), encoding="utf-8")
    assert library.build() == {("alpha", name) for name in FORMATS}
    assert [r.source.name for r in library.report.built] == ["alpha.pl.md"]
    assert set(library.report.built[0].reasons.values()) == {"its language's fixed text changed"}
    english = library.layouts / "languages" / "en.yaml"
    english.write_text(english.read_text(encoding="utf-8") + "\n", encoding="utf-8")  # the reference: every language falls back on it
    assert library.build() == every() | {("alpha", name) for name in FORMATS}
    assert len(library.report.built) == 3


def test_a_new_or_changed_translation_rebuilds_the_web_pages_that_link_it(library):
    translation = write_leaflet(library.src, "alpha.pl.md", body="## O ulotce\n\nTekst.\n", front=FRONT.format(title="Alfa"))
    assert library.build() == {("alpha", name) for name in FORMATS}
    assert {r.source.name: r.reasons.get("html") for r in library.report.built} == {
        "alpha.md": "its other languages changed", "alpha.pl.md": "not built before"}
    assert [r.source.name for r in library.report.built if set(r.reasons) != {"html"}] == ["alpha.pl.md"]
    translation.write_text(translation.read_text(encoding="utf-8").replace("Tekst.", "Inny tekst."), encoding="utf-8")
    assert library.build() == {("alpha", name) for name in FORMATS}  # the original's page: only its links could change
    assert {r.source.name: sorted(r.reasons) for r in library.report.built} == {"alpha.md": ["html"], "alpha.pl.md": sorted(FORMATS)}
    translation.unlink()
    assert library.build() == {("alpha", "html")}
    assert library.build() == set()


def test_the_web_page_is_rebuilt_after_an_audio_built_without_it(library):
    """Its chapter list and player come from the MP3 of whichever build made it last."""
    library.a.write_text(library.a.read_text().replace("Some text.", "Other words."), encoding="utf-8")
    assert library.build(formats=["audio"]) == {("alpha", "audio")}
    assert library.build() == {("alpha", name) for name in FORMATS if name != "audio"}
    assert library.report.built[0].reasons["html"] == "the source changed"
    (library.out / "alpha" / "alpha.mp3").write_text("a new recording\n", encoding="utf-8")
    assert library.build(formats=["audio"]) == {("alpha", "audio")}
    assert library.build(formats=["html"]) == {("alpha", "html")}
    assert library.report.built[0].reasons == {"html": "its audio changed"}
    assert library.build() == {("alpha", "epub")}  # the book holds the audio: it too is made again
    assert library.report.built[0].reasons == {"epub": "its audio changed"}
    assert library.build() == set()


def test_index_template_edit_rebuilds_no_leaflet_but_the_index(library):
    template = library.layouts / "index.html.j2"
    template.write_text(template.read_text().replace("<h1>Patient information leaflets</h1>", "<h1>Our leaflets</h1>"), encoding="utf-8")
    assert library.build() == set()
    assert "<h1>Our leaflets</h1>" in (library.out / "index.html").read_text()


def test_font_edit_rebuilds_the_pdfs_and_the_web_page_only(library):
    font = next(library.fonts.rglob("*.ttf"))
    font.write_bytes(font.read_bytes() + b"\0")
    assert library.build() == every(formats=["print", "large-print", "html"])
    assert {reason for r in library.report.built for reason in r.reasons.values()} == {"the fonts changed"}


def test_pronunciation_list_edit_rebuilds_the_audio_and_what_is_made_from_it(library):
    path = library.layouts / "pronunciations.yaml"
    path.write_text(path.read_text() + "knee: nee\n", encoding="utf-8")
    assert library.build() == every(formats=["audio", "epub", "html"])
    assert library.report.built[0].reasons == {"audio": "the pronunciation list changed", "epub": "the pronunciation list changed",
                                               "html": "its audio is rebuilt"}
    assert library.build() == set()


def test_an_audio_file_edited_by_hand_rebuilds_it_the_book_and_the_page(library):
    mp3 = library.out / "alpha" / "alpha.mp3"
    mp3.write_text("damaged\n", encoding="utf-8")
    assert library.build() == {("alpha", "audio"), ("alpha", "epub"), ("alpha", "html")}
    assert library.build() == set()


def test_the_book_alone_builds_the_audio_it_needs_first_and_the_page_alone_does_not(library, tmp_path):
    library.rendered.clear()
    build_module.build([library.a], tmp_path / "book", build_module.parse_formats("epub"), library.settings(), TODAY)
    assert library.rendered == [("alpha", "audio"), ("alpha", "epub")]
    library.rendered.clear()
    build_module.build([library.a], tmp_path / "page", build_module.parse_formats("html"), library.settings(), TODAY)
    assert library.rendered == [("alpha", "html")]


def test_new_tool_version_rebuilds_everything(library, tmp_path, monkeypatch):
    package = tmp_path / "leafpress-next"
    shutil.copytree(incremental.PACKAGE_DIR, package, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(incremental, "PACKAGE_DIR", package)
    assert library.build() == set()  # the same code in another place is the same version
    (package / "model.py").write_text((package / "model.py").read_text() + "\n# a fix\n", encoding="utf-8")
    assert library.build() == every()
    assert {reason for r in library.report.built for reason in r.reasons.values()} == {"leafpress was updated"}


def test_deleted_output_file_rebuilds_its_format(library):
    (library.out / "alpha" / "alpha.audio.txt").unlink()
    assert library.build() == {("alpha", "audio"), ("alpha", "epub"), ("alpha", "html")}  # made from the audio made again
    assert library.report.built[0].reasons == {"audio": "alpha/alpha.audio.txt is missing", "epub": "its audio is rebuilt",
                                               "html": "its audio is rebuilt"}
    assert (library.out / "alpha" / "alpha.audio.txt").is_file()


def test_edited_output_file_rebuilds_its_format(library):
    docx = library.out / "beta" / "beta.docx"
    docx.write_text(docx.read_text() + "edited by hand\n", encoding="utf-8")
    assert library.build() == {("beta", "docx")}
    assert library.report.built[0].reasons == {"docx": "beta/beta.docx was changed after it was built"}


def test_force_rebuilds_everything(library):
    assert library.build(force=True) == every()
    assert {reason for r in library.report.built for reason in r.reasons.values()} == {"--force"}


def test_asking_for_a_new_format_builds_just_that(tmp_path, monkeypatch):
    library = Library(tmp_path, monkeypatch)
    assert library.build(formats=["docx"]) == every(formats=["docx"])
    assert library.build(formats=["docx", "print"]) == every(formats=["print"])
    entry = json.loads((library.out / "manifest.json").read_text())["leaflets"][0]
    assert entry["outputs"]["docx"] == "alpha/alpha.docx" and entry["outputs"]["print"] == "alpha/alpha.print.pdf"


def test_deleted_manifest_or_state_rebuilds(library):
    (library.out / "manifest.json").unlink()
    assert library.build() == every()
    (library.out / incremental.STATE_NAME).write_text("not json", encoding="utf-8")
    assert library.build() == every()
    assert library.build() == set()


def test_a_failing_leaflet_is_tried_again_and_the_others_stay_unchanged(library):
    library.a.write_text(library.a.read_text().replace("Some text.", "Some *italic* text."), encoding="utf-8")
    for _ in range(2):
        assert library.build() == set()
        assert [str(r.source) for r in library.report.failed] == [str(library.a)]
        assert [r.unchanged for r in library.report.results if r.ok] == [True]
    # its last good files stay until the error is fixed
    assert (library.out / "alpha" / "alpha.print.pdf").is_file()
    library.a.write_text(library.a.read_text().replace("*italic*", "plain"), encoding="utf-8")
    assert library.build() == every(["alpha"])


def test_deleted_source_removes_its_files_manifest_entry_and_state(library):
    library.b.unlink()
    assert library.build() == set()
    assert not any((library.out / "beta").glob("*"))
    entries = json.loads((library.out / "manifest.json").read_text())["leaflets"]
    assert [e["slug"] for e in entries] == ["alpha"]
    with incremental.load_state(library.out) as state:
        assert not any(key.endswith("beta.md") for key in state)
    assert "beta" not in (library.out / "index.html").read_text()


def test_a_source_deleted_between_builds_of_other_paths_is_still_removed(library):
    library.b.unlink()
    library.rendered.clear()
    build_module.build([library.a], library.out, FORMATS, library.settings(), TODAY)
    assert [e["slug"] for e in json.loads((library.out / "manifest.json").read_text())["leaflets"]] == ["alpha"]
    assert not (library.out / "beta" / "beta.print.pdf").exists()


def test_unchanged_leaflets_still_get_review_warnings_and_todays_status(library):
    later = dt.date(2028, 5, 1)  # after March 2028
    assert library.build(today=later) == set()
    assert [w.split(": ", 1)[1] for r in library.report.results for w in r.warnings] == [
        "warning: review overdue since March 2028; review the leaflet and update last_reviewed and next_review"
    ] * 2
    assert library.report.results[0].warnings[0].startswith(f"{library.a}:5: ")
    entries = json.loads((library.out / "manifest.json").read_text())["leaflets"]
    assert {e["review_status"] for e in entries} == {"overdue"}


def test_any_concurrent_futures_executor_can_run_the_build(tmp_path, monkeypatch):
    """The seam a cluster executor (dask.distributed's Client.get_executor()) plugs into."""
    library = Library(tmp_path, monkeypatch)
    with ThreadPoolExecutor(max_workers=2) as pool:
        assert library.build(executor=pool) == every()
        assert library.build(executor=pool) == set()


# Through the command line, with the real renderers -----------------------------------


def test_cli_second_build_is_unchanged_and_force_rebuilds(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    for name in ("one", "two", "three"):
        write_leaflet(src, f"{name}.md", body=f"## About\n\nText of {name}.\n", front=FRONT.format(title=name))
    first = run_cli("build", src, "--out", out, "--formats", "docx", "--jobs", "2", "--today", "2026-01-01")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("Built 3 of 3 leaflets (docx)")
    assert first.stderr.count("(docx: not built before)") == 3
    before = {p.name: p.stat().st_mtime_ns for p in out.rglob("*.docx")}

    (src / "two.md").write_text((src / "two.md").read_text().replace("Text of two", "New text"), encoding="utf-8")
    second = run_cli("build", src, "--out", out, "--formats", "docx", "--jobs", "2", "--today", "2026-01-01")
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith("Built 1 of 3 leaflets (docx) into ")
    assert "; 2 unchanged (--force rebuilds them); manifest: " in second.stdout
    assert second.stderr.splitlines() == [f"[3/3] built {src / 'two.md'} (docx: the source changed)"]
    after = {p.name: p.stat().st_mtime_ns for p in out.rglob("*.docx")}
    assert after["one.docx"] == before["one.docx"] and after["three.docx"] == before["three.docx"]
    assert after["two.docx"] != before["two.docx"]

    forced = run_cli("build", src, "--out", out, "--formats", "docx", "--force", "--today", "2026-01-01")
    assert forced.returncode == 0, forced.stderr
    assert forced.stdout.startswith("Built 3 of 3 leaflets (docx)")


def test_cli_strict_reviews_fails_an_unchanged_overdue_leaflet(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    path = write_leaflet(src, "one.md", body="## About\n\nText.\n", front=FRONT.format(title="One"))
    assert run_cli("build", src, "--out", out, "--formats", "docx", "--today", "2026-01-01").returncode == 0
    strict = run_cli("build", src, "--out", out, "--formats", "docx", "--today", "2029-01-01", "--strict-reviews")
    assert strict.returncode == 1
    assert f"{path}:5: warning: review overdue since March 2028" in strict.stderr
    assert "Built 0 of 1 leaflet (docx)" in strict.stdout


def test_an_interrupted_build_keeps_what_it_built(tmp_path, monkeypatch):
    library = Library(tmp_path, monkeypatch)

    def interrupt_after_first(result) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        library.build(on_result=interrupt_after_first)
    assert library.rendered and set(library.rendered) == every(["alpha"])
    assert library.build() == every(["beta"])


def test_new_speech_engine_version_rebuilds_the_audio_and_book_only(library, tmp_path, monkeypatch):
    fake = tmp_path / "bin" / "espeak-ng"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\necho 'eSpeak NG text-to-speech: 1.51  Data at: /usr/lib'\n", encoding="utf-8")
    fake.chmod(0o755)
    monkeypatch.setattr(espeak, "PROGRAM", str(fake))
    library.build()
    assert library.build() == set()
    fake.write_text("#!/bin/sh\necho 'eSpeak NG text-to-speech: 1.52  Data at: /usr/lib'\n", encoding="utf-8")
    assert library.build() == every(formats=["audio", "epub", "html"])
    assert {r.reasons["audio"] for r in library.report.built} == {"the speech engine was updated"}


def test_new_liblouis_tables_rebuild_the_braille_only(library, tmp_path, monkeypatch):
    tables = tmp_path / "tables"
    tables.mkdir()
    (tables / "en-ueb-g2.ctb").write_text("include en-ueb-g1.ctb\n", encoding="utf-8")
    monkeypatch.setattr(incremental, "TABLES", str(tables))
    library.build()
    assert library.build() == set()
    (tables / "en-ueb-g2.ctb").write_text("include en-ueb-g1.ctb\n# a new release\n", encoding="utf-8")
    assert library.build() == every(formats=["braille"])
    assert {reason for r in library.report.built for reason in r.reasons.values()} == {"liblouis was updated"}


def test_the_build_state_keeps_a_record_a_line_and_reads_it_back(tmp_path):
    """Records stay in the file until asked for (a 5,000-leaflet library's state costs the coordinator
    a megabyte or two); a build appends the records it changed, the last line of a source counting."""
    path = tmp_path / incremental.STATE_NAME
    record = {"title": "Line\nbreak\tand tab", "formats": {"docx": {"inputs": {"tool": "x"}}}}
    with incremental.BuildState() as state:
        state["src/ąę\tzażółć.md"] = record
        state["src/a.md"] = {"title": "A"}
        state.save(path)
    assert len(path.read_text(encoding="utf-8").splitlines()) == 3
    with incremental.load_state(tmp_path) as again:
        assert sorted(again) == ["src/a.md", "src/ąę\tzażółć.md"]
        assert again["src/ąę\tzażółć.md"]["title"] == "Line\nbreak\tand tab"
        del again["src/a.md"]
        again["src/b.md"] = {"title": "B"}
        again.save(path)
        assert len(path.read_text(encoding="utf-8").splitlines()) == 5  # a line for each change
        assert dict(again) == {"src/ąę\tzażółć.md": record, "src/b.md": {"title": "B"}}
    with incremental.load_state(tmp_path) as reread:
        assert dict(reread) == {"src/ąę\tzażółć.md": record, "src/b.md": {"title": "B"}}
    damaged = path.read_text(encoding="utf-8").replace('{"title":"B"}', '{"title":"B')
    path.write_text(damaged, encoding="utf-8")
    with incremental.load_state(tmp_path) as damaged_state:  # one line damaged: that leaflet rebuilds, the others keep their records
        assert damaged_state.get("src/b.md") is None and damaged_state["src/ąę\tzażółć.md"]["title"] == "Line\nbreak\tand tab"


def test_the_build_state_is_written_anew_when_mostly_out_of_date_or_not_whole(tmp_path):
    path = tmp_path / incremental.STATE_NAME
    with incremental.BuildState() as state:
        state["src/a.md"] = {"n": 0}
        state.save(path)
        for n in range(1, 200):
            state["src/a.md"] = {"n": n}
            state.save(path)
        assert len(path.read_text(encoding="utf-8").splitlines()) < 70  # not 200: written anew on the way
    with incremental.load_state(tmp_path) as state:
        assert dict(state) == {"src/a.md": {"n": 199}}
    path.write_bytes(path.read_bytes() + b'"src/b.md"\t{"n":')  # a build killed halfway through a line
    with incremental.load_state(tmp_path) as state:
        assert state.get("src/b.md") is None and state["src/a.md"] == {"n": 199}
        state["src/c.md"] = {"n": 1}
        state.save(path)  # not after the broken line
    assert path.read_text(encoding="utf-8").splitlines() == ['{"version": 3}', '"src/a.md"\t{"n":199}', '"src/b.md"\t{"n":', '"src/c.md"\t{"n":1}']


def test_a_build_state_of_version_2_is_read_and_written_anew(tmp_path):
    path = tmp_path / incremental.STATE_NAME
    path.write_text('{"version": 2}\n"src/a.md"\t{"n":1}\n', encoding="utf-8")
    with incremental.load_state(tmp_path) as state:
        assert dict(state) == {"src/a.md": {"n": 1}}
        state["src/b.md"] = {"n": 2}
        state.save(path)
    assert path.read_text(encoding="utf-8").splitlines() == ['{"version": 3}', '"src/a.md"\t{"n":1}', '"src/b.md"\t{"n":2}']


def test_an_earlier_versions_build_state_is_replaced(library):
    (library.out / incremental.STATE_NAME).rename(library.out / incremental.OLD_STATE_NAME)
    assert library.build() == every()  # its records are not trusted: everything builds once
    assert not (library.out / incremental.OLD_STATE_NAME).exists() and library.build() == set()


def test_half_written_files_are_removed_after_the_build_that_left_them_or_the_next(library):
    """A worker killed mid-leaflet leaves a .tmp file in that leaflet's folder; a killed build may
    leave them anywhere (its marker says so to the next build)."""
    (library.out / "alpha" / ".alpha.docx.x1.tmp").write_text("half")
    library.a.write_text(library.a.read_text().replace("Some text.", "New text."), encoding="utf-8")
    assert library.build() == every(["alpha"])
    assert not (library.out / "alpha" / ".alpha.docx.x1.tmp").exists()
    assert not (library.out / build_module.UNFINISHED_NAME).exists()
    (library.out / "beta" / ".beta.docx.x2.tmp").write_text("half")
    (library.out / build_module.UNFINISHED_NAME).touch()  # as a build killed with kill -9 leaves it
    assert library.build() == set()
    assert not list(library.out.rglob(".*.tmp"))


def test_the_index_page_copied_in_part_is_the_page_laid_out_whole(library):
    """A build copies the rows of the leaflets it left as they were from the page on disk: the
    page is byte for byte the one laid out whole, whether one leaflet changed, a version was added,
    a leaflet removed, or many changed (the page then put together row by row)."""
    from leafpress.library.index import index_html

    page = library.out / "index.html"

    def laid_out_whole() -> str:
        entries = json.loads((library.out / "manifest.json").read_text(encoding="utf-8"))["leaflets"]
        stamp = page.read_text(encoding="utf-8").split('<meta name="leafpress-index" content="', 1)[1].split('"', 1)[0]
        return index_html(entries, library.out, library.settings(), TODAY, stamp)

    for number in range(40):
        write_leaflet(library.src, f"leaflet-{number:02d}.md", body=f"## About\n\nText {number}.\n", front=FRONT.format(title=f"Leaflet <{number}>"))
    library.build(formats=["docx"])
    assert page.read_text(encoding="utf-8") == laid_out_whole()
    steps = [
        lambda: write_leaflet(library.src, "leaflet-03.md", front=FRONT.format(title="Leaflet <3>, edited")),
        lambda: write_leaflet(library.src, "leaflet-07.pl.md", front=FRONT.format(title="Ulotka 7")),
        lambda: (library.src / "leaflet-12.md").unlink(),
        lambda: [path.write_text(path.read_text().replace("Leaflet <", "Leaflet <<"), encoding="utf-8")
                 for path in sorted(library.src.glob("leaflet-*.md"))[3:]],
    ]
    for step in steps:
        before = page.read_bytes()
        step()
        library.build(formats=["docx"])
        assert page.read_bytes() != before
        assert page.read_text(encoding="utf-8") == laid_out_whole()


def test_a_source_edited_within_a_tick_of_its_file_systems_clock_is_read_again(library, monkeypatch):
    """git's "racy clean": on a file system whose times tick once a second, a source edited in
    place to the same size within the tick it was read in has the same stat as when it was read.
    A stat is trusted only when taken well after the file last changed: a source read just after
    it changed is read again by the next build."""
    real_stat = incremental.source_stat

    def one_second_times(found) -> list[int]:
        size, mtime_ns, ctime_ns, inode = real_stat(found)
        return [size, mtime_ns // 10**9 * 10**9, ctime_ns // 10**9 * 10**9, inode]

    monkeypatch.setattr(incremental, "source_stat", one_second_times)
    library.b.write_text(library.b.read_text().replace("Other text.", "Other text, edited."), encoding="utf-8")
    assert library.build() == every(["beta"])
    library.b.write_text(library.b.read_text().replace("Other text, edited.", "Other text, EDITED."), encoding="utf-8")  # the same size
    assert library.build() == every(["beta"])


def test_a_settled_sources_stat_spares_reading_it(library, monkeypatch):
    read: list[str] = []
    checksum = incremental.checksum
    monkeypatch.setattr(incremental, "checksum", lambda raw: read.append(raw) or checksum(raw))
    monkeypatch.setattr(incremental, "SETTLE_NS", 0)  # the sources were written long ago
    library.a.write_text(library.a.read_text().replace("Some text.", "New text."), encoding="utf-8")
    assert library.build() == every(["alpha"])  # both read: neither had a stat recorded
    assert len(read) == 2
    read.clear()
    assert library.build() == set()
    assert read == []
    library.a.write_bytes(library.a.read_bytes())  # the same bytes again: its stat moved, so it is read
    assert library.build() == set()
    assert len(read) == 1


def test_sources_are_found_as_sorted_rglob_finds_them(tmp_path, monkeypatch):
    """find_sources lists a folder with os.scandir, not Path.rglob: the same files, in the same order."""
    src = tmp_path / "src"
    for name in ("a-b/x.md", "a/c/y.md", "a/z.md", ".hidden/h.md", "A.md", "b.MD", ".md", "dir.md/in.md", "../other/o.md"):
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).touch()
    (src / "link.md").symlink_to(tmp_path / "other" / "o.md")
    (src / "linked-folder").symlink_to(tmp_path / "other")
    (src / "broken.md").symlink_to(tmp_path / "missing.md")
    monkeypatch.chdir(tmp_path)
    by_rglob = list(dict.fromkeys(p.resolve() for p in sorted(p for p in Path("src").rglob("*.md") if p.is_file())))
    assert build_module.find_sources([Path("src")]) == [p.relative_to(tmp_path) for p in by_rglob]
    assert build_module.find_sources([src]) == build_module.find_sources([Path("src")])


def test_a_source_named_wrong_fails_alone_and_the_build_still_ends(library):
    """The build looks for half-written files in the folder of each leaflet it built: a source
    whose file name gives no folder failed, and is passed over (it stopped the build there, so the
    index page was not written)."""
    write_leaflet(library.src, "Bad Name.md")
    library.b.write_text(library.b.read_text().replace("Other text.", "Changed text."), encoding="utf-8")
    assert library.build() == every(["beta"])
    assert [result.source.name for result in library.report.failed] == ["Bad Name.md"]
    assert not (library.out / build_module.UNFINISHED_NAME).exists()
    assert (library.out / "index.html").stat().st_mtime_ns >= (library.out / "manifest.json").stat().st_mtime_ns
