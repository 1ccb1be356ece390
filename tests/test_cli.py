"""The command line, run in a subprocess as a user runs it: exit codes, messages, what gets written."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest

from leafpress.settings import LAYOUTS_DIR

from .conftest import run_cli, write_leaflet

# Reviewed June 2022, next review June 2025 (on line 5 of the file).
GOOD_FRONT = """\
title: Good leaflet
resource_number: 77/VER2
last_reviewed: 2022-06
next_review: 2025-06
"""
GOOD_BODY = "## About this leaflet\n\nSome text with **bold**.\n\n- one\n- two\n"
BAD_BODY = "## About this leaflet\n\nThis is *very* important.\n"  # italics on line 9
ITALICS = "italics are hard to read for people with low vision; use **bold** for emphasis"
OVERDUE = "warning: review overdue since June 2025; review the leaflet and update last_reviewed and next_review"
NO_REVIEW_WARNINGS = "2024-01-01"  # June 2025 is more than 90 days away


def no_traceback(result) -> None:
    assert "Traceback" not in result.stdout
    assert "Traceback" not in result.stderr


def good(folder: Path, name: str = "good.md") -> Path:
    return write_leaflet(folder, name, body=GOOD_BODY, front=GOOD_FRONT).resolve()


def bad(folder: Path, name: str = "bad.md") -> Path:
    return write_leaflet(folder, name, body=BAD_BODY, front=GOOD_FRONT).resolve()


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text(encoding="utf-8"))


# Help and usage errors ---------------------------------------------------------------


def test_help():
    result = run_cli("--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: generate.py")
    for command in ("build", "check", "reviews"):
        assert command in result.stdout


def test_build_help_lists_its_options():
    result = run_cli("build", "--help")
    assert result.returncode == 0, result.stderr
    for option in ("--out DIR", "--formats LIST", "--today YYYY-MM-DD", "--strict-reviews", "--settings SETTINGS"):
        assert option in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["build", "{src}", "--out", "{out}", "--formats", "pdf"], "unknown format 'pdf'; choose from print,large-print,docx,audio"),
        (["build", "{src}", "--out", "{out}", "--formats", "docx,mp3"], "unknown format 'mp3'; choose from print,large-print,docx,audio"),
        (["build", "{missing}", "--out", "{out}"], "{missing}: no such file or folder"),
        (["check", "{missing}"], "{missing}: no such file or folder"),
        (["reviews", "{missing}", "--out", "{out}"], "{missing}: no such file or folder"),
        (["build", "{src}", "--out", "{out}", "--today", "2025-13-01"], "'2025-13-01' is not a date; write YYYY-MM-DD"),
        (["build", "{src}", "--out", "{out}", "--jobs", "-1"], "--jobs must be at least 1"),
        (["build", "{src}", "--out", "{out}", "--jobs", "0"], "--jobs must be at least 1"),
        (["publish", "{src}"], "invalid choice: 'publish'"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_usage_errors_exit_2(tmp_path, args, message):
    src = tmp_path / "src"
    good(src)
    names = {"src": src, "out": tmp_path / "out", "missing": tmp_path / "no-such-folder"}
    result = run_cli(*[arg.format(**names) for arg in args])
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("usage: generate.py")
    assert result.stderr.splitlines()[-1].startswith("generate.py")
    assert ": error: " in result.stderr.splitlines()[-1]
    assert message.format(**names) in result.stderr.splitlines()[-1]
    no_traceback(result)
    assert not (tmp_path / "out").exists()


# check ------------------------------------------------------------------------------


def test_check_valid_folder(tmp_path):
    good(tmp_path / "src")
    good(tmp_path / "src", "other.md")
    result = run_cli("check", tmp_path / "src", "--today", NO_REVIEW_WARNINGS)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Checked 2 leaflets: 0 with errors, 2 valid\n"
    assert result.stderr == ""


def test_check_bad_folder(tmp_path):
    path = bad(tmp_path / "src")
    result = run_cli("check", tmp_path / "src", "--today", NO_REVIEW_WARNINGS)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"{path}:9: {ITALICS}"]
    assert result.stdout == "Checked 1 leaflet: 1 with errors, 0 valid\n"
    no_traceback(result)


def test_check_impossible_date_is_an_error_line_not_a_crash(tmp_path):
    path = write_leaflet(tmp_path / "src", "bad.md", body=GOOD_BODY, front=GOOD_FRONT.replace("2025-06", "2025-02-30")).resolve()
    result = run_cli("check", path, "--today", NO_REVIEW_WARNINGS)
    no_traceback(result)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"{path}:5: 'next_review: 2025-02-30' is not a date; write it as YYYY-MM, YYYY-MM-DD or 'June 2022'"
    ]


def test_check_reports_review_warnings_and_strict_reviews_fails(tmp_path):
    path = good(tmp_path / "src")
    result = run_cli("check", path, "--today", "2026-11-24")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [f"{path}:5: {OVERDUE}"]
    strict = run_cli("check", path, "--today", "2026-11-24", "--strict-reviews")
    assert strict.returncode == 1
    assert strict.stderr.splitlines() == [f"{path}:5: {OVERDUE}", "1 leaflet overdue for review (--strict-reviews)"]


def strict_settings(folder: Path) -> Path:
    """A copy of the shipped settings with reviews.overdue_fails turned on."""
    folder.mkdir()
    shutil.copy(LAYOUTS_DIR / "logo.svg", folder / "logo.svg")
    text = (LAYOUTS_DIR / "settings.yaml").read_text(encoding="utf-8")
    assert text.count("overdue_fails: false") == 1
    (folder / "settings.yaml").write_text(text.replace("overdue_fails: false", "overdue_fails: true"), encoding="utf-8")
    return folder / "settings.yaml"


def test_overdue_fails_setting_works_like_strict_reviews(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    path = good(src)
    settings = strict_settings(tmp_path / "layouts")
    because = "1 leaflet overdue for review (reviews.overdue_fails in the settings)"
    check = run_cli("check", path, "--today", "2026-11-24", "--settings", settings)
    assert check.returncode == 1
    assert check.stderr.splitlines() == [f"{path}:5: {OVERDUE}", because]
    built = run_cli("build", src, "--out", out, "--formats", "docx", "--today", "2026-11-24", "--settings", settings)
    assert built.returncode == 1
    no_traceback(built)
    assert because in built.stderr.splitlines()
    assert zipfile.is_zipfile(out / "good" / "good.docx")  # still built
    assert run_cli("check", path, "--today", NO_REVIEW_WARNINGS, "--settings", settings).returncode == 0


def test_check_with_bad_settings(tmp_path):
    layouts = tmp_path / "layouts"
    layouts.mkdir()
    shutil.copy(LAYOUTS_DIR / "logo.svg", layouts / "logo.svg")
    text = (LAYOUTS_DIR / "settings.yaml").read_text(encoding="utf-8")
    assert text.count('text: "#1A1A1A"') == 1
    (layouts / "settings.yaml").write_text(text.replace('text: "#1A1A1A"', 'text: "#999999"'), encoding="utf-8")
    line = text[: text.index('text: "#1A1A1A"')].count("\n") + 1
    result = run_cli("check", good(tmp_path / "src"), "--settings", layouts / "settings.yaml")
    assert result.returncode == 1
    no_traceback(result)
    assert result.stderr.splitlines()[0] == (
        f"{layouts / 'settings.yaml'}:{line}: colours.text #999999 on colours.background #FFFFFF has contrast 2.85:1, "
        "under the WCAG AA minimum of 4.5:1; choose a darker or lighter colour"
    )


# build ------------------------------------------------------------------------------


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize(
    ("front", "body", "error"),
    [
        (GOOD_FRONT, BAD_BODY, f"9: {ITALICS}"),
        (
            GOOD_FRONT.replace("2025-06", "2025-02-30"),
            GOOD_BODY,
            "5: 'next_review: 2025-02-30' is not a date; write it as YYYY-MM, YYYY-MM-DD or 'June 2022'",
        ),
    ],
    ids=["italics", "impossible-date"],
)
def test_build_one_good_one_bad(tmp_path, jobs, front, body, error):
    src, out = tmp_path / "src", tmp_path / "out"
    # "a-bad" sorts before "good", so a crash on it would also stop the good one.
    bad_path = write_leaflet(src, "a-bad.md", body=body, front=front).resolve()
    good(src)
    result = run_cli("build", src, "--out", out, "--formats", "docx", "--today", NO_REVIEW_WARNINGS, "--jobs", jobs)
    no_traceback(result)
    assert result.returncode == 1
    assert f"{bad_path}:{error}" in result.stderr.splitlines()
    assert zipfile.is_zipfile(out / "good" / "good.docx")
    assert not (out / "a-bad").exists()
    entries = manifest(out)["leaflets"]
    assert [e["slug"] for e in entries] == ["good"]
    assert entries[0]["outputs"]["docx"] == "good/good.docx"
    assert not any(p.suffix == ".tmp" for p in out.rglob("*"))
    assert not [p for p in out.rglob(".*") if p.name != ".build.lock"]


def test_build_only_docx(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    good(src)
    result = run_cli("build", src, "--out", out, "--formats", "docx", "--today", NO_REVIEW_WARNINGS)
    assert result.returncode == 0, result.stderr
    no_traceback(result)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        ".build.lock", "build-state.jsonl", "good", "good/good.docx", "good/good.translation-brief.txt", "good/good.xlf",
        "index.html", "manifest.json",
    ]
    assert zipfile.is_zipfile(out / "good" / "good.docx")
    assert manifest(out) == {
        "leaflets": [
            {
                "slug": "good",
                "source": "../src/good.md",
                "title": "Good leaflet",
                "language": "en-GB",
                "resource_number": "77/VER2",
                "last_reviewed": "2022-06",
                "next_review": "2025-06",
                "review_status": "ok",
                "outputs": {"print": None, "large_print": None, "docx": "good/good.docx", "audio": None, "audio_script": None,
                            "translation_brief": "good/good.translation-brief.txt", "xliff": "good/good.xlf", "braille": None,
                            "epub": None, "html": None},
            }
        ]
    }
    assert result.stdout == f"Built 1 of 1 leaflet (docx) into {out}; manifest: {out / 'manifest.json'}\n"


def test_build_overdue_warns_but_succeeds_and_strict_reviews_fails(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    path = good(src)
    result = run_cli("build", src, "--out", out, "--formats", "print", "--today", "2026-11-24")
    assert result.returncode == 0, result.stderr
    no_traceback(result)
    assert f"{path}:5: {OVERDUE}" in result.stderr.splitlines()
    assert (out / "good" / "good.print.pdf").read_bytes().startswith(b"%PDF-")
    entry = manifest(out)["leaflets"][0]
    assert entry["review_status"] == "overdue"
    assert entry["outputs"]["print"] == "good/good.print.pdf"

    strict_out = tmp_path / "strict"
    strict = run_cli("build", src, "--out", strict_out, "--formats", "docx", "--today", "2026-11-24", "--strict-reviews")
    assert strict.returncode == 1
    no_traceback(strict)
    assert f"{path}:5: {OVERDUE}" in strict.stderr.splitlines()
    assert zipfile.is_zipfile(strict_out / "good" / "good.docx")  # still built


def test_build_due_soon_warns_and_strict_reviews_does_not_fail(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    path = good(src)
    result = run_cli("build", src, "--out", out, "--formats", "docx", "--today", "2025-05-01", "--strict-reviews")
    assert result.returncode == 0, result.stderr
    assert f"{path}:5: warning: review due June 2025; plan the review now" in result.stderr.splitlines()
    assert manifest(out)["leaflets"][0]["review_status"] == "due-soon"


def test_build_no_warning_when_review_is_far_off(tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    good(src)
    result = run_cli("build", src, "--out", out, "--formats", "docx", "--today", NO_REVIEW_WARNINGS)
    assert result.returncode == 0, result.stderr
    assert not any(": warning: " in line for line in result.stderr.splitlines()), result.stderr


def test_build_audio_keeps_stdout_clean(tmp_path):
    """The only audio build in this file: the pyttsx3 driver prints 'Audio saved to …'; the CLI must not."""
    src, out = tmp_path / "src", tmp_path / "out"
    good(src)
    result = run_cli("build", src, "--out", out, "--formats", "audio", "--today", NO_REVIEW_WARNINGS)
    assert result.returncode == 0, result.stderr
    no_traceback(result)
    assert "Audio saved to" not in result.stdout
    assert "Audio saved to" not in result.stderr
    assert result.stdout == f"Built 1 of 1 leaflet (audio) into {out}; manifest: {out / 'manifest.json'}\n"
    assert (out / "good" / "good.mp3").stat().st_size > 1000
    assert "About this leaflet" in (out / "good" / "good.audio.txt").read_text(encoding="utf-8")
    outputs = manifest(out)["leaflets"][0]["outputs"]
    assert outputs == {"print": None, "large_print": None, "docx": None, "audio": "good/good.mp3", "audio_script": "good/good.audio.txt",
                       "translation_brief": None, "xliff": None, "braille": None, "epub": None, "html": None}


# reviews ----------------------------------------------------------------------------


@pytest.mark.parametrize(("today", "status"), [("2026-11-24", "overdue"), ("2025-05-01", "due-soon"), ("2024-01-01", "ok")])
def test_reviews_table(tmp_path, today, status):
    path = good(tmp_path / "src")
    result = run_cli("reviews", tmp_path / "src", "--today", today, "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    no_traceback(result)
    *lines, summary = result.stdout.splitlines()
    header, *rows = lines
    assert summary.endswith(f"; written to {tmp_path / 'out' / 'reviews.csv'}")
    assert header.split() == ["Status", "Next", "review", "Last", "reviewed", "Resource", "Language", "Leaflet"]
    assert len(rows) == 1
    assert rows[0].split() == [status, "June", "2025", "June", "2022", "77/VER2", "en-GB", str(path)]
    assert rows[0].index(str(path)) == header.index("Leaflet")  # the columns line up


def test_reviews_with_a_bad_leaflet(tmp_path):
    good(tmp_path / "src")
    path = bad(tmp_path / "src")
    result = run_cli("reviews", tmp_path / "src", "--today", "2024-01-01", "--out", tmp_path / "out")
    assert result.returncode == 1
    no_traceback(result)
    assert result.stderr.splitlines() == [f"{path}:9: {ITALICS}"]
    assert [line.split()[0] for line in result.stdout.splitlines()[:-1]] == ["Status", "ok"]


def test_default_formats_are_every_renderer_in_build_order():
    from leafpress.cli import FORMAT_NAMES
    from leafpress.renderers import RENDERERS

    assert FORMAT_NAMES.split(",") == list(RENDERERS)
