# The course website (tools/site/, tests/test_site.py).
#   make site        build/site/ from the executed lessons: for each lesson the full-mode run in
#                    build/lessons-full/ where it holds the lesson's current code (`make site-full`, `make run`),
#                    else the smoke-mode one in build/lessons/ (`make test`, `COURSE_SMOKE=1 make run`), whose page
#                    then says in a banner that its numbers come from a smoke run, and why. Lessons with neither
#                    are run first in smoke mode. Open build/site/index.html.
#   make site-full   every lesson in full mode (COURSE_SMOKE unset, whatever the shell says) on real GLUE MRPC
#                    (COURSE_DATA_DIR, or the Hub where it is reachable; it refuses the built-in paraphrase set)
#                    into build/lessons-full/ (kept: each notebook's metadata `course_run` gives machine, date,
#                    versions and wall time), then `make site` from them. About 50 min per language on an idle
#                    2-core CPU with all-MiniLM-L6-v2 (the lessons' "How long it takes" lines). A lesson that
#                    fails keeps its smoke page and makes the target fail after the site is built.
#                    FULL_LESSONS=notebooks/en runs one language (or some lessons); make lessons-full runs
#                    them without building the site (the publish workflow's weekly job).
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

LESSONS_FULL := build/lessons-full
FULL_LESSONS ?= notebooks/en notebooks/ko

.PHONY: site site-deps site-full lessons-full

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

# COURSE_SMOKE unset whatever the shell or the command line says; exit status 2: no real MRPC here (nothing ran).
RUN_LESSONS_FULL = env -u COURSE_SMOKE TQDM_DISABLE=1 $(PY) tools/run_lessons.py --require-mrpc \
	--runner "make site-full" --out $(LESSONS_FULL) $(FULL_LESSONS)

lessons-full: $(STAMP)
	$(RUN_LESSONS_FULL)

# The site is built even when a lesson failed (its page falls back to its smoke run and says so); the target
# still fails then.
site-full: $(STAMP) $(SITE_STAMP) $(SITE_NODE_STAMP)
	@status=0; $(RUN_LESSONS_FULL) || status=$$?; \
	if [ $$status = 2 ]; then exit 2; fi; \
	TQDM_DISABLE=1 $(PY) tools/site/build.py --run-missing --full $(LESSONS_FULL) && exit $$status

test: site-deps
