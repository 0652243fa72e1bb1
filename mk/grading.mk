# The nbgrader round trip (grading/README.md). Each target is one command; plain `nbgrader ...`
# run from grading/ uses the same configuration (grading/nbgrader_config.py).
GRADING := $(PY) -m course_utils.grading --course grading
# Submissions graded at a time by `make autograde` (e.g. make autograde JOBS=4 on an 8-core machine).
JOBS ?= 1

.PHONY: release autograde feedback grades report

release: $(STAMP)
	$(GRADING) release

autograde: $(STAMP)
	$(GRADING) autograde --jobs $(JOBS)

feedback: $(STAMP)
	$(GRADING) feedback

grades: $(STAMP)
	$(GRADING) grades

report: $(STAMP)
	$(GRADING) report
