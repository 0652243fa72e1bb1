"""Which language a lesson is in, without a line of code that differs.

Korean and English lessons share identical code cells, so a lesson cannot
pass ``lang="ko"``. Its language is read from where the notebook lives
(``notebooks/ko/``) or, on Colab, from the notebook's own metadata.
"""
from __future__ import annotations

import os
from pathlib import Path


def _notebook_path() -> str | None:
    # JupyterLab / Notebook 7 set JPY_SESSION_NAME; VS Code sets __vsc_ipynb_file__.
    if os.environ.get("JPY_SESSION_NAME"):
        return os.environ["JPY_SESSION_NAME"]
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is not None and shell.user_ns.get("__vsc_ipynb_file__"):
            return shell.user_ns["__vsc_ipynb_file__"]
    except ImportError:
        pass
    return None


def _colab_notebook_language() -> str | None:
    try:  # Colab's own front-end channel; absent everywhere else.
        from google.colab import _message  # type: ignore

        notebook = _message.blocking_request("get_ipynb", timeout_sec=5)["ipynb"]
        return notebook.get("metadata", {}).get("course", {}).get("language")
    except Exception:
        return None


def lesson_language() -> str | None:
    """'ko' for a lesson under notebooks/ko/, 'en' under notebooks/en/, else None."""
    path = _notebook_path()
    candidates = [Path(path).parent.name] if path else []
    candidates.append(Path.cwd().name)  # nbval, nbclient and nbgrader run in the notebook's folder
    for name in candidates:
        if name in ("en", "ko"):
            return name
    return _colab_notebook_language()
