"""`make colab-snapshot`: refresh requirements/colab-runtime/ from Colab's published runtime.

    python tools/colab_snapshot.py                    from GitHub (googlecolab/backend-info, branch main)
    python tools/colab_snapshot.py --git-dir DIR      from a local clone or mirror of that repository

Colab publishes what its default (CPU) runtime holds in the public repository
googlecolab/backend-info: pip-freeze.txt (`python3 -m pip freeze`) and
os-info.txt (Ubuntu, Python). This copies both, unchanged, into
requirements/colab-runtime/ and writes SOURCE there: the upstream commit and
its date, which `make test-colab` prints. Where GitHub cannot be reached it
stops with one line saying so and leaves the snapshot as it was.
Stdlib only.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = ROOT / "requirements" / "colab-runtime"
UPSTREAM = "googlecolab/backend-info"
FILES = ("pip-freeze.txt", "os-info.txt")
TIMEOUT = 20


class Unreachable(Exception):
    pass


def _get(url: str) -> bytes:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"User-Agent": "course-colab-snapshot"}),
                                    timeout=TIMEOUT) as response:
            return response.read()
    except (urllib.error.URLError, OSError) as exc:
        raise Unreachable(f"{url}: {getattr(exc, 'reason', exc)}") from exc


def from_github(branch: str = "main") -> tuple[str, str, dict[str, bytes]]:
    """(commit, ISO date, files) of the branch's head, through GitHub's API and raw files."""
    info = json.loads(_get(f"https://api.github.com/repos/{UPSTREAM}/commits/{branch}"))
    commit, date = info["sha"], info["commit"]["committer"]["date"]
    files = {name: _get(f"https://raw.githubusercontent.com/{UPSTREAM}/{commit}/{name}") for name in FILES}
    return commit, date, files


def from_git_dir(git_dir: Path, rev: str = "HEAD") -> tuple[str, str, dict[str, bytes]]:
    def git(*args: str) -> bytes:
        return subprocess.run(["git", f"--git-dir={git_dir}", *args], check=True, capture_output=True).stdout

    commit, date = git("log", "-1", "--format=%H %cI", rev).decode().split()
    return commit, date, {name: git("show", f"{commit}:{name}") for name in FILES}


def source_text(commit: str, date: str) -> str:
    return (f"upstream: https://github.com/{UPSTREAM}\n"
            f"commit: {commit}\n"
            f"date: {date}\n"
            f"files: {' '.join(FILES)} (unchanged copies; refresh with `make colab-snapshot`)\n")


def read_source(folder: Path = SNAPSHOT) -> dict[str, str]:
    """SOURCE as a dict: upstream, commit, date, files."""
    found = {}
    for line in (folder / "SOURCE").read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition(": ")
        found[key.strip()] = value.strip()
    return found


def write(commit: str, date: str, files: dict[str, bytes], folder: Path = SNAPSHOT) -> list[str]:
    """Writes the snapshot; returns the names of the files whose content changed."""
    folder.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, data in files.items():
        if not data.strip():
            raise SystemExit(f"colab-snapshot: upstream {name} at {commit} is empty; snapshot left as it was.")
        path = folder / name
        if not path.exists() or path.read_bytes() != data:
            changed.append(name)
        path.write_bytes(data)
    (folder / "SOURCE").write_text(source_text(commit, date), encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--git-dir", type=Path, help="a local clone or mirror of googlecolab/backend-info")
    parser.add_argument("--rev", default="HEAD", help="with --git-dir: the revision to copy (default HEAD)")
    parser.add_argument("--dest", type=Path, default=SNAPSHOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        commit, date, files = from_git_dir(args.git_dir, args.rev) if args.git_dir else from_github()
    except Unreachable as exc:
        print(f"colab-snapshot: cannot reach GitHub ({exc}); requirements/colab-runtime/ left as it was "
              f"(no network here? run it where github.com answers, or pass --git-dir with a clone).", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        print(f"colab-snapshot: git could not read {args.git_dir}: {exc.stderr.decode().strip()}", file=sys.stderr)
        return 1
    changed = write(commit, date, files, args.dest)
    print(f"colab-snapshot: {UPSTREAM} {commit[:12]} ({date}); "
          f"{'changed: ' + ', '.join(changed) if changed else 'no file changed'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
