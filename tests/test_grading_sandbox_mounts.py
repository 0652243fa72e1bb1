"""What a grading kernel can read of the grading host's own files (grading/README.md, "Isolation").

bwrap's user "nobody" is the grader's own uid outside the sandbox, so in every folder the sandbox mounts the
owner's rights apply: an nbgrader exchange kept there (nbgrader's default /usr/local/share/nbgrader, or
COURSE_EXCHANGE_ROOT) would show every classmate's submission. Found by the grading attack of 2026-12-05.
The sandboxed probe runs in the real bubblewrap sandbox.
"""
from __future__ import annotations

import json
import shutil
import sys
import uuid
from pathlib import Path

import pytest

from course_utils.grading import sandbox

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the grading sandbox needs Linux")

PROBE = r"""
import json, os, sys
root = sys.argv[1]
try:
    seen = sorted(os.listdir(os.path.join(root, "course", "inbound")))
except OSError as error:
    seen = f"{type(error).__name__}"
print(json.dumps(seen))
"""


@pytest.fixture
def exchange_in_a_mounted_folder():
    """An exchange with one submission inside the venv (a folder the sandbox mounts read-only), grader-only."""
    assert shutil.which("bwrap"), "bubblewrap is not installed: apt-get install bubblewrap (see grading/README.md)"
    root = Path(sys.prefix).resolve() / "share" / f"exchange-probe-{uuid.uuid4().hex[:8]}"
    inbound = root / "course" / "inbound" / "alice+01_preprocessing+2026-12-05 10:00:00.000000 UTC"
    inbound.mkdir(parents=True)
    (inbound / "01_preprocessing.ipynb").write_text("alice's answers")
    for folder in (root, root / "course", root / "course" / "inbound"):
        folder.chmod(0o700)
    try:
        yield root
    finally:
        shutil.rmtree(root)


def _seen_from_the_sandbox(root: Path, tmp_path: Path):
    done = sandbox.run_sandboxed(Path("/grading/work"), [str(Path(sys.prefix) / "bin" / "python"), "-I", "-c", PROBE,
                                                         str(root)], timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_an_exchange_inside_a_mounted_folder_is_hidden_from_kernels(exchange_in_a_mounted_folder, tmp_path,
                                                                     monkeypatch):
    root = exchange_in_a_mounted_folder
    monkeypatch.delenv("COURSE_EXCHANGE_ROOT", raising=False)
    monkeypatch.delenv(sandbox.CONFIGURED_EXCHANGE, raising=False)
    unhidden = _seen_from_the_sandbox(root, tmp_path)
    # Without the cover the grader-only folder is readable from inside (what the attack found): the probe works.
    assert unhidden == ["alice+01_preprocessing+2026-12-05 10:00:00.000000 UTC"], unhidden
    monkeypatch.setenv("COURSE_EXCHANGE_ROOT", str(root))
    assert _seen_from_the_sandbox(root, tmp_path) in ("FileNotFoundError", []), "a kernel saw the exchange"


def test_the_exchange_the_courses_nbgrader_configuration_names_is_hidden_too(exchange_in_a_mounted_folder, tmp_path,
                                                                           monkeypatch):
    """c.Exchange.root in the course's nbgrader_config.py: `make autograde` reads it as nbgrader does and passes it
    to every sandbox it starts (sandbox.CONFIGURED_EXCHANGE)."""
    root = exchange_in_a_mounted_folder
    monkeypatch.delenv("COURSE_EXCHANGE_ROOT", raising=False)
    monkeypatch.delenv(sandbox.CONFIGURED_EXCHANGE, raising=False)
    (tmp_path / "nbgrader_config.py").write_text(f"c = get_config()\nc.Exchange.root = {str(root)!r}\n")
    assert sandbox.exchange_root(tmp_path) == str(root)
    monkeypatch.setenv(sandbox.CONFIGURED_EXCHANGE, sandbox.exchange_root(tmp_path))  # what autograde does
    assert _seen_from_the_sandbox(root, tmp_path) in ("FileNotFoundError", []), "a kernel saw the exchange"


def test_nbgraders_default_exchange_is_among_the_covered_folders(monkeypatch, tmp_path):
    monkeypatch.setattr(sandbox, "DEFAULT_EXCHANGE", tmp_path)  # stands for /usr/local/share/nbgrader
    monkeypatch.setattr(sandbox, "_readonly_roots", lambda: [tmp_path])
    monkeypatch.delenv("COURSE_EXCHANGE_ROOT", raising=False)
    monkeypatch.delenv(sandbox.CONFIGURED_EXCHANGE, raising=False)
    assert sandbox._hidden_exchanges() == [tmp_path.resolve()]
    command = sandbox.bwrap_command(Path("/grading/work"), None, ["true"])
    covered = str(tmp_path.resolve())
    mounts = [command[i - 1:i + 1] for i, part in enumerate(command) if part == covered]
    assert mounts[0] == ["--ro-bind", covered], mounts  # the folder the sandbox mounts...
    assert ["--tmpfs", covered] in mounts[1:] and mounts[-1] == ["--remount-ro", covered], mounts  # ...then covered
