# cnneff: two commands on a fresh machine (see README.md)
#   make book       set up .venv, execute every notebook (cpu profile) into results/cpu/, build _build/html/
#   make test       set up .venv, then pytest: unit tests + nbval over results/smoke/*.ipynb (what CI runs)
#   make check-cpu  nbval over the book's results/cpu/*.ipynb (the long check: the notebooks' own wall times,
#                   results/cpu/*/metrics.json, add up to about 98 minutes on 2 AMD EPYC cores, 86 on the faster host; see README)
SHELL := /bin/bash
.ONESHELL:
# Recipes are not echoed: each target says what it does in its own words, and the set-up (venv, sysdeps,
# mathjax) speaks only when it has something to do.
.SILENT:
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.cnneff-installed
MATHJAX := _vendor/mathjax/es5/tex-mml-chtml.js
PROFILE ?= cpu

.PHONY: venv sysdeps mathjax notebooks book test check-cpu check-book reproduce rehearsal clean

# Python environment: exact pins from pyproject.toml (torch 2.15.0, never the
# local 2.13 wheel). Reinstalled only when pyproject.toml changes.
venv: $(STAMP) sysdeps
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e . 2>&1 | grep -v "^WARNING: Location" || true
	$(PY) -c "import torch, torchvision, cnneff; assert torch.__version__.startswith('2.15.0'), torch.__version__"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $@

# Debian packages: the Fashion-MNIST data and Chromium (browser test of the book).
sysdeps:
	missing=""
	[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || missing="$$missing dataset-fashion-mnist"
	command -v chromium >/dev/null || missing="$$missing chromium"
	if [ -n "$$missing" ]; then
	  if [ "$$(id -u)" = 0 ]; then
	    echo "installing Debian packages:$$missing"
	    (apt-get install -y -qq $$missing >/dev/null 2>&1) || (apt-get update -qq && apt-get install -y -qq $$missing >/dev/null)
	  else
	    echo "NOTE: missing Debian packages:$$missing. Install them with: sudo apt-get install$$missing" >&2
	    echo "      (notebooks that use Fashion-MNIST and the browser test of the book need them)" >&2
	  fi
	fi

# MathJax 3 from the npm registry, served by the built book (no CDN).
mathjax: $(MATHJAX)
$(MATHJAX):
	bash scripts/vendor_mathjax.sh

# Execute every notebook with papermill into results/$(PROFILE)/, skipping those
# whose source, parameters and library (and, for the scorecard, the metrics it
# reads) are unchanged since their last good run: a fresh clone executes
# nothing. FORCE=1 re-executes everything.
FORCE ?=
RUN_NOTEBOOKS = $(VENV)/bin/cnneff run all --profile $(PROFILE) $(if $(FORCE),,--cached)
notebooks: venv
	$(RUN_NOTEBOOKS)

# Paper-scale run: make reproduce [PROFILE=gpu] DATA_ROOT=/data [NOTEBOOK=name]. It refuses to start, in a
# second and with nothing run, unless DATA_ROOT is an existing folder; then `cnneff run --paper-data` checks,
# before the first notebook starts, every parameter, that each device the profile asks for exists, and that
# every data folder and weight file the selected notebooks name under DATA_ROOT is there (each missing one
# listed with where it comes from).
NOTEBOOK ?= all
REPRODUCE_PROFILE = $(if $(filter command line environment,$(origin PROFILE)),$(PROFILE),gpu)
reproduce:
	test -n "$(DATA_ROOT)" || { echo "cnneff: error: set DATA_ROOT to the folder that holds the papers' data sets, e.g. make reproduce DATA_ROOT=/data (see book/about_the_data.md); nothing was run" >&2; exit 2; }
	test -d "$(DATA_ROOT)" || { echo "cnneff: error: DATA_ROOT=$(DATA_ROOT) is not an existing folder; set it to the folder that holds the papers' data sets (see book/about_the_data.md); nothing was run" >&2; exit 2; }
	$(MAKE) --no-print-directory venv
	DATA_ROOT=$(DATA_ROOT) $(VENV)/bin/cnneff run $(NOTEBOOK) --profile $(REPRODUCE_PROFILE) --paper-data

# The full run rehearsed (CI runs it): the gpu profile's code paths with the sizes shrunk, on the CPU, on
# tiny copies of the papers' data sets in their publishers' layouts (cnneff rehearsal-data), into
# results/rehearsal/; then no claim may still need the full run.  DATA_ROOT=DIR rehearses a tree someone
# else built instead of a fresh one.
rehearsal: venv
	root="$(DATA_ROOT)"
	if [ -z "$$root" ]; then root="$$(mktemp -d)/data"; $(VENV)/bin/cnneff rehearsal-data "$$root" >/dev/null; fi
	echo "rehearsal on $$root"
	DATA_ROOT="$$root" $(VENV)/bin/cnneff run all --profile rehearsal
	$(PY) scripts/check_rehearsal.py

# make book RESULTS=results/cpu+epochs=10-1a2b3c4d builds from a run folder of `cnneff run
# NAME -p KEY VALUE` (its pages, titled with the run's profile, results/cpu/ for the rest) and
# executes nothing.  Pages an earlier build made of another run folder are removed from
# _build/html first (a plain build keeps none), so the browser check never reads a stale run.
RESULTS ?=
book: venv mathjax
	keep=""
	if [ -n "$(RESULTS)" ]; then keep="$$(basename "$(RESULTS)")"; fi
	for stale in _build/html/results/*+* _build/html/_sources/results/*+*; do
	  if [ -e "$$stale" ] && [ "$$(basename "$$stale")" != "$$keep" ]; then
	    echo "book: removing the pages of another run, $$stale"
	    rm -rf "$$stale"
	  fi
	done
	if [ -n "$(RESULTS)" ]; then
	  mkdir -p _build
	  $(PY) scripts/book_toc.py "$(RESULTS)" > _build/_toc.run.yml
	  $(VENV)/bin/jupyter-book build . -W --toc _build/_toc.run.yml
	else
	  $(RUN_NOTEBOOKS)
	  $(VENV)/bin/jupyter-book build . -W
	fi
	echo "book: open _build/html/index.html"

# Open every built page in headless Chromium: fail on raw TeX; screenshots in _build/screenshots/.
check-book: book
	$(PY) scripts/check_book.py

# Unit tests + nbval over the smoke profile's executed notebooks (every code
# path at toy size). nbval re-executes them; CNNEFF_RESULTS_DIR keeps that
# re-execution from overwriting results/. The scorecard tests read results/cpu/.
test: venv mathjax
	rm -rf .pytest_results
	rc=0
	CNNEFF_RESULTS_DIR=$(CURDIR)/.pytest_results $(PY) -m pytest tests --nbval-lax results/smoke -q -ra || rc=$$?
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: that is a failure here" >&2; exit 1; fi
	exit $$rc

# The long check: nbval re-executes the book's own notebooks (cpu profile).
check-cpu: venv mathjax
	rm -rf .pytest_results
	CNNEFF_RESULTS_DIR=$(CURDIR)/.pytest_results $(PY) -m pytest --nbval-lax results/cpu -q -ra -p no:cacheprovider

clean:
	rm -rf _build .pytest_results
