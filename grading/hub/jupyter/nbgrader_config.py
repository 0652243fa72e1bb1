"""nbgrader settings every user's server reads (grading/hub/jupyterhub_config.py puts this folder on
JUPYTER_CONFIG_PATH): where the exchange is and which course it serves.

Students' "Assignments" tab (fetch, submit, fetch feedback) and the instructor's release_assignment,
collect and release_feedback all go through this folder. The instructor's course folder adds its own
nbgrader_config.py (grading/nbgrader_config.py) on top when commands run from it.
"""
import os

c = get_config()  # noqa: F821  (provided by traitlets when it loads this file)

# The default exchange: a folder every account can reach (nbgrader sets inbound/ to 0733, so a student
# can drop a submission but never list or read another's). Create it world-writable (0777, the mode
# release_assignment sets).
c.Exchange.root = os.environ.get("COURSE_EXCHANGE_ROOT", "/srv/nbgrader/exchange")
c.CourseDirectory.course_id = "trainer-course"
