# make demo                       set up .venv, serve the demo site, drive traffic, show the report
# make test                       the whole suite: Django 5.2 and 4.2, asyncio and uvloop, lint
# make demo LOOP=uvloop PORT=8001 DURATION=10 CONCURRENCY=20

PYTHON ?= python3
VENV ?= .venv
VENV_PYTHON := $(VENV)/bin/python

HOST ?= 127.0.0.1
PORT ?= 8000
LOOP ?= asyncio
DURATION ?= 20
CONCURRENCY ?= 20

comma := ,
DEMO_EXTRAS := demo$(if $(filter uvloop,$(LOOP)),$(comma)uvloop)
# One stamp per set of extras: asking for uvloop later installs it on top.
DEMO_STAMP := $(VENV)/.installed-$(subst $(comma),-,$(DEMO_EXTRAS))

.PHONY: demo venv test

demo: $(DEMO_STAMP)
	$(VENV_PYTHON) scripts/demo.py --host $(HOST) --port $(PORT) --loop $(LOOP) \
		--duration $(DURATION) --concurrency $(CONCURRENCY)

venv: $(DEMO_STAMP)

$(VENV_PYTHON):
	$(PYTHON) -m venv $(VENV)

$(DEMO_STAMP): pyproject.toml | $(VENV_PYTHON)
	$(VENV_PYTHON) -m pip install --quiet -e '.[$(DEMO_EXTRAS)]'
	touch $@

# nox builds one virtualenv per Django series under .nox/ and runs the suite in each.
test: | $(VENV_PYTHON)
	$(VENV_PYTHON) -m pip install --quiet 'nox>=2024.4'
	$(VENV_PYTHON) -m nox $(NOXFLAGS)
