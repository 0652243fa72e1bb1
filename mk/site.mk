# The course website (tools/site/, tests/test_site.py).
#   make site        build/site/ from the executed lessons in build/lessons/ (`make run` = full mode,
#                    `make test` = smoke mode); lessons never executed, or executed from older code,
#                    are run first in smoke mode. Open build/site/index.html.
#   make site-deps   the builder (Sphinx + MyST-NB + sphinx-book-theme, tools/site/requirements.txt) into .venv,
#                    and from npm into build/node-site (git-ignored), pinned here as the hub's proxy is (mk/hub.mk):
#                    MathJax (the site renders maths with a copy of it in its own _static: no off-site request)
#                    and axe-core (the site test's accessibility check).
# `make test` runs the site's browser test after the lessons; it needs site-deps.

SITE_STAMP := $(VENV)/.site-deps-installed
MATHJAX_VERSION := 3.2.2
AXE_VERSION := 4.14.1
SITE_NODE := build/node-site
SITE_NODE_STAMP := $(SITE_NODE)/.site-node-mathjax-$(MATHJAX_VERSION)-axe-$(AXE_VERSION)

.PHONY: site site-deps

$(SITE_STAMP): tools/site/requirements.txt $(TEST_STAMP)
	$(PY) -m pip install --quiet -r tools/site/requirements.txt
	touch $(SITE_STAMP)

# Its own prefix, not build/node: an npm install without a package.json removes what an earlier one put there.
$(SITE_NODE_STAMP):
	@command -v npm >/dev/null || { echo "npm is not installed: install Node.js 20+ (apt-get install nodejs npm), then make site-deps"; exit 1; }
	rm -f $(SITE_NODE)/.site-node-*
	npm install --prefix $(SITE_NODE) --no-save --no-audit --no-fund mathjax@$(MATHJAX_VERSION) axe-core@$(AXE_VERSION)
	touch $@

site-deps: $(SITE_STAMP) $(SITE_NODE_STAMP)

site: $(SITE_STAMP) $(SITE_NODE_STAMP)
	TQDM_DISABLE=1 $(PY) tools/site/build.py --run-missing

test: site-deps
