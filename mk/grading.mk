# The nbgrader round trip (grading/README.md). Each target is one command; plain `nbgrader ...`
# run from the course folder uses the same configuration (its nbgrader_config.py).
# The course folder: COURSE_GRADING_DIR (a private copy made by `make instructor-init DEST=...`), else
# the example course in grading/.
COURSE_GRADING_DIR ?= grading
GRADING := $(PY) -m course_utils.grading --course $(COURSE_GRADING_DIR)
# Submissions graded at a time by `make autograde` (JOBS=N); unset: the grader's default, twice the cores, at
# most 16 (course_utils.grading.autograde.default_jobs says why).
JOBS ?=

.PHONY: policy release collect autograde regrade regrade-args feedback grades report instructor-init

instructor-init: $(GRADING_STAMP)
	@test -n "$(DEST)" || { echo "make instructor-init DEST=/path/outside/the/repository"; exit 2; }
	$(PY) -m course_utils.grading init "$(DEST)"

# course.yaml (due dates, late rules, extensions; grading/README.md, "A term") checked and shown as it applies.
policy: $(GRADING_STAMP)
	$(GRADING) policy

release: $(GRADING_STAMP)
	$(GRADING) release

# nbgrader collect --update of every assignment, recording when the exchange received each submission
# (course_utils/grading/receipts.py): the only time late penalties are computed from.
collect: $(GRADING_STAMP)
	$(GRADING) collect

autograde: $(GRADING_STAMP)
	$(GRADING) autograde $(if $(JOBS),--jobs $(JOBS))

# make regrade STUDENT=alice ASSIGNMENT=03_evaluation: grade that one submission again, as `make autograde` would
# (the command line's `autograde --student=ID --assignment=NAME`; exit code 3 if it is "not graded"). A student id is
# a submission folder's name, chosen by the student: make must never expand it. A variable given on make's command
# line is expanded again when make exports it (an id "x$(shell …)" would run on the instructor's machine), so the
# two are not exported; their raw text ($(value ...)) reaches the shell single-quoted, then the command through the
# environment ("$$STUDENT") and as --student=ID: an id with a quote, a space, a "$" or a leading "-" stays one id.
# regrade-args comes first: a missing variable is said before anything is installed.
STUDENT ?=
ASSIGNMENT ?=
unexport STUDENT ASSIGNMENT
shell_quoted = '$(subst ','\'',$(value $(1)))'
REGRADE_IDS = STUDENT=$(call shell_quoted,STUDENT) ASSIGNMENT=$(call shell_quoted,ASSIGNMENT)
regrade: regrade-args $(GRADING_STAMP)
	@$(REGRADE_IDS); export STUDENT ASSIGNMENT; $(GRADING) autograde --student="$$STUDENT" --assignment="$$ASSIGNMENT"

regrade-args:
	@$(REGRADE_IDS); [ -n "$$STUDENT" ] && [ -n "$$ASSIGNMENT" ] || { echo "make regrade needs STUDENT=<student id> and ASSIGNMENT=<assignment>, e.g. make regrade STUDENT=alice ASSIGNMENT=03_evaluation"; exit 2; }
	@$(REGRADE_IDS); [ -e "$(COURSE_GRADING_DIR)/submitted/$$STUDENT/$$ASSIGNMENT" ] || [ -L "$(COURSE_GRADING_DIR)/submitted/$$STUDENT/$$ASSIGNMENT" ] || { echo "make regrade: no submission $(COURSE_GRADING_DIR)/submitted/$$STUDENT/$$ASSIGNMENT (collect it first)"; exit 2; }

feedback: $(GRADING_STAMP)
	$(GRADING) feedback

# ROSTER=roster.csv maps nbgrader ids to Canvas ids for grades-canvas.csv (grading/README.md).
ROSTER ?=
grades: $(GRADING_STAMP)
	$(GRADING) grades $(if $(ROSTER),--roster $(ROSTER))

report: $(GRADING_STAMP)
	$(GRADING) report
