# The two commands of the README: `make demo` (the main job) and `make test`; `make
# demo-publish` reruns the demo from scratch and pastes its summary into README.md.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: install demo demo-publish test lint bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# CPU build of torch that lies on disk here; an unpinned torch would pull a CUDA build.
	$(PY) -c "import torch" 2>/dev/null || $(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[dev,diffusers]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/gahr demo $(ARGS)

# From scratch into an empty dir, so the pasted run time is the whole demo's.
demo-publish: install
	rm -rf runs/demo-publish
	$(VENV)/bin/gahr demo --out runs/demo-publish --publish . $(ARGS)

test: install
	$(PY) -m pytest $(ARGS)

lint: install
	$(VENV)/bin/ruff check src tests benchmarks

bench: install
	for b in benchmarks/*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) build src/*.egg-info
