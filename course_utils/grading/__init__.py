"""The instructor's side of the course: nbgrader round trip, sandboxed grading kernel, outside checks.

Modules (grading/README.md explains the design):

* ``cli``: ``python -m course_utils.grading {init,policy,release,collect,autograde,feedback,grades,report}``;
* ``course``: the nbgrader course folder, release, the gradebook;
* ``autograde``: the batch runner (staging, one nbgrader process per submission, outcomes);
* ``feedback``, ``report`` and ``canvas``: pages for students; grades, item and distractor analysis,
  and the Canvas gradebook file for instructors;
* ``policy``, ``receipts``, ``lateness`` and ``history``: the term (grading/README.md, "A term"): course.yaml's due
  dates and late rules (pure maths), the exchange's receipts (``make collect``), the penalties in nbgrader's
  gradebook, earlier feedback pages and score changes kept;
* ``sandbox`` and ``kernel``: the bubblewrap launcher and the hardened kernel it starts;
* ``checks``, ``export`` and ``judge``: hidden checks split in two — what runs in the student's
  kernel (exports plain values) and what judges them in a separate clean process;
* ``preprocessors``: the nbgrader preprocessors that put it together.

A learner's ``import course_utils`` never imports this package.
"""
