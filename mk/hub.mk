# The classroom server (grading/hub/README.md): JupyterHub comes from PyPI with the dev dependencies;
# its proxy, configurable-http-proxy, comes from npm into build/node (git-ignored), pinned here; ngshare, the
# exchange service for servers that share no file system, gets an environment of its own in build/ngshare from
# its lock, requirements/ngshare.txt (requirements/ngshare.in says why it cannot share .venv).
#   make hub-deps    install the proxy (needs node and npm) and ngshare's environment (the test suite needs both)
#   make hub         run the course's JupyterHub on this machine (as root; settings in jupyterhub_config.py)
CHP_VERSION := 5.3.0
HUB_NODE := build/node
CHP_STAMP := $(HUB_NODE)/.configurable-http-proxy-$(CHP_VERSION)
NGSHARE_VENV := build/ngshare
NGSHARE_STAMP := $(NGSHARE_VENV)/.installed

.PHONY: hub-deps hub

hub-deps: $(CHP_STAMP) $(NGSHARE_STAMP)

$(CHP_STAMP):
	@command -v npm >/dev/null || { echo "npm is not installed: install Node.js 20+ (apt-get install nodejs npm), then make hub-deps"; exit 1; }
	npm install --prefix $(HUB_NODE) --no-save --no-audit --no-fund configurable-http-proxy@$(CHP_VERSION)
	touch $@

# With .venv's uv (tools/install.py put it there) told where pip looks, as tools/install.py does; else pip.
NGSHARE_SOURCES = $(shell $(PY) -c 'import shlex, sys; sys.path.insert(0, "tools"); import install; print(shlex.join(install.pip_sources()))')
$(NGSHARE_STAMP): $(LOCK_DIR)/ngshare.txt | $(PY)
	rm -rf $(NGSHARE_VENV)
	$(PY) -m venv $(NGSHARE_VENV)
	if [ -x $(VENV)/bin/uv ]; then \
		$(VENV)/bin/uv pip install --quiet --python $(NGSHARE_VENV)/bin/python $(NGSHARE_SOURCES) -r $(LOCK_DIR)/ngshare.txt; \
	else \
		$(NGSHARE_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r $(LOCK_DIR)/ngshare.txt; \
	fi
	touch $@

test-integration: hub-deps

hub: $(TEST_STAMP) hub-deps
	$(VENV)/bin/jupyterhub -f grading/hub/jupyterhub_config.py
