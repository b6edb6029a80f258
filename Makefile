# netplan: two commands set up everything on a fresh clone.
#   make demo   create .venv, install, run the main job on the bundled samples
#   make test   create .venv, install, run the test suite
#   make lab    install JupyterLab (the [lab] extra) and the netplan kernel, open notebooks/
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LAB_STAMP := $(VENV)/.lab-installed
DEMO_OUT ?= out/demo

.PHONY: demo test test-all lint typecheck bench samples docs lab clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/netplan demo --out $(DEMO_OUT)

test: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

test-all: $(STAMP)
	$(BIN)/python -m pytest -q -m ''

lint: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/ruff check src tests benchmarks scripts notebooks
	$(BIN)/ruff format --check src tests benchmarks scripts

typecheck: $(STAMP)
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_coverage.py --sizes 1e5,1e6
	$(BIN)/python benchmarks/bench_locate.py
	$(BIN)/python benchmarks/bench_maps.py
	$(BIN)/python benchmarks/bench_scale.py

docs: $(STAMP)
	$(BIN)/python scripts/gen_cli_docs.py
	$(BIN)/python scripts/render_notebooks.py
	$(BIN)/python scripts/screenshot_docs.py

$(LAB_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,lab]'
	$(BIN)/python -m ipykernel install --user --name netplan --display-name netplan
	touch $(LAB_STAMP)

lab: $(LAB_STAMP)
	$(BIN)/jupyter lab notebooks/

samples: $(STAMP)
	$(BIN)/python scripts/make_samples.py --out data/samples

clean:
	rm -rf $(VENV) out build *.egg-info src/*.egg-info
