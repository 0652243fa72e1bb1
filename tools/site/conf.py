"""Sphinx configuration of the course website; tools/site/build.py runs one build per language.

build.py passes the language and the repository with -D (language=en|ko, html_context.*).
Outputs come from the executed lessons (build/lessons/): MyST-NB never executes here.
"""
import os

project = "Fine-tuning with the Trainer API"
author = ""  # no "By ..." footer (it reads badly in Korean)
extensions = ["myst_nb"]
nb_execution_mode = "off"  # the lessons were executed by `make test` (nbval) or `make run`
nb_merge_streams = True
# $...$ and $$...$$ in the lessons' markdown, as Jupyter shows them; amsmath: \begin{align} and the like.
myst_enable_extensions = ["colon_fence", "dollarmath", "amsmath"]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
# Widget outputs have no saved state, so they cannot render; build.py drops them and
# puts the static quiz in place of the quiz widget.
# Shell escapes (`!python -m ...`) are not Python: Pygments retries them in relaxed mode, which is fine.
suppress_warnings = ["mystnb.unknown_mime_type", "misc.highlighting_failure"]

html_theme = "sphinx_book_theme"
# Maths: MathJax from the site's own _static (build.py copies it from build/node-site, `make site-deps`),
# never from a CDN: the site must work offline (tests/test_site.py blocks every off-site request).
# Sphinx adds the script only to pages that have maths.
if not os.environ.get("COURSE_SITE_MATHJAX"):
    raise RuntimeError("COURSE_SITE_MATHJAX is not set: build the site with tools/site/build.py (`make site`).")
mathjax_path = "mathjax/tex-chtml.js"  # relative to _static
html_static_path = ["static", os.environ["COURSE_SITE_MATHJAX"]]
html_css_files = ["site.css", "quiz.css"]
html_js_files = ["quiz.js"]
html_favicon = "static/favicon.svg"  # else Chromium asks for /favicon.ico and logs a 404
# pydata-sphinx-theme logs a console error on a first visit unless a default mode is set.
html_context = {"default_mode": "auto"}
html_title = os.environ.get("COURSE_SITE_TITLE", project)
html_copy_source = False  # no _sources/ copies: the "Download notebook" button gives the lesson itself
html_show_sourcelink = False
html_theme_options = {
    "repository_url": os.environ.get("COURSE_SITE_REPOSITORY", ""),
    "use_repository_button": bool(os.environ.get("COURSE_SITE_REPOSITORY")),
    "use_download_button": False,  # our own per page: the source lesson, not this build's copy
    "use_fullscreen_button": False,
    "home_page_in_toc": True,
    "show_toc_level": 2,
}

# Accessibility fixes (axe-core in tests/test_site.py): templates/ holds our versions of theme components
# (same file names, found before the theme's).
templates_path = ["templates"]


def _row_headers(app, doctree, docname):
    """A table whose top-left header cell is empty labels its rows with its first column: make that column's
    cells row headers (<th class="stub">; build.py adds scope="row"), so that each data cell has headers
    (axe: td-has-header)."""
    from docutils import nodes

    for table in doctree.findall(nodes.table):
        for tgroup in table.findall(nodes.tgroup):
            colspecs = [c for c in tgroup.children if isinstance(c, nodes.colspec)]
            thead = next(iter(tgroup.findall(nodes.thead)), None)
            if not colspecs or thead is None or len(colspecs) < 2:
                continue
            first_row = next(iter(thead.findall(nodes.row)), None)
            if first_row is not None and first_row.children and not first_row.children[0].astext().strip():
                colspecs[0]["stub"] = 1


def setup(app):
    app.connect("doctree-resolved", _row_headers)
