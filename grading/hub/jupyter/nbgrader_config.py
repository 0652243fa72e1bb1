"""nbgrader settings every user's server reads (grading/hub/jupyterhub_config.py puts this folder on
JUPYTER_CONFIG_PATH): which exchange, and which course it serves.

Students' "Assignments" tab (fetch, submit, fetch feedback) and the instructor's release_assignment,
collect and release_feedback all go through the exchange named here. The instructor's course folder adds
its own nbgrader_config.py (grading/nbgrader_config.py) on top when commands run from it.

COURSE_EXCHANGE (set by jupyterhub_config.py, or by the Kubernetes values in z2jh/):
  filesystem  nbgrader's own exchange, a folder every server can reach (COURSE_EXCHANGE_ROOT)
  ngshare     ngshare-exchange: every step is an HTTP request to the ngshare service (COURSE_NGSHARE_URL),
              made with the server's own JupyterHub token; no folder is shared
"""
import os

c = get_config()  # noqa: F821  (provided by traitlets when it loads this file)

EXCHANGE = os.environ.get("COURSE_EXCHANGE", "filesystem")
if EXCHANGE == "ngshare":
    # ngshare_exchange names the user after JUPYTERHUB_USER, which every server spawned by the hub has.
    from datetime import timezone
    from pathlib import Path

    from ngshare_exchange import configureExchange
    from ngshare_exchange.collect import ExchangeCollect

    class ReceiptCollect(ExchangeCollect):
        """ngshare-exchange's collect, which also records when ngshare received each collected submission (its
        own clock, kept in its database when the student submitted) as the course's receipt: late penalties count
        from it, and `nbgrader release_feedback` names the submission by it (course_utils/grading/receipts.py).
        ngshare-exchange writes the same time into the collected timestamp.txt, over any the student sent."""

        def _get_submission(self, course_id, assignment_id, student_id):
            submission = super()._get_submission(course_id, assignment_id, student_id)
            if submission is not None:
                from nbgrader.utils import parse_utc

                from course_utils.grading import receipts

                received = parse_utc(submission["timestamp"]).replace(tzinfo=timezone.utc)
                receipts.record(Path(self.coursedir.root), student_id, assignment_id, received,
                                "ngshare's time of receipt (its submission record)")
            return submission

    url = os.environ.get("COURSE_NGSHARE_URL")
    if not url:
        raise ValueError("COURSE_EXCHANGE=ngshare needs COURSE_NGSHARE_URL, e.g. http://HUB/services/ngshare")
    configureExchange(c, url)
    c.ExchangeFactory.collect = ReceiptCollect
elif EXCHANGE == "filesystem":
    # The default exchange: a folder every account can reach (nbgrader sets inbound/ to 0733, so a student
    # can drop a submission but never list or read another's). Create it world-writable (0777, the mode
    # release_assignment sets).
    c.Exchange.root = os.environ.get("COURSE_EXCHANGE_ROOT", "/srv/nbgrader/exchange")
else:
    raise ValueError(f"COURSE_EXCHANGE={EXCHANGE!r}: set it to filesystem or ngshare")
c.CourseDirectory.course_id = "trainer-course"
