"""The repository's URL is written once, in pyproject.toml's [project.urls] Repository.

Everything made from it (each lesson's Colab badge and Colab cell, README's badges and website links,
CONTRIBUTING's Colab cell, the links of grading/hub/README.md, the image of grading/hub/z2jh/values.yaml) is written by `make sync`
(tools/sync_code_cells.py with tools/repository_url.py); the website reads it when it is built. Here:
nothing disagrees with it, nothing else names it, the Colab cell expands to it with the installed IPython,
and a fork's one change to pyproject.toml followed by the sync moves every badge, cell and site link.
"""
from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from colab_cell import run_colab_cell

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted((ROOT / "notebooks" / "en").glob("*.ipynb")) + sorted((ROOT / "notebooks" / "ko").glob("*.ipynb"))
# The files `make sync` writes from the URL, besides pyproject.toml that holds it.
DOCUMENTS = ("README.md", "CONTRIBUTING.md", "grading/hub/README.md", "grading/hub/z2jh/values.yaml")
FORK = "https://github.com/Some-Fork/course-fork"  # mixed case: Pages and the image registry want lower case


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


repository_url = _load("repository_url", ROOT / "tools" / "repository_url.py")
REPO = repository_url.read(ROOT)


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _first(nb: dict, kind: str) -> str:
    return next("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == kind)


def _stale(text: str, repo) -> list[str]:
    """The forms of ``repo``'s URL that ``text`` holds (case aside)."""
    return [form for form in repo.forms() if form.lower() in text.lower()]


def test_every_place_agrees_with_pyproject():
    differ, problems = repository_url.sync(ROOT, LESSONS, check=True)
    assert not differ and not problems, (
        "these disagree with [project.urls] Repository in pyproject.toml (run `make sync`): "
        + "; ".join(differ + problems))


def test_nothing_else_names_the_repository():
    """A file not written by the sync that names the URL would keep an old one after a fork's `make sync`."""
    listed = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=ROOT,
                            capture_output=True, text=True)
    if listed.returncode:
        pytest.skip("not a git checkout: the tracked files are unknown")
    generated = {"pyproject.toml", *DOCUMENTS, *map(_rel, LESSONS)}
    found = {}
    for rel in filter(None, listed.stdout.split("\0")):
        path = ROOT / rel
        if rel in generated or not path.is_file() or path.stat().st_size > 2_000_000:
            continue
        stale = _stale(path.read_text(encoding="utf-8", errors="ignore"), REPO)
        if stale:
            found[rel] = stale
    assert not found, (f"these files name the repository themselves: {found}; make them read it from "
                       "pyproject.toml (tools/repository_url.py) or add them to its rules()")


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_colab_cell_lines_fit_in_88_characters(lang):
    long = [line for line in repository_url.colab_cell(REPO, lang).split("\n") if len(line) > 88]
    assert not long, f"lines over 88 characters in the {lang} Colab cell: {long}"


@pytest.mark.parametrize("url", [None, FORK], ids=["this repository", "a fork"])
def test_colab_cell_installs_from_the_repository_with_this_ipython(url):
    """IPython's %pip expands {versions} and {package}: the command is built from the URL alone."""
    repo = REPO if url is None else repository_url.Repository(*url.split("/")[-2:])
    ran = run_colab_cell(repository_url.colab_cell(repo, "en"))
    assert ran == {"ok": True, "widget_managers": 1, "pip": [[
        "install", "-q", "-c", f"https://raw.githubusercontent.com/{repo.slug}/main/requirements/colab.txt",
        f"course-utils[offline] @ git+{repo.url}"]]}


def test_a_malformed_url_is_refused_with_one_line(tmp_path):
    for url in ("https://github.com/owner/repo.git", "https://gitlab.com/owner/repo", "github.com/owner/repo/"):
        (tmp_path / "pyproject.toml").write_text(f'[project.urls]\nRepository = "{url}"\n', encoding="utf-8")
        with pytest.raises(repository_url.RepositoryUrlError, match=r"https://github\.com/<owner>/<repo>") as err:
            repository_url.read(tmp_path)
        assert "\n" not in str(err.value)


# --- a fork: one change in pyproject.toml, then the sync ----------------------------------------

_SITE_PROBE = r'''
import json, sys
from pathlib import Path
root = Path(sys.argv[1])
sys.path.insert(0, str(root))
from tools.site import build, home
run = {"mode": "smoke", "runner": "pytest", "machine": "this machine", "date": "today"}
bars, pages = [], []
for lang in build.LANGS:
    lessons = build.lessons(lang)
    bars += [build.page_bar(source, lang, run) for source in lessons]
    rows = [home.Lesson(source=s, number=int(s.stem[:2]), title=s.stem, summary="", time="", figure=None)
            for s in lessons]
    src = root / "site-src" / lang
    src.mkdir(parents=True)
    pages.append(home.page(lang, rows, src, build.repository()))
print(json.dumps({"bars": bars, "home": pages, "repository_button": build.repository().url,
                  "pages": build.pages_url()}))
'''


def _copy_tree(dest: Path) -> None:
    """What the sync and the site read and write, as a fresh clone has it."""
    files = ["pyproject.toml", *DOCUMENTS, *map(_rel, LESSONS), "tools/sync_code_cells.py", "tools/repository_url.py",
             *(_rel(p) for p in (ROOT / "tools" / "site").glob("*.py"))]
    files += sorted({m.group(1) for lesson in LESSONS  # the repository's files the lessons link to on GitHub
                     for m in repository_url.OWN_FILE_LINK.finditer(lesson.read_text(encoding="utf-8"))
                     if (ROOT / m.group(1)).is_file()})
    for rel in files:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dest / rel)


def _sync(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(root / "tools" / "sync_code_cells.py"), *args], cwd=root,
                          capture_output=True, text=True, timeout=300)


def _site_links(root: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", _SITE_PROBE, str(root)], cwd=root, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_fork_points_everything_at_itself_with_one_change(tmp_path):
    copy = tmp_path / "fork"
    _copy_tree(copy)
    fork = repository_url.Repository(*FORK.split("/")[-2:])
    lessons = [copy / _rel(p) for p in LESSONS]
    texts = lambda: {p: p.read_text(encoding="utf-8") for p in [copy / d for d in DOCUMENTS] + lessons}  # noqa: E731
    before = texts()
    readme_badges = len(re.findall(r"https://colab\.research\.google\.com/github/", before[copy / "README.md"]))
    readme_pages = before[copy / "README.md"].count(REPO.pages)
    assert readme_badges >= len(LESSONS) and readme_pages >= len(LESSONS), "README lost its lesson links"

    pyproject = copy / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    assert text.count(f'Repository = "{REPO.url}"') == 1
    pyproject.write_text(text.replace(f'Repository = "{REPO.url}"', f'Repository = "{FORK}"'), encoding="utf-8")

    # Before the sync, --check names every lesson's badge and cell and every document, and fails.
    check = _sync(copy, "--check")
    assert check.returncode == 1, check.stdout
    for rel in map(_rel, LESSONS):
        assert f"{rel}: Colab badge differs" in check.stdout and f"{rel}: Colab cell differs" in check.stdout, (
            f"--check did not name {rel}:\n{check.stdout}")
    for rel in DOCUMENTS:
        assert f"{rel}: repository links differs" in check.stdout, f"--check did not name {rel}:\n{check.stdout}"
    assert texts() == before, "--check wrote files"

    done = _sync(copy)
    assert done.returncode == 0, done.stdout + done.stderr
    again = _sync(copy, "--check")
    assert again.returncode == 0, again.stdout

    after = texts()
    stale = {_rel_to(p, copy): _stale(t, REPO) for p, t in after.items() if _stale(t, REPO)}
    assert not stale, f"the old URL is left in {stale}"
    for path in lessons:
        nb = json.loads(after[path])
        rel, lang = _rel_to(path, copy), path.parent.name
        assert _first(nb, "markdown").split("\n")[0] == repository_url.colab_badge(fork, rel)
        assert _first(nb, "code") == repository_url.colab_cell(fork, lang)
        # ... and in the other cells only the links to the repository's own files (benchmarks/README.md)
        ours = json.dumps(_other_cells(json.loads(before[path]))).replace(f"{REPO.url}/blob/main/",
                                                                          f"{fork.url}/blob/main/")
        assert json.dumps(_other_cells(nb)) == ours, f"{rel}: the sync changed other cells"
    readme = after[copy / "README.md"]
    assert len(re.findall(re.escape(fork.colab("notebooks/")), readme)) == readme_badges
    assert readme.count(fork.pages) == readme_pages
    contributing = after[copy / "CONTRIBUTING.md"]
    block = "\n".join("   " + line for line in repository_url.colab_cell(fork, "en").split("\n"))
    assert f"   ```python\n{block}\n   ```" in contributing
    hub = after[copy / "grading" / "hub" / "README.md"]
    assert ("repo=https%3A%2F%2Fgithub.com%2FSome-Fork%2Fcourse-fork&branch=main"
            "&urlpath=lab%2Ftree%2Fcourse-fork%2F") in hub
    assert "ghcr.io/some-fork/course-fork" in after[copy / "grading" / "hub" / "z2jh" / "values.yaml"]

    # The website, built from the copy, links to the fork only.
    site = _site_links(copy)
    assert site["repository_button"] == FORK and site["pages"] == "https://some-fork.github.io/course-fork/"
    for lang, page in zip(("en", "ko"), site["home"]):
        assert f'href="{fork.colab(f"notebooks/{lang}/{LESSONS[0].name}")}"' in page
        assert f"git clone {FORK}" in page and f"]({FORK})" in page
    for bar, path in zip(site["bars"], LESSONS):
        assert f'href="{fork.colab(_rel(path))}"' in bar
    assert not _stale(json.dumps(site), REPO), "the site still links to the old repository"


def _rel_to(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _other_cells(nb: dict) -> list:
    """Every cell but the badge's (the first) and the Colab cell (the first code cell)."""
    first_code = next(i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code")
    return [c for i, c in enumerate(nb["cells"]) if i not in (0, first_code)]
