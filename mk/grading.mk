# The nbgrader round trip (grading/README.md). Each target is one command; plain `nbgrader ...`
# run from the course folder uses the same configuration (its nbgrader_config.py).
# The course folder: COURSE_GRADING_DIR (a private copy made by `make instructor-init DEST=...`), else
# the example course in grading/.
COURSE_GRADING_DIR ?= grading
GRADING := $(PY) -m course_utils.grading --course $(COURSE_GRADING_DIR)
# Submissions graded at a time by `make autograde`: twice the cores, at most 16. A warm job needs 2-4 s of CPU
# per submission and waits whole cell timeouts on a looping one, so more jobs than cores keep the cores busy
# (benchmarks/README.md: 240 submissions in 8.8 min with 4 jobs on 2 cores). Each job holds a kernel
# template of ~210 MB.
JOBS ?= $(shell n=$$(nproc 2>/dev/null || echo 1); echo $$(( n * 2 > 16 ? 16 : n * 2 )))

.PHONY: release autograde feedback grades report instructor-init

instructor-init: $(GRADING_STAMP)
	@test -n "$(DEST)" || { echo "make instructor-init DEST=/path/outside/the/repository"; exit 2; }
	$(PY) -m course_utils.grading init "$(DEST)"

release: $(GRADING_STAMP)
	$(GRADING) release

autograde: $(GRADING_STAMP)
	$(GRADING) autograde --jobs $(JOBS)

feedback: $(GRADING_STAMP)
	$(GRADING) feedback

# ROSTER=roster.csv maps nbgrader ids to Canvas ids for grades-canvas.csv (grading/README.md).
ROSTER ?=
grades: $(GRADING_STAMP)
	$(GRADING) grades $(if $(ROSTER),--roster $(ROSTER))

report: $(GRADING_STAMP)
	$(GRADING) report
