# The nbgrader round trip (grading/README.md). Each target is one command; plain `nbgrader ...`
# run from grading/ uses the same configuration (grading/nbgrader_config.py).
GRADING := $(PY) -m course_utils.grading --course grading

.PHONY: release autograde feedback grades report

release: $(STAMP)
	$(GRADING) release

autograde: $(STAMP)
	$(GRADING) autograde

feedback: $(STAMP)
	$(GRADING) feedback

grades: $(STAMP)
	$(GRADING) grades

report: $(STAMP)
	$(GRADING) report
