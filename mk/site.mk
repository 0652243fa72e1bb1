# The course website (tools/site/, tests/test_site.py).
#   make site        build/site/ from the executed lessons in build/lessons/ (`make run` = full mode,
#                    `make test` = smoke mode); lessons never executed, or executed from older code,
#                    are run first in smoke mode. Open build/site/index.html.
#   make site-deps   the builder (Sphinx + MyST-NB + sphinx-book-theme, tools/site/requirements.txt) into .venv
# `make test` runs the site's browser test after the lessons; it needs site-deps.

SITE_STAMP := $(VENV)/.site-deps-installed

.PHONY: site site-deps

$(SITE_STAMP): tools/site/requirements.txt $(TEST_STAMP)
	$(PY) -m pip install --quiet -r tools/site/requirements.txt
	touch $(SITE_STAMP)

site-deps: $(SITE_STAMP)

site: $(SITE_STAMP)
	TQDM_DISABLE=1 $(PY) tools/site/build.py --run-missing

test: site-deps
