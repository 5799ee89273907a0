# Two commands set everything up on a fresh machine:
#   make quickstart   the main job on the bundled data
#   make test         the test suite
# Both create (or reuse) the virtualenv in $(VENV) and install what they need.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
# cpu (default) or a CUDA tag such as cu112: selects mxnet vs mxnet-cu112 (never both)
GPU    ?= cpu
STAMP  := $(VENV)/.gluonpose-installed

.PHONY: install quickstart test bench docs clean

$(STAMP): setup.py Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip setuptools wheel
	GLUONPOSE_MXNET=$(GPU) $(PIP) install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

quickstart: $(STAMP)
	$(PY) scripts/quickstart.py

# two workers, one test file each at a time (module fixtures such as the docs build stay whole);
# the slowest tests are listed so a CI log shows where the time goes
test: $(STAMP)
	$(PY) -m pytest -q -n 2 --dist loadfile --durations=15 tests

bench: $(STAMP)
	$(PY) bench/run_all.py

# the HTML site in docs/_build/html; executes every tutorial in docs/tutorials (-W: warnings fail)
docs: $(STAMP)
	$(PY) -m sphinx -b html -W --keep-going docs docs/_build/html

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
