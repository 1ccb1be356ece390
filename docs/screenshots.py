"""The README's pictures of the web page (`make screenshots`), taken by the project's own headless
Chromium, the one the tests run axe-core in (tests/checkers.py): the top of the example's page on
a computer (1280 CSS pixels wide) and on a phone (360)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.checkers import chromium, screenshot  # noqa: E402

PAGES = (  # page, picture, width and height shown (CSS pixels)
    ("output/poem-achalasia/poem-achalasia.html", "docs/images/web-page.png", 1280, 1100),
    ("output/poem-achalasia/poem-achalasia.html", "docs/images/web-page-phone.png", 360, 1300),
)


def main() -> int:
    from PIL import Image  # WeasyPrint's

    missing = [page for page, *_rest in PAGES if not (ROOT / page).is_file()]
    if missing:
        print(f"{missing[0]}: not built; run make first", file=sys.stderr)
        return 1
    with chromium() as driver:
        for page, png, width, height in PAGES:
            path = screenshot(driver, ROOT / page, ROOT / png, width=width)
            with Image.open(path) as whole:
                top = whole.crop((0, 0, whole.width, min(whole.height, height)))
            top.save(path, optimize=True)
            print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
