"""`make test-latest`: the whole suite with the newest release of every dependency, ignoring the lock.

Builds build/latest-venv from scratch (pip, eager upgrades of everything
pyproject.toml names, with its extras; torch as tools/install.py chooses
its build), runs the command of `make test` there, and writes
build/latest/summary.md: what passed, which lessons and tests broke with their
first error line, and the packages whose newest release differs from the lock
(those a failure's traceback passes through first). Exit status 1 when
anything broke, so the weekly CI job can open an issue with the summary.

    python tools/test_latest.py                 install, run, summarise
    python tools/test_latest.py --reuse         keep an existing build/latest-venv (no install)
    python tools/test_latest.py --summary-only  summarise the last run again
"""
from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / "build" / "latest-venv"
OUT = ROOT / "build" / "latest"
PY = VENV / "bin" / "python"
EXTRAS = "offline,lab,grading,dev"
# The command of `make test` (Makefile), with this environment's Python.
PYTEST_ARGS = ["-m", "pytest", "tests", "notebooks", "--nbval-lax", "--nbval-current-env",
               "--nbval-cell-timeout=900", "-p", "no:cacheprovider"]
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)(?:\s*;\s*(.*))?$", re.M)

sys.path.insert(0, str(Path(__file__).resolve().parent))
import install as course_install  # noqa: E402  (tools/install.py: the torch build)


def run(cmd: list[str], **kw) -> None:
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, **kw)


def build_environment() -> None:
    run([sys.executable, "-m", "venv", "--clear", str(VENV)])
    pip = [str(PY), "-m", "pip", "install", "--quiet"]
    run(pip + ["--upgrade", "pip"])
    if course_install.wants_cpu_torch():
        why = course_install.index_unreachable(course_install.CPU_INDEX)
        if why:
            print(course_install.fallback_line(course_install.CPU_INDEX, why), flush=True)
        else:  # the newest CPU build; its dependencies come from PyPI with the rest
            run(pip + ["--index-url", course_install.CPU_INDEX, "--no-deps", "torch"])
    # --upgrade-strategy eager: every dependency at its newest release, not only the direct ones.
    run(pip + ["--upgrade", "--upgrade-strategy", "eager", "-e", f"{ROOT}[{EXTRAS}]"])
    # The exchange extra: pip cannot override the requirement it states (tools/install.py, WITHOUT_REQUIREMENTS).
    run(pip + ["--upgrade", "--no-deps", *course_install.WITHOUT_REQUIREMENTS])


def installed_versions() -> dict[str, str]:
    code = ("import json, importlib.metadata as m\n"
            "print(json.dumps({d.metadata['Name'].lower().replace('_', '-'): d.version for d in m.distributions()}))")
    return json.loads(subprocess.run([str(PY), "-c", code], capture_output=True, text=True, check=True).stdout)


def module_owners() -> dict[str, str]:
    """Top-level module -> distribution, in the latest environment."""
    code = ("import json, importlib.metadata as m\n"
            "print(json.dumps({k: v[0].lower().replace('_', '-') for k, v in m.packages_distributions().items()}))")
    return json.loads(subprocess.run([str(PY), "-c", code], capture_output=True, text=True, check=True).stdout)


def locked_versions() -> dict[str, str]:
    text = (ROOT / "requirements" / "test.txt").read_text(encoding="utf-8")
    return {name.lower().replace("_", "-"): version for name, version, _ in _PIN.findall(text)}


def run_suite(results: Path) -> int:
    env = dict(os.environ, COURSE_SMOKE="1", HF_HUB_OFFLINE="1", TQDM_DISABLE="1", TOKENIZERS_PARALLELISM="false")
    cmd = [str(PY), *PYTEST_ARGS, f"--junitxml={results}"]
    print("+", " ".join(cmd), flush=True)
    with open(OUT / "pytest.log", "w", encoding="utf-8") as log:
        return subprocess.run(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT).returncode


def failures(results: Path) -> tuple[dict[str, int], list[dict]]:
    """Counts and the failed cases (test id, first message line, full text) of a JUnit XML file."""
    counts = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
    broken = []
    for case in ET.parse(results).getroot().iter("testcase"):
        problem = next((c for c in case if c.tag in ("failure", "error")), None)
        if problem is None:
            counts["skipped" if case.find("skipped") is not None else "passed"] += 1
            continue
        counts["failed" if problem.tag == "failure" else "error"] += 1
        text = (problem.get("message") or "") + "\n" + (problem.text or "")
        first = next((line.strip() for line in text.splitlines() if line.strip()), "")
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        broken.append({"id": name, "message": first[:300], "text": text})
    return counts, broken


def where(case_id: str) -> str:
    """'lesson notebooks/en/02_trainer_api.ipynb' or 'test tests/test_x.py'."""
    path = case_id.split("::")[0].replace(".", "/")
    match = re.search(r"notebooks/(en|ko)/\w+", path)
    if match or ".ipynb" in case_id:
        return "lesson " + (match.group(0) + ".ipynb" if match else case_id.split("::")[0])
    return "test " + re.sub(r"^(tests/[\w]+).*", r"\1.py", path)


def implicated(text: str, changed: dict[str, tuple[str, str]], owners: dict[str, str]) -> list[str]:
    """Changed packages a traceback passes through, innermost last."""
    seen = []
    for module in re.findall(r"site-packages/([A-Za-z0-9_]+)", text):
        dist = owners.get(module, module.lower().replace("_", "-"))
        if dist in changed and dist not in seen:
            seen.append(dist)
    return seen


def summarise(started: float | None = None, returncode: int | None = None) -> int:
    results = OUT / "results.xml"
    latest, locked = installed_versions(), locked_versions()
    changed = {name: (locked.get(name, "-"), version) for name, version in sorted(latest.items())
               if name in locked and locked[name] != version.split("+")[0]}
    added = {name: version for name, version in latest.items() if name not in locked and name not in ("course-utils", "pip")}
    lines = ["# make test-latest", ""]
    if not results.exists():
        lines += ["The suite did not finish: no build/latest/results.xml (see build/latest/pytest.log)."]
        counts, broken = {}, []
    else:
        counts, broken = failures(results)
        took = f", {time.time() - started:.0f} s" if started else ""
        lines += ["Newest releases, lock ignored: " + ", ".join(f"{v} {k}" for k, v in counts.items()) + took, ""]
    owners = module_owners()
    if broken:
        lines += ["## What breaks", "", "| where | test | first error line | changed packages in the traceback |",
                  "| --- | --- | --- | --- |"]
        for case in broken:
            culprits = ", ".join(f"{p} {changed[p][0]} -> {changed[p][1]}"
                                 for p in implicated(case["text"], changed, owners)) or "-"
            cell = case["message"].replace("|", "\\|")
            lines.append(f"| {where(case['id'])} | `{case['id']}` | {cell} | {culprits} |")
        lines.append("")
    elif results.exists():
        lines += ["Nothing breaks with today's newest releases.", ""]
    lines += ["## Versions that differ from the lock (requirements/test.txt)", ""]
    lines += [f"- {name}: locked {old}, newest {new}" for name, (old, new) in changed.items()] or ["- none"]
    if added:
        lines += ["", "Not in the lock (new dependencies): " + ", ".join(f"{k} {v}" for k, v in sorted(added.items()))]
    (OUT / "summary.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    if returncode is None:
        returncode = 1 if broken or not results.exists() else 0
    return 1 if (broken or returncode not in (0, 5)) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuse", action="store_true", help="keep an existing build/latest-venv")
    parser.add_argument("--summary-only", action="store_true", help="summarise the last run again")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    if args.summary_only:
        return summarise()
    if not (args.reuse and PY.exists()):
        build_environment()
    (OUT / "versions.txt").write_text("\n".join(f"{k}=={v}" for k, v in sorted(installed_versions().items())) + "\n")
    (OUT / "results.xml").unlink(missing_ok=True)
    started = time.time()
    code = run_suite(OUT / "results.xml")
    return summarise(started, code)


if __name__ == "__main__":
    sys.exit(main())
