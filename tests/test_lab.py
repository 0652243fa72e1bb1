"""`make lab` (tools/lab.py) and the learner's JupyterLab settings (tools/install.py): fast, no browser.

The browser side (no news pop-up in a real JupyterLab and Notebook 7) is in tests/test_browser.py.
"""
from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
NEWS = "@jupyterlab/apputils-extension:notification"


def _tool(name: str):
    spec = importlib.util.spec_from_file_location(f"course_tool_{name}", ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def lab():
    return _tool("lab")


@pytest.fixture
def install():
    return _tool("install")


# --- make lab: the command line -------------------------------------------------------------------

def _make_lab(lab_args: str | None = None, dry_run: bool = True, course_lang: str | None = None, *flags: str):
    """`make lab` in the repository with this environment as VENV; its stamp is not remade (-o), so nothing is
    installed; COURSE_LAB_DRY_RUN makes tools/lab.py print the command instead of starting Jupyter."""
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "COURSE_LANG")}
    if course_lang is not None:
        env["COURSE_LANG"] = course_lang
    if dry_run:
        env["COURSE_LAB_DRY_RUN"] = "1"
    cmd = ["make", "--no-print-directory", "-s", "-o", f"{sys.prefix}/.course-lab", *flags, "lab", f"VENV={sys.prefix}"]
    if lab_args is not None:
        cmd.append(f"LAB_ARGS={lab_args}")
    # Its own process group, killed whole on a timeout: a recipe that starts Jupyter after all must not outlive the test.
    process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise
    return subprocess.CompletedProcess(cmd, process.returncode, stdout, stderr)


def test_make_lab_recipe_passes_lab_args_through():
    done = _make_lab("--allow-root --port=8890", False, None, "-n")
    assert done.returncode == 0, done.stderr
    assert f"{sys.prefix}/bin/python tools/lab.py --allow-root --port=8890" in done.stdout.splitlines()


@pytest.mark.parametrize("course_lang, folder", [(None, "notebooks"), ("", "notebooks"), ("ko", "notebooks/ko"),
                                                 ("ko_KR.UTF-8", "notebooks/ko"), ("en", "notebooks/en"),
                                                 ("fr", "notebooks/en")])
def test_make_lab_opens_the_lessons_in_the_learners_language(course_lang, folder):
    done = _make_lab("--allow-root --port=8890", course_lang=course_lang)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"{sys.prefix}/bin/jupyter lab {folder} --allow-root --port=8890"]
    assert done.stderr == ""  # --allow-root given: no hint, even as root


def test_make_lab_as_root_says_in_one_line_how_to_go_on():
    done = _make_lab()
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"{sys.prefix}/bin/jupyter lab notebooks"]
    if IS_ROOT:
        assert done.stderr.count("\n") == 1, done.stderr
        assert "Jupyter refuses to run as root" in done.stderr and "make lab LAB_ARGS=--allow-root" in done.stderr
    else:  # a plain user: nothing changes
        assert done.stderr == ""


def test_root_hint_only_for_root_without_allow_root(lab):
    assert lab.root_hint([], euid=1000) is None
    assert lab.root_hint(["--port=8890"], euid=1000) is None
    for allowed in (["--allow-root"], ["--ServerApp.allow_root=True"], ["--port=1", "--allow-root"]):
        assert lab.root_hint(allowed, euid=0) is None, allowed
    hint = lab.root_hint([], euid=0)
    assert "\n" not in hint and hint.endswith("make lab LAB_ARGS=--allow-root")
    # Arguments already given are kept in the suggestion, quoted for the shell.
    assert lab.root_hint(["--port=8890"], euid=0).endswith('make lab LAB_ARGS="--port=8890 --allow-root"')
    ko = lab.root_hint([], euid=0, course_lang="ko")
    assert "\n" not in ko and "Jupyter가" in ko and ko.endswith("make lab LAB_ARGS=--allow-root")


def test_lesson_folders_exist(lab):
    for lang in ("en", "ko"):
        assert lab.lesson_dir(lang) == ROOT / "notebooks" / lang and any(lab.lesson_dir(lang).glob("01_*.ipynb"))


# --- the JupyterLab settings the install step writes -------------------------------------------

def test_the_news_setting_is_in_the_installed_jupyterlab_schema(install):
    """The key and value exist in this JupyterLab: a renamed setting would silently stop working."""
    schema_file = Path(sys.prefix) / "share" / "jupyter" / "lab" / "schemas" / "@jupyterlab" / "apputils-extension"
    schema = json.loads((schema_file / "notification.json").read_text(encoding="utf-8"))
    for key, value in install.LAB_OVERRIDES[NEWS].items():
        assert value in [option["const"] for option in schema["properties"][key]["oneOf"]]
    assert install.LAB_OVERRIDES[NEWS] == {"fetchNews": "false"}


def test_install_writes_the_overrides_into_the_environment(install, monkeypatch, tmp_path):
    calls = []

    class FakeInstaller:
        uv = None  # pip's path, as on a machine without uv (tools/install.py reads it)

        def install(self, *args, own_index=False):
            calls.append(args)

    prefix = tmp_path / "venv"
    monkeypatch.setattr(install, "Installer", FakeInstaller)
    monkeypatch.setattr(install, "wants_cpu_torch", lambda: False)
    monkeypatch.setattr(sys, "prefix", str(prefix))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    install.install("lab")
    assert calls, "nothing was installed"
    overrides = prefix / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    assert json.loads(overrides.read_text(encoding="utf-8")) == {NEWS: {"fetchNews": "false"}}
    assert not (tmp_path / "home").exists()  # nothing in the user's home


def test_overrides_are_merged_not_replaced(install, tmp_path):
    path = install.lab_overrides_path(tmp_path)
    path.parent.mkdir(parents=True)
    theirs = {"@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"},
              NEWS: {"doNotDisturbMode": True}}
    path.write_text(json.dumps(theirs), encoding="utf-8")
    assert install.write_lab_settings(tmp_path) == path
    assert json.loads(path.read_text(encoding="utf-8")) == {
        "@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"},
        NEWS: {"doNotDisturbMode": True, "fetchNews": "false"}}
    # A choice the file already makes is kept; a second run changes nothing.
    path.write_text(json.dumps({NEWS: {"fetchNews": "true"}}), encoding="utf-8")
    before = path.stat().st_mtime_ns
    assert install.write_lab_settings(tmp_path) == path
    assert json.loads(path.read_text(encoding="utf-8")) == {NEWS: {"fetchNews": "true"}}
    assert path.stat().st_mtime_ns == before


def test_a_broken_overrides_file_is_left_alone_with_one_line(install, tmp_path, capsys):
    path = install.lab_overrides_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text("{not json", encoding="utf-8")
    assert install.write_lab_settings(tmp_path) is None
    assert path.read_text(encoding="utf-8") == "{not json"
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and str(path) in out


def test_install_lab_settings_command(tmp_path):
    """`tools/install.py lab-settings`, as tools/lab.py runs it for an environment installed before."""
    python = tmp_path / "venv" / "bin" / "python"
    code = ("import runpy, sys; sys.prefix = sys.argv[1]; sys.argv = ['install.py', 'lab-settings']; "
            f"runpy.run_path({str(ROOT / 'tools' / 'install.py')!r}, run_name='__main__')")
    done = subprocess.run([sys.executable, "-c", code, str(python.parents[1])], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    overrides = python.parents[1] / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    assert json.loads(overrides.read_text(encoding="utf-8"))[NEWS]["fetchNews"] == "false"
