"""The quiz bank travels inside the package: in the wheel (Colab installs from git) and in an editable install.

Builds run on a copy of the sources in tmp_path (no build/ or egg-info in the
working tree), without build isolation, so no network is needed.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile

import pytest

pytestmark = pytest.mark.timeout(300)


def _copy_sources(root, dest):
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(root / name, dest / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(root / "course_utils", dest / "course_utils", ignore=ignore)
    shutil.copytree(root / "quizzes", dest / "quizzes", ignore=ignore)
    return dest


def _pip(*args, cwd):
    return subprocess.run([sys.executable, "-m", "pip", *args, "--no-deps", "--no-build-isolation", "-q"],
                          cwd=cwd, capture_output=True, text=True, timeout=240)


def test_every_course_utils_subpackage_is_listed(root):
    """pyproject lists packages (the bank needs package-dir); a new subpackage must be added there."""
    setuptools = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    listed = set(setuptools["packages"])
    found = {".".join(p.parent.relative_to(root).parts) for p in (root / "course_utils").rglob("__init__.py")}
    assert found <= listed, f"add {sorted(found - listed)} to [tool.setuptools] packages in pyproject.toml"
    assert setuptools["package-dir"]["course_utils.quizzes"] == "quizzes"


def test_wheel_contains_the_bank(root, tmp_path):
    src = _copy_sources(root, tmp_path / "src")
    done = _pip("wheel", "-w", str(tmp_path / "whl"), ".", cwd=src)
    assert done.returncode == 0, done.stderr[-2000:]
    wheel = next((tmp_path / "whl").glob("course_utils-*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        for f in [*sorted((root / "quizzes").glob("*.yaml")), root / "quizzes" / "README.md"]:
            inside = f"course_utils/quizzes/{f.name}"
            assert inside in names, inside
            assert zf.read(inside) == f.read_bytes()
        assert "course_utils/quiz/widgets.py" in names
        assert not [n for n in names if n.startswith("quizzes/")]  # no stray top-level folder
        # Issue 9: the exam's keys stay with the instructor.
        assert not [n for n in names if "exam_bank" in n or "07_chapter_quiz" in n]
        packaged = b"".join(zf.read(n) for n in names if n.endswith((".yaml", ".py", ".md")))
        assert b"exam.zero_grad" not in packaged and b"exam.padding_added" not in packaged

    # Installed from the wheel (as on Colab), the package finds its own copy.
    target = tmp_path / "site"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--ignore-installed", "-q",
                           "--target", str(target), str(wheel)],
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    probe = ("import sys; sys.path.insert(0, sys.argv[1]); from course_utils.quiz import bank; "
             "print(bank.default_bank_dir()); print(len(bank.load_bank().questions))")
    out = subprocess.run([sys.executable, "-c", probe, str(target)], capture_output=True, text=True, timeout=120,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    where, count = out.stdout.split()
    assert where == str(target / "course_utils" / "quizzes") and int(count) >= 24


def test_editable_install_finds_the_bank(root, tmp_path):
    src = _copy_sources(root, tmp_path / "src")
    prefix = tmp_path / "prefix"
    # --ignore-installed: never uninstall the project's own editable install from the running environment.
    done = _pip("install", "--ignore-installed", "--prefix", str(prefix), "-e", ".", cwd=src)
    assert done.returncode == 0, done.stderr[-2000:]
    still = subprocess.run([sys.executable, "-c", "import course_utils, sys; print(course_utils.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path)
    assert still.returncode == 0, "the test uninstalled the environment's course_utils: pip install -e . again"
    site = next(prefix.glob("lib/python*/site-packages"))
    # This editable install first, then the project's environment for the dependencies.
    probe = (
        "import site, sys; site.addsitedir(sys.argv[1]); site.addsitedir(sys.argv[2]); "
        "from course_utils.quiz import bank; "
        "print(bank.__file__); print(bank.default_bank_dir()); print(len(bank.load_bank().questions))"
    )
    venv_site = next(p for p in sys.path if p.endswith("site-packages"))
    out = subprocess.run([sys.executable, "-I", "-S", "-c", probe, str(site), venv_site],
                         capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    module, bank_dir, count = out.stdout.split()
    assert module == str(src / "course_utils" / "quiz" / "bank.py")
    assert bank_dir == str(src / "quizzes")  # the one source, read in place (no stale copy to drift)
    assert int(count) >= 24
