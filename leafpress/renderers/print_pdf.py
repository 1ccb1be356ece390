"""The print PDF and the large-print PDF: one HTML template, one stylesheet, two sets of options.

WeasyPrint is imported only when a PDF is made, so the command line starts fast.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

from ..errors import RenderError
from ..languages.catalogue import STAMP_SEPARATOR, catalogue_for
from ..languages.fonts import FontFile, FontPlan, face_bytes
from ..languages.tags import language_info
from ..model import Leaflet
from ..settings import PageOptions, Settings
from ..templates import css_string, environment, isolate_ltr
from .base import ProcessCache, Renderer
from .typefaces import printable_fonts

XMP_NAMESPACE = "urn:leafpress:ns:leaflet:1.0#"  # the stamp's fields in the PDF's XMP metadata


@dataclass(frozen=True)
class LeafletPage:
    """What WeasyPrint is given for one leaflet in one variant."""

    html: str
    css: str  # the brand stylesheet, with the @font-face rules of the leaflet's fonts
    stamp_css: str  # the footer stamp of this leaflet
    fonts: FontPlan
    web_qr: str = ""  # the QR code of the leaflet's web address, a data: URL, when web.base_url is set


def leaflet_html(leaflet: Leaflet, settings: Settings, variant: str) -> LeafletPage:
    """For one leaflet in one variant (``print`` or ``large-print``): its HTML, the stylesheet
    (the same for every leaflet of the same fonts) and the stylesheet of its footer stamp.
    Raises InputError for a character none of the leaflet's fonts has."""
    fonts = printable_fonts(leaflet, settings)
    env = environment(settings.layouts_dir)
    page: PageOptions = settings.large_print if variant == "large-print" else settings.print
    labels = catalogue_for(leaflet.meta.language, settings.layouts_dir)
    info = language_info(leaflet.meta.language)
    logo = settings.logo_path
    web_address = settings.web.page_url(leaflet.slug, leaflet.stem) if settings.web.base_url else ""
    web_qr = qr_code(web_address, settings) if web_address else ""
    html = env.get_template("leaflet.html.j2").render(
        leaflet=leaflet,
        meta=leaflet.meta,
        organisation=settings.organisation,
        variant=variant,
        web=False,
        logo_url=logo.resolve().as_uri() if logo else "",
        text=labels.text,
        stamp=labels.stamp_parts(leaflet.meta),
        web_address=web_address,
        web_qr=web_qr,
        direction=info.direction,
        rtl=info.rtl,
    )
    stamp = footer_stamp(tuple(isolate_ltr(part, info.rtl) for part in labels.stamp_parts(leaflet.meta, unbreakable=True)), variant)
    page_label = labels.template("print.page")
    css = env.get_template("leaflet.css.j2").render(
        page=page,
        colours=settings.colours,
        faces=[{"family": face.family, "weight": weight, "url": file.url}
               for face in fonts.faces for weight, file in zip((400, 700), face.files, strict=True)],
        families=", ".join(f'"{family}"' for family in fonts.families),
        line_height=max(page.line_height, fonts.line_height),
        footer_line_height=max(1.25, fonts.line_height),
        page_number=page_number_content(page_label),
        rtl=info.rtl,
        large_print=variant == "large-print",
    )
    stamp_css = env.get_template("page-stamp.css.j2").render(stamp=stamp, side="right" if info.rtl else "left")
    return LeafletPage(html, css, stamp_css, fonts, web_qr)


def qr_code(address: str, settings: Settings) -> str:
    """A QR code of ``address`` as an SVG ``data:`` URL (drawn as vectors, sharp at any size), dark on the page's
    background with the four-module quiet zone scanners need; error correction M survives a smudge or a fold."""
    import segno

    return segno.make(address, error="m", micro=False).svg_data_uri(dark=settings.colours.text, light=settings.colours.background, border=4)


def footer_stamp(parts: tuple[str, ...], variant: str) -> str:
    """The stamp broken into lines at its separators, so a date is never split across lines:
    after the resource number in print, after every part in large print."""
    separator = STAMP_SEPARATOR.rstrip()
    first, *rest = parts
    if variant == "large-print":
        return f"{separator}\n".join(parts)
    return f"{first}{separator}\n" + STAMP_SEPARATOR.join(rest)


def page_number_content(label: str) -> str:
    """A CSS ``content`` value for a label such as "Page {page} of {pages}", in the label's word order."""
    import string

    parts = []
    for literal, name, _, _ in string.Formatter().parse(label):
        if literal:
            parts.append(css_string(literal))
        if name in ("page", "pages"):
            parts.append(f"counter({name})")
    return " ".join(parts)


def url_fetcher(allowed: tuple[Path, ...], fonts: tuple[FontFile, ...] = (), made: tuple[str, ...] = ()):
    """A WeasyPrint fetcher that serves files under ``allowed`` folders, the leaflet's font files
    (a face of a collection as a font file of its own), the ``data:`` URLs the layout itself
    ``made`` (the web address's QR code), and nothing else."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    collection_faces = {file.url: file for file in fonts if file.is_collection_face}
    roots = allowed + tuple(file.path for file in fonts)

    class LocalFilesOnly(URLFetcher):
        def fetch(self, url, headers=None):
            if url in collection_faces:
                return URLFetcherResponse(url, _COLLECTION_FACES.get(url, lambda: face_bytes(collection_faces[url])))
            if url in made:
                return super().fetch(url, headers)
            parsed = urlparse(url)
            if parsed.scheme != "file":
                raise ValueError(f"only local files may be loaded, not {url}")
            path = Path(url2pathname(unquote(parsed.path))).resolve()
            if not any(path == root or path.is_relative_to(root) for root in roots):
                raise ValueError(f"{path} is outside the layouts, fonts and source folders")
            return super().fetch(url, headers)

    return LocalFilesOnly(allowed_protocols=("file", "data"))


_COLLECTION_FACES = ProcessCache(limit=4)  # url -> one face of a font collection, as bytes (extracting one takes 0.3 s)


def write_pdf(leaflet: Leaflet, settings: Settings, variant: str, target: Path) -> None:
    import weasyprint

    from .actual_text import install

    install()
    page = leaflet_html(leaflet, settings, variant)
    allowed = tuple(p.resolve() for p in (settings.layouts_dir, settings.fonts_dir, leaflet.source.parent))
    fetcher = url_fetcher(allowed, made=(page.web_qr,) if page.web_qr else ())
    document = weasyprint.HTML(string=page.html, base_url=str(leaflet.source.parent.resolve()), url_fetcher=fetcher)
    stylesheet, fonts = _stylesheet(page.css, allowed[:2], page.fonts.files)
    stamp = weasyprint.CSS(string=page.stamp_css, url_fetcher=fetcher)
    pdf = document.write_pdf(stylesheets=[stylesheet, stamp], font_config=fonts, pdf_variant="pdf/ua-1")
    add_leaflet_metadata(pdf, leaflet, settings, target)


_STYLESHEETS = ProcessCache(limit=16)  # (css, folders, font files) -> (CSS, FontConfiguration)


def _stylesheet(css: str, allowed: tuple[Path, ...], fonts: tuple[FontFile, ...]):
    """The parsed stylesheet and the font configuration its @font-face rules loaded, made once
    per process for each stylesheet (one per variant and set of fonts): a FontConfiguration made
    for every leaflet is never freed (about 0.3 MB each, measured with WeasyPrint 70), which a
    worker building hundreds of leaflets would feel. The PDFs are byte-identical either way."""
    import weasyprint

    def make():
        config = weasyprint.text.fonts.FontConfiguration()  # needed for @font-face to load the fonts
        return weasyprint.CSS(string=css, url_fetcher=url_fetcher(allowed, fonts), font_config=config), config

    return _STYLESHEETS.get((css, allowed, fonts), make)


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
