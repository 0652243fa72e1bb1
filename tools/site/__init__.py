"""The course website (`make site`): built with Sphinx + MyST-NB from the lessons already executed.

- ``runinfo``: what a page says about the run that produced its outputs (mode, machine, date).
- ``nbval_capture``: a pytest plugin; `make test` loads it so nbval's own run of each lesson
  is saved into build/lessons/ (no second execution for the site).
- ``quiz_html``: a lesson's practice quiz as static HTML + JavaScript, from the quiz bank.
- ``build``: executed lessons -> Sphinx sources -> build/site/.
"""
