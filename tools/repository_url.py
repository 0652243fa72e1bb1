"""The repository's URL, written once (pyproject.toml, [project.urls] Repository), and every place made from it.

`make sync` (tools/sync_code_cells.py) writes these places; `tools/sync_code_cells.py --check` names each
one that disagrees with pyproject.toml:
- in every lesson (notebooks/en, notebooks/ko): the Colab badge (first line of the first cell) and the
  Colab cell (the first code cell), which installs requirements/colab.txt and the course package from
  the repository;
- README.md: the lessons' Colab badges and website links; CONTRIBUTING.md: the Colab cell as it is
  documented; grading/hub/README.md: the nbgitpuller link; grading/hub/z2jh/values.yaml: the image name.
The website (tools/site/) reads the URL from here when it is built, so it has nothing to write.
A fork points all of it at itself with one change: edit [project.urls] Repository, run `make sync`.
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Callable, NamedTuple
from urllib.parse import quote

import nbformat

BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
GUARD = 'if "google.colab" in sys.modules:'
# The Colab cell's first line, per language; the code under it is the same in both (CONTRIBUTING.md).
COLAB_CELL_COMMENT = {
    "en": "# Colab only: install the course package and enable ipywidgets 8; elsewhere, nothing.",
    "ko": "# Colab에서만: 강좌 패키지를 설치하고 ipywidgets 8을 켭니다(다른 곳에서는 건너뜁니다).",
}
# Every line of the cell stays within 88 characters: the URLs are built in variables first, and
# IPython's %pip expands {name} (checked by tests/test_repository_url.py with the installed IPython).
COLAB_CELL_CODE = """\
import sys
if "google.colab" in sys.modules:
    repo = "{slug}"
    versions = f"https://raw.githubusercontent.com/{{repo}}/main/requirements/colab.txt"
    package = f"course-utils[offline] @ git+https://github.com/{{repo}}"
    %pip install -q -c {{versions}} "{{package}}"
    from google.colab import output
    output.enable_custom_widget_manager()"""
_BADGE_LINE = re.compile(r"\[!\[Open In Colab\]\([^)\s]*\)\]\([^)\s]*\)")


class RepositoryUrlError(Exception):
    """pyproject.toml's [project.urls] Repository is missing or not a GitHub repository (the message says)."""


class Repository(NamedTuple):
    """A GitHub repository, and the URLs the course makes from it."""

    owner: str
    name: str

    @property
    def slug(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def url(self) -> str:
        return f"https://github.com/{self.slug}"

    def colab(self, path: str) -> str:
        """Colab's page for a notebook of the main branch (path from the repository root)."""
        return f"https://colab.research.google.com/github/{self.slug}/blob/main/{path}"

    @property
    def pages(self) -> str:
        """The website, on GitHub Pages (owner in lower case, as Pages writes it)."""
        return f"https://{self.owner.lower()}.github.io/{self.name}/"

    @property
    def image(self) -> str:
        """The container image GitHub's registry names after the repository (lower case only)."""
        return f"ghcr.io/{self.owner.lower()}/{self.name.lower()}"

    def forms(self) -> list[str]:
        """Every way the course writes this repository (a test looks for stale ones)."""
        return [self.url, self.colab(""), f"https://raw.githubusercontent.com/{self.slug}/", self.pages,
                quote(self.url, safe=""), self.image, f'"{self.slug}"']


def read(root: Path) -> Repository:
    """The repository named by ``root``/pyproject.toml."""
    try:
        url = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["urls"]["Repository"]
    except KeyError:
        raise RepositoryUrlError("pyproject.toml has no [project.urls] Repository: add "
                                 'Repository = "https://github.com/<owner>/<repo>"') from None
    m = re.fullmatch(r"https://github\.com/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)", url)
    if not m or m.group(2).endswith(".git"):
        raise RepositoryUrlError(f"pyproject.toml [project.urls] Repository = {url!r}: write it as "
                                 "https://github.com/<owner>/<repo> (no .git, no trailing slash)")
    return Repository(m.group(1), m.group(2))


def colab_cell(repo: Repository, lang: str) -> str:
    """The first code cell of every lesson in ``lang``."""
    return COLAB_CELL_COMMENT[lang] + "\n" + COLAB_CELL_CODE.format(slug=repo.slug)


def colab_badge(repo: Repository, path: str) -> str:
    return f"[![Open In Colab]({BADGE_IMAGE})]({repo.colab(path)})"


# --- the lessons ---------------------------------------------------------------------------------

# A lesson's link to a file of this repository on GitHub (benchmarks/README.md: a relative link would break on the
# site); a link to another repository's file is left alone (the path must exist here).
OWN_FILE_LINK = re.compile(r"https://github\.com/[^/\s)]+/[^/\s)]+/blob/main/([^\s)#]+)")


def _own_file_link(root: Path, repo: Repository) -> Callable[[re.Match], str]:
    return lambda m: f"{repo.url}/blob/main/{m.group(1)}" if (root / m.group(1)).exists() else m.group(0)


def sync_lesson(root: Path, path: Path, repo: Repository, check: bool) -> tuple[list[str], str | None]:
    """Badge and Colab cell of one lesson: (the parts that differed, written unless ``check``; a problem to fix
    by hand, or None)."""
    rel = path.relative_to(root).as_posix()
    nb = nbformat.read(path, as_version=4)
    if not nb.cells or nb.cells[0].cell_type != "markdown":
        return [], f"{rel}: the first cell must be markdown (Colab badge, title); add it by hand"
    code = next((c for c in nb.cells if c.cell_type == "code"), None)
    if code is None or GUARD not in code.source:
        return [], f"{rel}: the first code cell is not the Colab cell; add the one of CONTRIBUTING.md before it"
    differ = []
    badge = colab_badge(repo, rel)
    lines = nb.cells[0].source.split("\n")
    if lines[0] != badge:
        differ.append(f"{rel}: Colab badge")
        if _BADGE_LINE.fullmatch(lines[0].strip()):
            lines[0] = badge
        else:
            lines[:0] = [badge, ""]
        nb.cells[0].source = "\n".join(lines)
    cell = colab_cell(repo, path.parent.name)
    if code.source != cell:
        differ.append(f"{rel}: Colab cell")
        code.source = cell
    own_file = _own_file_link(root, repo)
    for markdown in (c for c in nb.cells if c.cell_type == "markdown"):
        linked = OWN_FILE_LINK.sub(own_file, markdown.source)
        if linked != markdown.source:
            markdown.source = linked
            if f"{rel}: repository links" not in differ:
                differ.append(f"{rel}: repository links")
    if differ and not check:
        nbformat.write(nb, path)
    return differ, None


# --- the documents -------------------------------------------------------------------------------

def _contributing_cell(repo: Repository) -> Callable[[re.Match], str]:
    def block(m: re.Match) -> str:
        indent = m.group(1)
        body = "\n".join(indent + line if line else line for line in colab_cell(repo, "en").split("\n"))
        return f"{indent}```python\n{body}\n{indent}```"
    return block


def _keep_comment_column(new: str) -> Callable[[re.Match], str]:
    """``new`` in place of the match, the spaces after it adjusted so that the comment stays where it was."""
    return lambda m: new + " " * max(2, len(m.group(0)) - len(new))


def rules(repo: Repository) -> dict[str, list[tuple[re.Pattern, str | Callable[[re.Match], str]]]]:
    """Per document: (pattern, replacement) for each place that carries the repository."""
    colab = (re.compile(r"https://colab\.research\.google\.com/github/[^/\s)]+/[^/\s)]+/blob/main/"), repo.colab(""))
    return {
        "README.md": [
            colab,
            # The website: the bold link above the lesson table, and each lesson's two pages.
            (re.compile(r"https://[A-Za-z0-9-]+\.github\.io/[^/\s)*]+/(?=\*\*|(?:en|ko)/)"), repo.pages),
        ],
        "CONTRIBUTING.md": [
            (re.compile(r"^([ \t]*)```python\n(?:(?!```).)*?" + re.escape(GUARD) + r".*?^\1```", re.M | re.S),
             _contributing_cell(repo)),
            (re.compile(r"^([ \t]*)`# Colab에서만:[^`\n]*`$", re.M),  # the Korean lessons' first line
             lambda m: f"{m.group(1)}`{COLAB_CELL_COMMENT['ko']}`"),
        ],
        "grading/hub/README.md": [
            (re.compile(r"repo=https%3A%2F%2Fgithub\.com%2F[^%&\s]+%2F[^&\s]+&branch=main"
                        r"&urlpath=lab%2Ftree%2F[^%\s]+%2F"),
             f"repo={quote(repo.url, safe='')}&branch=main&urlpath=lab%2Ftree%2F{quote(repo.name, safe='')}%2F"),
        ],
        "grading/hub/z2jh/values.yaml": [  # the users' image, as Zero to JupyterHub pulls it
            (re.compile(r"ghcr\.io/[a-z0-9._-]+/[a-z0-9._-]+ *(?=#)"), _keep_comment_column(repo.image)),
        ],
    }


def sync_document(root: Path, rel: str, repo: Repository, check: bool) -> tuple[list[str], str | None]:
    """Every place of one document: (what differed, written unless ``check``; a problem, or None)."""
    path = root / rel
    text = new = path.read_text(encoding="utf-8")
    for pattern, replacement in rules(repo)[rel]:
        new, count = pattern.subn(replacement, new)
        if not count:  # a place the sync no longer finds would keep an old URL unseen
            return [], (f"{rel}: nothing matches {pattern.pattern[:50]!r} any more; "
                        "update rules() in tools/repository_url.py")
    if new == text:
        return [], None
    if not check:
        path.write_text(new, encoding="utf-8")
    return [f"{rel}: repository links"], None


def sync(root: Path, lessons: list[Path], check: bool = False) -> tuple[list[str], list[str]]:
    """(what differed from [project.urls] Repository, problems only a person can fix); writes unless ``check``."""
    try:
        repo = read(root)
    except RepositoryUrlError as exc:
        return [], [str(exc)]
    differ, problems = [], []
    done = [sync_lesson(root, path, repo, check) for path in lessons]
    done += [sync_document(root, rel, repo, check) for rel in rules(repo)]
    for parts, problem in done:
        differ += parts
        problems += [problem] if problem else []
    return differ, problems
