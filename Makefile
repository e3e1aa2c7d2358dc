# Every target bootstraps .venv (Python 3.11+) and installs the project into it when
# the venv is missing or pyproject.toml is newer than the last install.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# Most tests wait on sockets and child processes, and most of the book's build waits on
# the real runs it shows: both run on more processes than a machine has cores.
# TEST_WORKERS=0 runs the tests in one process, DOCS_JOBS=1 reads the pages in one.
TEST_WORKERS ?= 4
DOCS_JOBS    ?= 8
PYTEST := $(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal
SPHINX := $(PY) -m sphinx -W -n --keep-going -q -j $(DOCS_JOBS) -d docs/_build/doctrees
# The html build keeps what it read in docs/_build/doctrees, and the doctest build and
# the next builds read only what has changed since. A build that failed forgets it all:
# Sphinx warns about a page only when it reads it, so the next build would pass.
FORGET_THE_BOOK := { rm -rf docs/_build/doctrees; exit 1; }

# The tests and the book start over a thousand Python processes: each compiles the
# modules it imports unless their bytecode is kept (in __pycache__, which git ignores).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: demo test docs doctest bench clean help

help:
	@echo "make demo          the tour: slow poetry servers and every client model so far"
	@echo "make test          every chapter's tests, then the docs build and its doctests"
	@echo "make test CH=N     chapter N's tests only"
	@echo "make docs          the HTML book in docs/_build/html"
	@echo "make bench         the benchmarks: coro's reactor against asyncio and the frameworks"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

demo: $(STAMP)
	$(PY) -m coro

# CH is a chapter number (5 or 05, or 16b for chapter 16's second part); anything else is
# refused before pytest starts. Only the chapter's folder is collected, and the chapter's
# "Try it" blocks.
test: $(STAMP)
ifdef CH
	@number=$$(expr '$(CH)' : '\([0-9]*\)'); part=$$(expr '$(CH)' : '[0-9]*\([a-z]*\)'); \
	case '$(CH)' in ''|*[!0-9a-z]*|[!0-9]*|*[a-z]*[0-9]*|*[a-z][a-z]*) \
	  echo "make test CH=$(CH): CH must be a chapter number, such as 5 or 16b (see 'python -m coro --list')" >&2; \
	  exit 2;; esac; \
	ch=$$(printf 'ch%02d%s' "$$(expr "$$number" + 0)" "$$part"); \
	if [ ! -d tests/$$ch ]; then \
	  echo "chapter $(CH) has no tests (yet): see 'python -m coro --list'" >&2; exit 5; fi; \
	$(PYTEST) -m $$ch tests/$$ch tests/test_try_it.py
else
	$(PYTEST)
	$(SPHINX) -b html docs docs/_build/html || $(FORGET_THE_BOOK)
	$(SPHINX) -b doctest docs docs/_build/doctest
endif

docs: $(STAMP)
	$(SPHINX) -b html docs docs/_build/html || $(FORGET_THE_BOOK)
	@echo "The book: docs/_build/html/index.html"

BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	@touch $@

bench: $(BENCH_STAMP)
	$(PY) -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf docs/_build .pytest_cache
