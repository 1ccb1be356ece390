"""The print PDF and the large-print PDF: one HTML template, one stylesheet, two sets of options.

WeasyPrint is imported only when a PDF is made, so the command line starts fast.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

from ..errors import RenderError
from ..model import Leaflet
from ..settings import PageOptions, Settings
from ..templates import environment
from .base import ProcessCache, Renderer

PAGE_LABELS = ("Page", "of")
XMP_NAMESPACE = "urn:leafpress:ns:leaflet:1.0#"  # the stamp's fields in the PDF's XMP metadata


def leaflet_html(leaflet: Leaflet, settings: Settings, variant: str) -> tuple[str, str, str]:
    """For one leaflet in one variant (``print`` or ``large-print``): its HTML, the brand
    stylesheet (the same for every leaflet) and the stylesheet of its footer stamp."""
    env = environment(settings.layouts_dir)
    page: PageOptions = settings.large_print if variant == "large-print" else settings.print
    logo = settings.logo_path
    html = env.get_template("leaflet.html.j2").render(
        leaflet=leaflet,
        meta=leaflet.meta,
        organisation=settings.organisation,
        variant=variant,
        logo_url=logo.resolve().as_uri() if logo else "",
    )
    css = env.get_template("leaflet.css.j2").render(
        page=page,
        colours=settings.colours,
        fonts=settings.fonts_dir.resolve().as_uri(),
        page_label=PAGE_LABELS[0],
        of_label=PAGE_LABELS[1],
        large_print=variant == "large-print",
    )
    stamp_css = env.get_template("page-stamp.css.j2").render(stamp=footer_stamp(leaflet.meta.stamp, variant))
    return html, css, stamp_css


def footer_stamp(stamp: str, variant: str) -> str:
    """The stamp broken into lines at its separators, so a date is never split across lines:
    after the resource number in print, after every part in large print."""
    return stamp.replace(" · ", " ·\n", -1 if variant == "large-print" else 1)


def _url_fetcher(allowed: tuple[Path, ...]):
    """A WeasyPrint fetcher that serves files under ``allowed`` folders and nothing else."""
    from weasyprint.urls import URLFetcher

    class LocalFilesOnly(URLFetcher):
        def fetch(self, url, headers=None):
            parsed = urlparse(url)
            if parsed.scheme != "file":
                raise ValueError(f"only local files may be loaded, not {url}")
            path = Path(url2pathname(unquote(parsed.path))).resolve()
            if not any(path.is_relative_to(root) for root in allowed):
                raise ValueError(f"{path} is outside the layouts, fonts and source folders")
            return super().fetch(url, headers)

    return LocalFilesOnly(allowed_protocols=("file",))


def write_pdf(leaflet: Leaflet, settings: Settings, variant: str, target: Path) -> None:
    import weasyprint

    html, css, stamp_css = leaflet_html(leaflet, settings, variant)
    allowed = tuple(p.resolve() for p in (settings.layouts_dir, settings.fonts_dir, leaflet.source.parent))
    fetcher = _url_fetcher(allowed)
    document = weasyprint.HTML(string=html, base_url=str(leaflet.source.parent.resolve()), url_fetcher=fetcher)
    stylesheet, fonts = _stylesheet(css, allowed[:2])
    stamp = weasyprint.CSS(string=stamp_css, url_fetcher=fetcher)
    pdf = document.write_pdf(stylesheets=[stylesheet, stamp], font_config=fonts, pdf_variant="pdf/ua-1")
    add_leaflet_metadata(pdf, leaflet, settings, target)


_STYLESHEETS = ProcessCache()  # (css, layouts and fonts folders) -> (CSS, FontConfiguration)


def _stylesheet(css: str, allowed: tuple[Path, ...]):
    """The parsed stylesheet and the font configuration its @font-face rules loaded, made once
    per process for each stylesheet: a FontConfiguration made for every leaflet is never freed
    (about 0.3 MB each, measured with WeasyPrint 70), which a worker building hundreds of
    leaflets would feel. The PDFs are byte-identical either way."""
    import weasyprint

    def make():
        fonts = weasyprint.text.fonts.FontConfiguration()  # needed for @font-face to load fonts/
        return weasyprint.CSS(string=css, url_fetcher=_url_fetcher(allowed), font_config=fonts), fonts

    return _STYLESHEETS.get((css, allowed), make)


def add_leaflet_metadata(pdf: bytes, leaflet: Leaflet, settings: Settings, target: Path) -> None:
    """Write the PDF with the stamp in its document info and XMP, keeping the file deterministic."""
    import pikepdf

    meta = leaflet.meta
    with pikepdf.open(io.BytesIO(pdf)) as document:
        with document.open_metadata(set_pikepdf_as_editor=False, update_docinfo=False) as xmp:
            xmp["dc:publisher"] = [settings.organisation.name]
            for name, value in (
                ("resourceNumber", meta.resource_number),
                ("lastReviewed", meta.last_reviewed.iso),
                ("nextReview", meta.next_review.iso),
                ("organisation", settings.organisation.name),
            ):
                xmp[f"{{{XMP_NAMESPACE}}}{name}"] = value
        for name, value in (
            ("/ResourceNumber", meta.resource_number),
            ("/LastReviewed", meta.last_reviewed.display),
            ("/NextReview", meta.next_review.display),
        ):
            document.docinfo[name] = value
        try:
            document.save(target, deterministic_id=True)
        except OSError as err:
            raise RenderError(f"could not write {target}: {err}") from err


def _renderer(name: str) -> Renderer:
    key = name.replace("-", "_")

    def render(leaflet: Leaflet, settings: Settings, targets: Mapping[str, Path]) -> None:
        write_pdf(leaflet, settings, name, targets[key])

    return Renderer(name=name, outputs={key: f".{name}.pdf"}, render=render)


PRINT = _renderer("print")
LARGE_PRINT = _renderer("large-print")
