"""Shared helpers: run the real command line, write small leaflets, build the fixtures once."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from leafpress.languages.catalogue import catalogue_for
from leafpress.model import Leaflet
from leafpress.settings import LAYOUTS_DIR

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXAMPLE = ROOT / "source" / "poem-achalasia.md"
# Arabic, Bengali, Urdu and Chinese have no braille table a reader has checked yet: their braille fails alone, with this.
NO_BRAILLE_TABLE = "braille: there is no braille table for language"

VALID_FRONT = """\
title: Test leaflet
resource_number: 9999/VER1
last_reviewed: 2025-03
next_review: 2028-03
"""


def run_cli(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run generate.py in a subprocess, as a user would."""
    return subprocess.run(
        [sys.executable, str(ROOT / "generate.py"), *map(str, args)],
        cwd=cwd, capture_output=True, text=True, timeout=600,
    )


def write_leaflet(folder: Path, name: str, body: str = "Some text.\n", front: str = VALID_FRONT) -> Path:
    """A leaflet file with the given front matter (no fences) and Markdown body."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"---\n{textwrap.dedent(front)}---\n{textwrap.dedent(body)}", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> dict:
    """The example and the fixture leaflets built once in every format, through the CLI."""
    out = tmp_path_factory.mktemp("output")
    result = run_cli("build", EXAMPLE, FIXTURES, "--out", out, "--today", "2026-11-24")
    failures = [line for line in result.stderr.splitlines() if ": braille: " in line or "FAILED" in line or "failed" in line]
    assert all(NO_BRAILLE_TABLE in line or "FAILED" in line or "failed" in line for line in failures), result.stderr
    assert result.returncode == (1 if failures else 0), result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    by_stem = {Path(entry["source"]).name.removesuffix(".md"): entry for entry in manifest["leaflets"]}
    by_slug = {slug: entry for slug, entry in by_stem.items() if "." not in slug}  # the originals, not their translations
    return {"out": out, "manifest": manifest, "by_slug": by_slug, "by_stem": by_stem, "result": result}


def output_file(built: dict, stem: str, key: str) -> Path:
    """A file of the built leaflet ``stem``: its slug, or slug.lang for a translation."""
    return built["out"] / built["by_stem"][stem]["outputs"][key]


def stamp(leaflet: Leaflet) -> str:
    """The leaflet's stamp as its outputs print it, in its language."""
    return catalogue_for(leaflet.meta.language, LAYOUTS_DIR).stamp(leaflet.meta)
