"""PNG thumbnails of every page of a leaflet's PDFs, and its braille as Unicode braille cells, so
sighted staff can look a leaflet over.

Uses poppler's pdftoppm (installed by make), at a low resolution by default.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from .errors import RenderError
from .library.build import output_paths
from .model import Leaflet

PDF_FORMATS = ("print", "large-print")


def render_previews(leaflet: Leaflet, out_dir: Path, dpi: int = 50) -> list[Path]:
    """Write ``<out>/<slug>/preview/<stem>.<format>-<page>.png`` for each built PDF, and
    ``<stem>.braille.txt`` (the BRF file as Unicode braille, pages apart) if braille was built."""
    from .renderers.braille import unicode_braille

    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        raise RenderError("pdftoppm is not installed; run make (it installs poppler-utils)")
    pdfs = [p for p in output_paths(leaflet, out_dir, PDF_FORMATS).values() if p.is_file()]
    brf = output_paths(leaflet, out_dir, ["braille"])["braille"]
    if not pdfs and not brf.is_file():
        raise RenderError(f"no PDFs or braille built yet in {out_dir / leaflet.slug}; run generate.py build first")
    folder = out_dir / leaflet.slug / "preview"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    if brf.is_file():
        text = brf.read_bytes().decode("ascii").replace("\r\n", "\n")
        pages = [unicode_braille(page) for page in text.split("\f") if page]
        preview = folder / f"{leaflet.stem}.braille.txt"
        preview.write_text("\n".join(f"{page}{'─' * 40} braille page {number}\n" for number, page in enumerate(pages, start=1)), encoding="utf-8")
        written.append(preview)
    for pdf in pdfs:
        prefix = folder / pdf.name.removesuffix(".pdf")
        for old in folder.glob(f"{prefix.name}-*.png"):
            old.unlink()
        subprocess.run([pdftoppm, "-png", "-r", str(dpi), str(pdf), str(prefix)], check=True, capture_output=True)
    return sorted(folder.glob("*.png")) + written
