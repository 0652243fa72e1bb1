"""pyproject.toml, environment.yml, Makefile and CI agree with each other."""
from __future__ import annotations

import tomllib

import yaml


def _pyproject(root):
    return tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def test_environment_yml_lists_exactly_the_pyproject_dependencies(root):
    project = _pyproject(root)
    expected = set(project["dependencies"]) | set(project["optional-dependencies"]["offline"]) \
        | set(project["optional-dependencies"]["dev"])
    conda = yaml.safe_load((root / "environment.yml").read_text(encoding="utf-8"))
    pip_section = next(d["pip"] for d in conda["dependencies"] if isinstance(d, dict))
    assert set(pip_section) - {"-e ."} == expected
    assert "-e ." in pip_section


def test_torch_is_a_range_so_gpu_users_keep_their_cuda_build(root):
    torch = [d for d in _pyproject(root)["dependencies"] if d.startswith("torch")]
    assert torch and "==" not in torch[0] and "+cpu" not in torch[0]


def test_make_targets_and_ci_entry_point(root):
    makefile = (root / "Makefile").read_text(encoding="utf-8")
    for target in ("lab:", "test:", "run:", "doctor:"):
        assert f"\n{target}" in makefile, target
    ci = (root / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci and "torch==2.13.0" in ci
    assert "make lab" in (root / "README.md").read_text(encoding="utf-8")
