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
myst_enable_extensions = ["colon_fence"]
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
# Widget outputs have no saved state, so they cannot render; build.py drops them and
# puts the static quiz in place of the quiz widget.
# Shell escapes (`!python -m ...`) are not Python: Pygments retries them in relaxed mode, which is fine.
suppress_warnings = ["mystnb.unknown_mime_type", "misc.highlighting_failure"]

html_theme = "sphinx_book_theme"
html_static_path = ["static"]
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
