"""One error type for every mistake a learner or instructor can fix.

In a notebook, ``course_utils.setup()`` installs a handler so a CourseError
shows as one line (what is wrong and how to fix it), not a traceback wall.
"""


class CourseError(Exception):
    """Bad input or a missing resource; the message says what and how to fix it."""


def install_notebook_handler() -> None:
    """Show CourseError as a single line in IPython (all lessons)."""
    try:
        from IPython import get_ipython
    except ImportError:  # plain Python: the normal traceback is fine
        return
    shell = get_ipython()
    if shell is None:
        return

    def _one_line(shell, etype, value, tb, tb_offset=None):
        # Still an error for the front end, nbval and nbgrader; only shorter.
        shell._showtraceback(etype, value, [f"CourseError: {value}"])

    shell.set_custom_exc((CourseError,), _one_line)
