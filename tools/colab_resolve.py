"""`make test-colab`, part 1: the lessons' first-cell install resolved against Colab's runtime.

    python tools/colab_resolve.py [--uv PATH] [--out build/colab]

What Colab's first cell installs (`%pip install -c requirements/colab.txt "course-utils[offline] @ ..."`),
here from the local checkout, is resolved with uv for Colab's Python (3.13) on Linux x86_64, with
Colab's pip freeze (requirements/colab-runtime/pip-freeze.txt) as the preferred versions: like pip
on Colab, the resolver keeps a preinstalled version wherever it satisfies the install. Then:

* the post-install set is the freeze with the resolved versions put over it;
* every preinstalled package outside the install is checked against its own requirements
  (Requires-Dist of its wheel's metadata on PyPI, markers for Python 3.13 on Linux x86_64):
  a requirement the post-install set no longer meets is a *break*;
* each break is classified by resolving again with the broken package kept at Colab's version:
  - "avoidable now": it resolves under requirements/colab.txt as it is (the install chose badly);
  - "avoidable by colab.txt": it resolves only without colab.txt's pins (the pins named cause it);
  - "unavoidable": it does not resolve even without the pins (pyproject.toml's ranges need it).
  The first two fail the check (exit 1); the third is reported.

torch: Colab's freeze holds a CPU build (2.11.0+cpu). PyPI's torch 2.11.0 for Linux is the CUDA
build, whose metadata asks for the CUDA runtime (nvidia-*, cuda-*, triton); those the resolution
brings only for torch are not counted (Colab's CPU torch needs none of them), as in tools/lock.py.
Sizes are those of the wheels PyPI's index lists for the resolved versions (uv's resolution names
no size); metadata and sizes are cached under build/colab/pypi/.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from packaging.markers import default_environment
from packaging.requirements import InvalidRequirement, Requirement
from packaging.tags import compatible_tags, cpython_tags
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lock import parse as parse_compiled  # noqa: E402  (the same reader as the lock's)

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = ROOT / "requirements" / "colab-runtime"
COLAB_TXT = ROOT / "requirements" / "colab.txt"
PYPI = "https://pypi.org/simple"
PYTHON_VERSION = "3.13"
PLATFORM = "x86_64-manylinux_2_28"
# Markers of Colab's runtime (Python 3.13 on Linux x86_64); the full version comes from os-info.txt.
MARKER_ENV = {**default_environment(), "python_version": PYTHON_VERSION, "python_full_version": "3.13.0",
              "sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64",
              "os_name": "posix", "implementation_name": "cpython", "platform_python_implementation": "CPython",
              "extra": ""}
WHEEL_TAGS = [str(t) for t in [*cpython_tags((3, 13), platforms=[f"manylinux_2_{m}_x86_64" for m in range(28, 4, -1)]
                                             + ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64",
                                                "linux_x86_64"]),
                               *compatible_tags((3, 13), "cp313", [f"manylinux_2_{m}_x86_64" for m in range(28, 4, -1)]
                                                + ["manylinux2014_x86_64", "manylinux1_x86_64", "linux_x86_64"])]]
CUDA_RUNTIME = re.compile(r"^(nvidia-|cuda-|triton$)")


# --- Colab's freeze -------------------------------------------------------------------------------

def read_freeze(text: str) -> tuple[dict[str, str], dict[str, str]]:
    """({name: version}, {name: why it is not on PyPI}) of a `pip freeze`.

    `name @ URL` lines of wheels give the version of the file name with its local label
    (torch 2.11.0+cpu); a source tree or a git URL has no version to check against.
    """
    pins, off_index = {}, {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$", line)
        if m:
            pins[canonicalize_name(m.group(1))] = m.group(2)
            continue
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*) @ (\S+)$", line)
        if not m:
            continue
        name, url = canonicalize_name(m.group(1)), m.group(2)
        filename = urllib.request.unquote(url.split("#")[0].rsplit("/", 1)[-1])
        if filename.endswith(".whl") and "download.pytorch.org" in url:
            pins[name] = str(parse_wheel_filename(filename)[1])
        else:
            off_index[name] = url
    return pins, off_index


def public(version: str) -> str:
    """2.11.0+cpu -> 2.11.0 (a local label names a build, not a release)."""
    return version.split("+", 1)[0]


def os_python(text: str) -> str | None:
    m = re.search(r"^Python (\d+\.\d+\.\d+)", text, re.M)
    return m.group(1) if m else None


# --- the resolution -------------------------------------------------------------------------------

def find_uv(explicit: str | None = None) -> str:
    for candidate in (explicit, str(Path(sys.executable).with_name("uv")), shutil.which("uv")):
        if candidate and Path(candidate).exists():
            return candidate
    raise SystemExit("colab-resolve: uv not found (make test-colab installs it into .venv; or pip install uv)")


def resolve(uv: str, pins: dict[str, str], requirements: list[str], constraints: Path | None,
            workdir: Path) -> tuple[bool, str]:
    """(resolved?, compiled text or uv's error) of `requirements` for Colab, preferring Colab's versions."""
    workdir.mkdir(parents=True, exist_ok=True)
    req = workdir / "requirements.in"
    req.write_text("\n".join(requirements) + "\n", encoding="utf-8")
    out = workdir / "resolved.txt"
    # uv prefers the versions an existing output file pins: Colab's, as pip keeps what satisfies.
    out.write_text("".join(f"{n}=={public(v)}\n" for n, v in sorted(pins.items())), encoding="utf-8")
    cmd = [uv, "pip", "compile", str(req), "--python-version", PYTHON_VERSION, "--python-platform", PLATFORM,
           "--index-url", PYPI, "--no-emit-index-url", "--no-header", "--quiet", "-o", str(out)]
    if constraints:
        cmd += ["-c", str(constraints)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        return False, done.stderr.strip()
    return True, out.read_text(encoding="utf-8")


def cuda_runtime_only(entries: list[dict]) -> set[str]:
    """Names the resolution holds only for torch's CUDA runtime (PyPI's Linux torch is the CUDA build)."""
    dropped: set[str] = set()
    changed = True
    while changed:
        changed = False
        for e in entries:
            name = canonicalize_name(e["name"])
            if name not in dropped and CUDA_RUNTIME.match(name) and e["via"] and \
                    {canonicalize_name(v) for v in e["via"]} <= {"torch"} | dropped:
                dropped.add(name)
                changed = True
    return dropped


def compare(freeze: dict[str, str], resolved: dict[str, str]) -> dict[str, list]:
    found = {"upgraded": [], "downgraded": [], "new": []}
    for name, version in sorted(resolved.items()):
        if name not in freeze:
            found["new"].append((name, None, version))
        elif Version(public(freeze[name])) != Version(version):
            key = "upgraded" if Version(version) > Version(public(freeze[name])) else "downgraded"
            found[key].append((name, freeze[name], version))
    return found


# --- PyPI metadata and sizes ---------------------------------------------------------------------

def _get(url: str, accept: str | None = None, headers: dict | None = None) -> bytes:
    headers = {"User-Agent": "course-colab-resolve", **(headers or {})}
    if accept:
        headers["Accept"] = accept
    for attempt in range(3):
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60) as r:
                return r.read()
        except OSError:
            if attempt == 2:
                raise
            time.sleep(1 + attempt)
    raise AssertionError


class _RemoteFile(io.RawIOBase):
    """A file on a server that answers HTTP range requests, read in blocks (for zipfile)."""

    BLOCK = 64 * 1024

    def __init__(self, url: str, size: int) -> None:
        self.url, self.size, self.pos, self.blocks = url, size, 0, {}

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = {0: offset, 1: self.pos + offset, 2: self.size + offset}[whence]
        return self.pos

    def _block(self, i: int) -> bytes:
        if i not in self.blocks:
            start = i * self.BLOCK
            end = min(self.size, start + self.BLOCK) - 1
            self.blocks[i] = _get(self.url, headers={"Range": f"bytes={start}-{end}"})
        return self.blocks[i]

    def read(self, n: int = -1) -> bytes:
        end = self.size if n is None or n < 0 else min(self.size, self.pos + n)
        out = bytearray()
        while self.pos < end:
            block = self._block(self.pos // self.BLOCK)
            offset = self.pos % self.BLOCK
            chunk = block[offset:offset + end - self.pos]
            if not chunk:
                break
            out += chunk
            self.pos += len(chunk)
        return bytes(out)

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def wheel_metadata(url: str, size: int | None, announced: bool) -> str | None:
    """The wheel's METADATA: the index's .metadata file (PEP 658) where it has one, else read out of the
    wheel with range requests (its zip directory at the end, then the one member), as pip and uv do."""
    if announced:
        return _get(url + ".metadata").decode("utf-8", "replace")
    if not size:
        return None
    with zipfile.ZipFile(_RemoteFile(url, size)) as zf:
        name = next((n for n in zf.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n)), None)
        return zf.read(name).decode("utf-8", "replace") if name else None


def wheel_info(name: str, version: str, cache: Path) -> dict:
    """{filename, size, metadata} of the wheel pip would take on Colab for name==version (cached)."""
    path = cache / f"{name}-{version}.json"
    if path.exists():
        return json.loads(path.read_text(encoding="utf-8"))
    index = json.loads(_get(f"{PYPI}/{name}/", accept="application/vnd.pypi.simple.v1+json"))
    best, rank = None, len(WHEEL_TAGS)
    sdist = None
    for f in index.get("files", []):
        filename = f["filename"]
        if filename.endswith(".whl"):
            try:
                _, v, _, tags = parse_wheel_filename(filename)
            except Exception:  # noqa: BLE001  (an odd file name on the index)
                continue
            if v != Version(version):
                continue
            r = min((WHEEL_TAGS.index(str(t)) for t in tags if str(t) in WHEEL_TAGS), default=None)
            if r is not None and r < rank:
                best, rank = f, r
        elif filename.endswith((".tar.gz", ".zip")) and sdist is None:
            m = re.match(rf"^{re.escape(name).replace('-', '[-_.]')}-(.+)\.(tar\.gz|zip)$", filename, re.I)
            try:
                if m and Version(m.group(1)) == Version(version):
                    sdist = f
            except InvalidVersion:
                pass
    chosen = best or sdist
    info = {"filename": None, "size": None, "metadata": None}
    if chosen:
        info.update(filename=chosen["filename"], size=chosen.get("size"))
        if best:
            info["metadata"] = wheel_metadata(best["url"], best.get("size"),
                                              bool(best.get("core-metadata") or best.get("dist-info-metadata")))
    cache.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(info), encoding="utf-8")
    return info


def requires_dist(metadata: str) -> list[Requirement]:
    found = []
    for line in metadata.split("\n\n", 1)[0].splitlines():
        if line.startswith("Requires-Dist:"):
            try:
                found.append(Requirement(line.split(":", 1)[1].strip()))
            except InvalidRequirement:
                pass
    return found


def breaks_of(name: str, version: str, metadata: str, post: dict[str, str], changed: set[str]) -> list[str]:
    """Requirements of name==version that the post-install set no longer meets (only through a change)."""
    found = []
    for req in requires_dist(metadata):
        dep = canonicalize_name(req.name)
        if dep not in changed:
            continue
        if req.marker is not None and not req.marker.evaluate(MARKER_ENV):
            continue
        if dep == "torch" and "+cpu" in version:  # not reached: torch is never changed by the install
            continue
        if not req.specifier.contains(post[dep], prereleases=True):
            found.append(f"{req.name}{req.specifier} (install gives {post[dep]})")
    return found


# --- the report ----------------------------------------------------------------------------------

def mb(size: int | None) -> str:
    return "?" if size is None else f"{size / 1e6:.1f} MB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uv")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "colab")
    parser.add_argument("--constraints", type=Path, default=COLAB_TXT, help="the Colab pins (default requirements/colab.txt)")
    parser.add_argument("--snapshot", type=Path, default=SNAPSHOT)
    args = parser.parse_args(argv)
    started = time.monotonic()
    uv = find_uv(args.uv)
    source = dict(line.split(": ", 1) for line in (args.snapshot / "SOURCE").read_text().splitlines() if ": " in line)
    freeze, off_index = read_freeze((args.snapshot / "pip-freeze.txt").read_text(encoding="utf-8"))
    colab_python = os_python((args.snapshot / "os-info.txt").read_text(encoding="utf-8")) or PYTHON_VERSION
    MARKER_ENV["python_full_version"] = colab_python
    print(f"Colab runtime: googlecolab/backend-info {source.get('commit', '?')[:12]} ({source.get('date', '?')}), "
          f"Python {colab_python}, {len(freeze) + len(off_index)} packages in its pip freeze")
    course = f"course-utils[offline] @ {ROOT.as_uri()}"
    pins = {n: v for n, v in freeze.items()}
    ok, text = resolve(uv, pins, [course], args.constraints, args.out / "resolve")
    if not ok:
        print(f"RESOLUTION FAILED for Python {PYTHON_VERSION} on {PLATFORM} under {args.constraints.name}:\n{text}")
        return 1
    entries = parse_compiled(text)
    cuda = cuda_runtime_only(entries)
    resolved = {canonicalize_name(e["name"]): e["version"] for e in entries
                if canonicalize_name(e["name"]) not in cuda and canonicalize_name(e["name"]) != "course-utils"}
    if "torch" in resolved and Version(resolved["torch"]) != Version(public(freeze.get("torch", "0"))):
        print(f"note: the install changes torch ({freeze.get('torch')} -> {resolved['torch']})")
    changes = compare(freeze, resolved)
    changed = {n for kind in changes.values() for n, _, _ in kind}
    post = {**{n: public(v) for n, v in freeze.items()}, **resolved}
    print(f"Resolution (uv {PYTHON_VERSION} {PLATFORM}, constraints {args.constraints.relative_to(ROOT) if args.constraints.is_relative_to(ROOT) else args.constraints}): "
          f"{len(resolved)} packages in the install's closure; torch's CUDA runtime left out: {len(cuda)}")

    cache = args.out / "pypi"
    outside = sorted(n for n in freeze if n not in resolved)
    wanted = [(n, freeze[n]) for n in outside] + [(n, v) for n, _, v in
                                                  changes["upgraded"] + changes["downgraded"] + changes["new"]]
    with ThreadPoolExecutor(8) as pool:
        infos = dict(zip(wanted, pool.map(lambda nv: wheel_info(nv[0], public(nv[1]), cache), wanted)))

    total = 0
    for kind in ("upgraded", "downgraded", "new"):
        rows = changes[kind]
        print(f"  {kind}: {len(rows)}")
        for name, old, new in rows:
            size = infos[(name, new)]["size"]
            total += size or 0
            print(f"    {name} {old + ' -> ' if old else ''}{new}  ({mb(size)}: {infos[(name, new)]['filename']})")
    print(f"First-cell install: {len(changes['upgraded'])} upgraded, {len(changes['downgraded'])} downgraded, "
          f"{len(changes['new'])} new; about {total / 1e6:.1f} MB to download (wheel sizes on PyPI's index)")

    breaks, unchecked = {}, []
    for name in outside:
        meta = infos[(name, freeze[name])]["metadata"]
        if meta is None:
            unchecked.append(name)
            continue
        found = breaks_of(name, freeze[name], meta, post, changed)
        if found:
            breaks[name] = found
    unchecked += sorted(off_index)
    results = {}
    for name, found in sorted(breaks.items()):
        keep = f"{name}=={public(freeze[name])}"
        ok_now, _ = resolve(uv, pins, [course, keep], args.constraints, args.out / f"keep-{name}")
        if ok_now:
            verdict, detail = "avoidable now", "the install resolves with it kept, under colab.txt as it is"
        else:
            # Without the pins, but preferring them: the nearest colab.txt that keeps the package.
            colab_pins = {canonicalize_name(e["name"]): e["version"]
                          for e in parse_compiled(args.constraints.read_text())}
            ok_free, alt = resolve(uv, {**pins, **colab_pins}, [course, keep], None, args.out / f"keep-{name}-free")
            if ok_free:
                alt_pins = {canonicalize_name(e["name"]): e["version"] for e in parse_compiled(alt)}
                differ = [f"{n} {v} -> {alt_pins.get(n, 'not needed')}" for n, v in sorted(colab_pins.items())
                          if alt_pins.get(n) != v]
                verdict, detail = "avoidable by colab.txt", "keeping it needs: " + ", ".join(differ)
            else:
                verdict, detail = "unavoidable", "no resolution keeps it, even without colab.txt's pins: " + \
                    (alt.strip().splitlines() or ["?"])[-1].strip()
        results[name] = {"version": freeze[name], "broken": found, "verdict": verdict, "detail": detail}
    print(f"Preinstalled packages the install leaves with a broken requirement: {len(results)} "
          f"(of {len(outside)} outside the install checked; {len(unchecked)} without metadata to check: "
          f"{', '.join(unchecked) or 'none'})")
    for name, r in results.items():
        print(f"  [{r['verdict']}] {name} {r['version']}: needs {'; '.join(r['broken'])}\n      {r['detail']}")
    avoidable = [n for n, r in results.items() if r["verdict"] != "unavoidable"]
    report = {"source": source, "python": colab_python, "constraints": str(args.constraints), "changes": changes,
              "download_bytes": total, "cuda_runtime_left_out": sorted(cuda), "breaks": results,
              "unchecked": unchecked, "seconds": round(time.monotonic() - started, 1)}
    (args.out / "resolution.json").write_text(json.dumps(report, indent=1), encoding="utf-8")
    print(f"Resolution check: {len(avoidable)} avoidable break(s), {len(results) - len(avoidable)} unavoidable; "
          f"{report['seconds']} s; report in {(args.out / 'resolution.json').relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 1 if avoidable else 0


if __name__ == "__main__":
    sys.exit(main())
