# Two entry points (see README): `make demo` and `make test`. Each creates and fills its own venvs.
PYTHON ?= python3
VENV := .venv
# Older openai releases the suite also runs against: the oldest we support and the last 2.x.
# The newest release is whatever pip resolves in $(VENV).
OPENAI_PINNED := 1.66.0 2.54.0
# Older ollama releases: the oldest we support (0.4.0, the first with typed responses).
OLLAMA_PINNED := 0.4.0
PIP_QUIET := --quiet --disable-pip-version-check

.PHONY: demo test lint test-newest test-pinned test-wheel test-e2e test-clients bench bench-peers clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install $(PIP_QUIET) --upgrade pip
	$(VENV)/bin/pip install $(PIP_QUIET) -e '.[openai,ollama,test]'
	touch $@

.venv-openai-%/.installed: pyproject.toml
	$(PYTHON) -m venv .venv-openai-$*
	.venv-openai-$*/bin/pip install $(PIP_QUIET) --upgrade pip
	.venv-openai-$*/bin/pip install $(PIP_QUIET) -e '.[test]' 'openai==$*'
	touch $@

.venv-ollama-%/.installed: pyproject.toml
	$(PYTHON) -m venv .venv-ollama-$*
	.venv-ollama-$*/bin/pip install $(PIP_QUIET) --upgrade pip
	.venv-ollama-$*/bin/pip install $(PIP_QUIET) -e '.[openai,test]' 'ollama==$*'
	touch $@

demo: $(VENV)/.installed
	$(VENV)/bin/python examples/demo.py

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check src tests bench examples
	$(VENV)/bin/ruff format --check src tests bench examples

# pytest exits 5 when it collected nothing: a run that proves nothing is a failure here.
define run_pytest
	$(1)/bin/python -c "from importlib.metadata import version as v; from importlib.util import find_spec as f; \
	print('$(1):', ', '.join(p + ' ' + v(p) for p in ('openai', 'ollama') if f(p)))"
	$(1)/bin/python -m pytest $(2); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests in $(1)"; exit 1; fi; exit $$status
endef

test-newest: $(VENV)/.installed
	$(call run_pytest,$(VENV),)

test-openai-%: .venv-openai-%/.installed
	$(call run_pytest,.venv-openai-$*,-m "not slow")

test-ollama-%: .venv-ollama-%/.installed
	$(call run_pytest,.venv-ollama-$*,-m "not slow")

test-pinned: $(addprefix test-openai-,$(OPENAI_PINNED)) $(addprefix test-ollama-,$(OLLAMA_PINNED))

# The release artifacts as a user gets them (tests/wheel): `python -m build` (sdist, then the wheel from it),
# `twine check`, then the wheel installed into a fresh venv and used from a temporary directory outside the
# checkout: the demo, opentelemetry-instrument, the import of every module, mypy --strict on a user script.
test-wheel: $(VENV)/.installed
	$(call run_pytest,$(VENV),-m wheel tests/wheel)

# The deployment (docker-compose.otel.yml, deploy/) proven on real components: rotel, Arize Phoenix,
# Prometheus, promtool, docker-compose. The tests install what they need (apt-get as root, venvs under
# .e2e/) and start everything on 127.0.0.1; plain `pytest` leaves them out (docs/deployment.md).
test-e2e: $(VENV)/.installed
	$(call run_pytest,$(VENV),-m e2e tests/e2e)

# The OpenAI and Ollama clients' own test suites (from their sdists, at the versions pip resolves), run
# without and then with genai-otel instrumenting them: no test may go from passing to failing
# (tests/client_suites/run.py). In a venv of its own, with what those suites need.
.venv-clients/.installed: pyproject.toml tests/client_suites/requirements.txt
	$(PYTHON) -m venv .venv-clients
	.venv-clients/bin/pip install $(PIP_QUIET) --upgrade pip
	.venv-clients/bin/pip install $(PIP_QUIET) -e '.[openai,ollama]' -r tests/client_suites/requirements.txt
	touch $@

test-clients: .venv-clients/.installed
	.venv-clients/bin/python tests/client_suites/run.py

test: lint test-newest test-pinned test-wheel test-e2e test-clients

bench: $(VENV)/.installed
	$(VENV)/bin/python bench/bench_overhead.py --write docs/performance.md

# The peers (bench/peers-requirements.txt) in a venv of their own; the official successor package in a
# second one, because it needs an opentelemetry-util-genai that the older official package cannot import.
.venv-peers/.installed: pyproject.toml bench/peers-requirements.txt
	$(PYTHON) -m venv .venv-peers
	.venv-peers/bin/pip install $(PIP_QUIET) --upgrade pip
	.venv-peers/bin/pip install $(PIP_QUIET) -e '.[openai,ollama,demo]' -r bench/peers-requirements.txt
	touch $@

.venv-peers-successor/.installed: pyproject.toml bench/peers-successor-requirements.txt
	$(PYTHON) -m venv .venv-peers-successor
	.venv-peers-successor/bin/pip install $(PIP_QUIET) --upgrade pip
	.venv-peers-successor/bin/pip install $(PIP_QUIET) -e '.[openai,ollama,demo]' -r bench/peers-successor-requirements.txt
	touch $@

bench-peers: .venv-peers/.installed .venv-peers-successor/.installed
	.venv-peers/bin/python bench/bench_peers.py --successor-python .venv-peers-successor/bin/python \
		--write docs/performance.md

clean:
	rm -rf $(VENV) .venv-openai-* .venv-ollama-* .venv-peers* .venv-clients build/client-suites .e2e .pytest_cache .ruff_cache .mypy_cache
