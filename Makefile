# classfreq — two commands from a fresh machine to a report: `make setup` then `make demo`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
SHARED ?= ../shared/data
OUT ?= out
WAREHOUSE ?= warehouse/classfreq.duckdb
APT_PACKAGES := openjdk-17-jre-headless wordnet-base wordnet-sense-index chromium chromium-driver
export PYSPARK_PYTHON := $(abspath $(PY))
export PYSPARK_DRIVER_PYTHON := $(abspath $(PY))

.PHONY: setup system-packages venv demo lint test test-fast synsets relevance benchmark clean

setup: system-packages venv

# Java (Spark), WordNet 3.0 (regenerating label sets) and Chromium (the report's browser test).
system-packages:
	@missing=""; \
	command -v java >/dev/null || missing="$$missing openjdk-17-jre-headless"; \
	[ -f /usr/share/wordnet/data.noun ] || missing="$$missing wordnet-base"; \
	[ -f /usr/share/wordnet/index.sense ] || missing="$$missing wordnet-sense-index"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null || missing="$$missing chromium-driver"; \
	if [ -z "$$missing" ]; then echo "system packages: all present"; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else \
	  echo "Missing system packages:$$missing. Run this as root, then 'make setup' again:"; \
	  echo "  sudo apt-get update && sudo apt-get install -y$$missing"; exit 1; \
	fi

venv:
	[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[models,dev]'
	@$(PY) -c "import classfreq, pyspark, duckdb; print('classfreq installed; pyspark', pyspark.__version__, '| duckdb', duckdb.__version__)"

synsets:
	$(VENV)/bin/classfreq synsets build --shared $(SHARED)

# the relevance judge's shipped data: WordNet sense tables per label set, then the fitted combiner
relevance:
	$(VENV)/bin/classfreq relevance senses
	$(VENV)/bin/classfreq relevance train --labels $(SHARED)/relevance/imagenet1k_dev_labels.jsonl

demo:
	$(VENV)/bin/classfreq demo --shared $(SHARED) --out $(OUT) --warehouse $(WAREHOUSE)

lint:
	$(VENV)/bin/ruff check .

test:
	$(PY) -m pytest -q tests --shared=$(abspath $(SHARED))

test-fast:
	$(PY) -m pytest -q -m "not slow" tests --shared=$(abspath $(SHARED))

benchmark:
	$(PY) benchmarks/bench_counting.py --shared $(SHARED)
	$(PY) benchmarks/bench_models.py --tiny

clean:
	rm -rf $(OUT) warehouse spark-warehouse .pytest_cache
