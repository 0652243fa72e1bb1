"""pyproject.toml, the lock (requirements/*.txt), environment.yml, Makefile and CI agree with each other."""
from __future__ import annotations

import importlib.util
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

# Which extras each locked set installs (tools/lock.py); what a set must never hold.
SETS = {"lab": ("offline", "lab"), "grading": ("offline", "lab", "grading", "exchange"),
        "test": ("offline", "lab", "grading", "exchange", "dev")}
NOT_FOR_LEARNERS = ("nbgrader", "pytest", "playwright", "nbval", "pytest-timeout", "pytest-xdist")
NOT_FOR_INSTRUCTORS = ("pytest", "playwright", "nbval")
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)(?:\s*;\s*(.*))?$", re.M)


def _pyproject(root):
    return tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _pins(root, name) -> dict[str, list[tuple[str, str]]]:
    """name -> [(version, marker)] of requirements/<name>.txt."""
    pins: dict[str, list[tuple[str, str]]] = {}
    for m in _PIN.finditer((root / "requirements" / f"{name}.txt").read_text(encoding="utf-8")):
        pins.setdefault(canonicalize_name(m.group(1)), []).append((m.group(2), m.group(3) or ""))
    return pins


def _direct(root, extras) -> list[Requirement]:
    project = _pyproject(root)
    found = [Requirement(r) for r in project["dependencies"]]
    for extra in extras:
        found += [Requirement(r) for r in project["optional-dependencies"][extra]]
    return found


@pytest.mark.parametrize("name, extras", SETS.items())
def test_lock_pins_every_direct_dependency_inside_its_range(root, name, extras):
    pins = _pins(root, name)
    problems = []
    for req in _direct(root, extras):
        versions = pins.get(canonicalize_name(req.name))
        if not versions:
            problems.append(f"{req.name} is not in requirements/{name}.txt")
        problems += [f"{req.name}=={v} is outside {req}" for v, _ in versions or []
                     if not req.specifier.contains(v, prereleases=True)]
    assert not problems, "; ".join(problems) + ": run `make lock`"


def test_learner_and_instructor_sets_leave_out_the_tools_they_do_not_use(root):
    lab, grading = _pins(root, "lab"), _pins(root, "grading")
    assert not [p for p in NOT_FOR_LEARNERS if p in lab], "the learner's set must not hold grading or test tools"
    assert not [p for p in NOT_FOR_INSTRUCTORS if p in grading]
    assert "nbgrader" in grading and "jupyterlab" in lab


def _colab_overrides(root) -> dict[str, str]:
    """tools/lock.py's COLAB_OVERRIDES: the Colab pins that differ from the lock on purpose (make test-colab)."""
    spec = importlib.util.spec_from_file_location("course_lock", root / "tools" / "lock.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return {canonicalize_name(k): v for k, (v, _why) in module.COLAB_OVERRIDES.items()}


def test_the_sets_agree_on_every_version_they_share(root):
    test = _pins(root, "test")
    for name in ("lab", "grading", "colab"):
        allowed = _colab_overrides(root) if name == "colab" else {}
        differ = [f"{pkg} {v} vs test.txt {test.get(pkg)}" for pkg, versions in _pins(root, name).items()
                  for v, _ in versions if v not in [tv for tv, _ in test.get(pkg, [])] and allowed.get(pkg) != v]
        assert not differ, f"requirements/{name}.txt differs from test.txt: {differ}"


def test_lock_leaves_torch_cuda_runtime_to_torch(root):
    """A CPU torch needs no nvidia-* wheel; torch pins its CUDA runtime itself (tools/lock.py)."""
    for name in SETS:
        pins = _pins(root, name)
        assert "torch" in pins
        assert not [p for p in pins if p.startswith(("nvidia-", "triton", "cuda-"))], name


def test_colab_pins_keep_colabs_torch_and_numpy(root):
    colab = _pins(root, "colab")
    assert {"transformers", "datasets", "evaluate", "accelerate", "ipywidgets"} <= set(colab)
    assert not {"torch", "numpy", "pandas"} & set(colab)


def test_environment_yml_installs_the_learners_lock(root):
    conda = yaml.safe_load((root / "environment.yml").read_text(encoding="utf-8"))
    pip_section = next(d["pip"] for d in conda["dependencies"] if isinstance(d, dict))
    assert pip_section == ["-r requirements/lab.txt", "-e ."]
    python = next(d for d in conda["dependencies"] if isinstance(d, str) and d.startswith("python"))
    assert python.removeprefix("python") == _pyproject(root)["requires-python"]


def test_torch_is_a_range_so_gpu_users_keep_their_cuda_build(root):
    torch = [d for d in _pyproject(root)["dependencies"] if d.startswith("torch")]
    assert torch and "==" not in torch[0] and "+cpu" not in torch[0]


def test_make_targets_and_ci_entry_point(root):
    makefile = (root / "Makefile").read_text(encoding="utf-8")
    for target in ("lab:", "test:", "run:", "doctor:", "lock:", "test-latest:", "system-packages:"):
        assert f"\n{target}" in makefile, target
    ci = (root / ".ci" / "run").read_text(encoding="utf-8")
    assert "make system-packages" in ci and "\nmake test\n" in ci
    assert "make lab" in (root / "README.md").read_text(encoding="utf-8")


# --- tools/install.py: which torch build ---------------------------------------------------------

@pytest.fixture
def install(root):
    spec = importlib.util.spec_from_file_location("course_install", root / "tools" / "install.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_packages_installed_without_their_requirements_are_the_overridden_ones(install, root):
    """uv installs ngshare-exchange under pyproject.toml's override; pip installs it alone, after the rest."""
    overrides = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["uv"]
    assert [Requirement(r).name for r in overrides["override-dependencies"]] == ["jupyter-core"]
    for name in ("grading", "test"):
        held = install.without_requirements((root / "requirements" / f"{name}.txt").read_text(encoding="utf-8"))
        assert [Requirement(line).name for line in held] == list(install.WITHOUT_REQUIREMENTS), name
    assert install.without_requirements((root / "requirements" / "lab.txt").read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("system, gpu, forced, cpu", [
    ("Linux", False, "", True), ("Linux", True, "", False), ("Darwin", False, "", False),
    ("Windows", False, "", False), ("Linux", True, "cpu", True), ("Linux", False, "default", False)])
def test_cpu_torch_only_on_linux_without_an_nvidia_gpu(install, monkeypatch, system, gpu, forced, cpu):
    monkeypatch.setenv("COURSE_TORCH", forced)
    assert install.wants_cpu_torch(system=system, gpu=gpu) is cpu


def test_unreachable_cpu_index_gives_one_line_that_says_what_happens(install):
    why = install.index_unreachable("http://127.0.0.1:9/whl/cpu", timeout=3)  # port 9: nothing listens
    assert why
    line = install.fallback_line("http://127.0.0.1:9/whl/cpu", why)
    assert "\n" not in line and "pip's usual indexes" in line and "127.0.0.1:9" in line


def test_pip_installs_the_lock_then_the_overridden_packages_alone(install, root, monkeypatch):
    """With pip (no overrides), the grading set resolves without ngshare-exchange, which comes after, alone."""
    calls = []

    class Pip:
        uv = None

        def install(self, *args, own_index=False):
            calls.append((args, Path(args[-1]).read_text(encoding="utf-8") if args[0] == "-r" else None))

    monkeypatch.setattr(install, "Installer", Pip)
    monkeypatch.setattr(install, "wants_cpu_torch", lambda: False)
    monkeypatch.setattr(install, "write_lab_settings", lambda: None)
    install.install("grading")
    (first, rest), (second, _), (third, _) = calls
    lock = (root / "requirements" / "grading.txt").read_text(encoding="utf-8")
    assert first[0] == "-r" and "ngshare-exchange==" not in rest and "nbgrader==" in rest
    assert len(rest.splitlines()) == len(lock.splitlines()) - 1
    assert second == ("--no-deps", *install.without_requirements(lock)) and third[:2] == ("--no-deps", "-e")


def test_install_reads_the_locked_torch(install, root):
    assert install.locked_torch(root / "requirements" / "lab.txt") == _pins(root, "lab")["torch"][0][0]


def test_system_check_names_a_missing_package_in_one_line(root):
    done = subprocess.run([str(root / "tools" / "system_packages.sh"), "check", "no-such-package-here"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "no-such-package-here" in done.stderr
    assert "make system-packages" in done.stderr


# --- make doctor: the lock and the grading sandbox ----------------------------------------------

def test_doctor_finds_what_differs_from_a_lock(tmp_path):
    from importlib.metadata import version

    from course_utils.doctor import lock_differences

    pyyaml = version("pyyaml")
    lock = tmp_path / "lock.txt"
    lock.write_text(f"pyyaml=={pyyaml}\n    # via course-utils\ntqdm==0.0.1\nno-such-dist-here==1.0\n"
                    "pandas==0.0.1 ; sys_platform == 'no-such-platform'\n", encoding="utf-8")
    count, differ = lock_differences(lock)
    assert count == 3  # the pandas pin does not apply on this platform
    assert differ == [f"tqdm {version('tqdm')} (locked 0.0.1)", "no-such-dist-here - (locked 1.0)"]


def test_doctor_reads_the_installed_set_from_the_make_stamp(tmp_path):
    from course_utils.doctor import installed_set

    assert installed_set(tmp_path) == "lab"
    (tmp_path / ".course-grading").touch()
    assert installed_set(tmp_path) == "grading"
    (tmp_path / ".course-test").touch()
    assert installed_set(tmp_path) == "test"


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="bubblewrap is Linux-only")
def test_grading_sandbox_status_says_why_in_one_line(monkeypatch, tmp_path):
    import shutil

    from course_utils.doctor import grading_sandbox_status

    ready, line = grading_sandbox_status()
    assert ready == bool(shutil.which("bwrap")) or "cannot start a sandbox" in line
    assert "\n" not in line
    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap on this PATH
    ready, line = grading_sandbox_status()
    assert not ready and line.startswith("bubblewrap is not installed") and "make system-packages" in line \
        and "apt-get install bubblewrap" in line and "\n" not in line


def test_uv_looks_where_pip_looks(install):
    config = ("global.index-url='https://mirror.example/simple'\n:env:.index-url='https://env.example/simple'\n"
              "global.find-links='/opt/wheels /srv/wheels'\n:env:.find-links='/opt/wheels'\n"
              "global.extra-index-url='file:///opt/pypi/simple'\nglobal.cert='/etc/ssl/x.pem'\n")
    assert install.pip_sources(config) == [
        "--index-url", "https://env.example/simple", "--find-links", "/opt/wheels", "--find-links", "/srv/wheels",
        "--extra-index-url", "file:///opt/pypi/simple", "--index-strategy", "unsafe-best-match"]
    assert install.pip_sources("") == []
