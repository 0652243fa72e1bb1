# The classroom server (grading/hub/README.md): JupyterHub comes from PyPI with the dev dependencies;
# its proxy, configurable-http-proxy, comes from npm into build/node (git-ignored), pinned here.
#   make hub-deps    install the proxy (needs node and npm; the test suite needs it)
#   make hub         run the course's JupyterHub on this machine (as root; settings in jupyterhub_config.py)
CHP_VERSION := 5.3.0
HUB_NODE := build/node
CHP_STAMP := $(HUB_NODE)/.configurable-http-proxy-$(CHP_VERSION)

.PHONY: hub-deps hub

hub-deps: $(CHP_STAMP)

$(CHP_STAMP):
	@command -v npm >/dev/null || { echo "npm is not installed: install Node.js 20+ (apt-get install nodejs npm), then make hub-deps"; exit 1; }
	npm install --prefix $(HUB_NODE) --no-save --no-audit --no-fund configurable-http-proxy@$(CHP_VERSION)
	touch $@

test: hub-deps

hub: $(TEST_STAMP) hub-deps
	$(VENV)/bin/jupyterhub -f grading/hub/jupyterhub_config.py
