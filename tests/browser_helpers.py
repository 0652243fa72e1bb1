"""Real-browser harness for tests/test_browser.py: a Jupyter server and Debian's Chromium.

Written by hand because no installed tool starts a Jupyter server for a test
and tears it down with its kernels (pytest-jupyter targets server
extensions, galata needs Node and Playwright's own browser download).

- ``JupyterServer``: ``python -m jupyterlab`` or ``python -m notebook`` from this
  environment on 127.0.0.1, a free random port, a random token, --no-browser,
  a temporary root dir; its own config/data/runtime dirs so nothing of the
  user's Jupyter set-up (workspaces, settings, kernels) leaks in.
  ``stop()`` shuts kernels down through the REST API, stops the server, kills
  its process group, then kills any kernel still holding a connection file
  in this server's runtime dir (kernels run in their own process group).
- ``NotebookPage``: open a notebook in JupyterLab (/lab/tree/...) or
  Notebook 7 (/notebooks/...), wait until the kernel is idle and connected,
  run cells with Shift+Enter like a person.

Every wait is on a real condition (HTTP answer, kernel state, selector,
text, file content) with a generous deadline; there are no fixed sleeps
(polls of a condition wait POLL_S between looks).
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat

CHROMIUM = Path("/usr/bin/chromium")
# --disable-dev-shm-usage: containers give /dev/shm 64 MB, too little for a JupyterLab tab.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-dev-shm-usage"]
SERVER_START_S = 120  # cold start on 2 shared cores, nbgrader extensions included
KERNEL_START_S = 120
UI_S = 90  # page load, widget rendering
FEEDBACK_S = 30  # a click reaching the kernel and the answer coming back
POLL_S = 0.2

# JupyterLab's toast on a first visit when fetchNews is "none" (@jupyterlab/apputils-extension:announcements); the
# course turns it off in the environment's settings overrides (tools/install.py). Notebook 7 never asks.
NEWS_QUESTION = "Would you like to get notified about official Jupyter news?"
# The announcements plugin reads this config section, then asks at once if fetchNews is "none".
ANNOUNCEMENTS_CONFIG = "api/config/jupyterlabapputilsextensionannouncements"

UIS = {
    # ui: (python -m <module>, URL of a notebook)
    "lab": ("jupyterlab", "lab/tree/{path}"),
    "notebook": ("notebook", "notebooks/{path}"),
}


def launch_chromium(timeout_s: float):
    """Debian's Chromium through Playwright (its own browser download cannot work offline); assertions wait
    up to ``timeout_s``. A generator for a module fixture: yields the browser, closes it after."""
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=timeout_s * 1000)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """Linux: the server gets SIGTERM (and then stops its kernels) if pytest itself is killed."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def wait_until(condition, timeout: float, what: str):
    """Poll ``condition()`` until it returns something truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = condition()
        except Exception as exc:  # a condition that cannot be evaluated yet (server starting, file half written)
            value, last_error = None, exc
        if value:
            return value
        time.sleep(POLL_S)
    raise TimeoutError(f"Waited {timeout:.0f} s for {what}" + (f" (last error: {last_error!r})" if last_error else ""))


def write_notebook(path: Path, sources: list[str]) -> Path:
    """A notebook with one code cell per source, kernelspec python3, no outputs."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


class PortTaken(RuntimeError):
    pass


class JupyterServer:
    """One JupyterLab or Notebook 7 server of this environment, for one test module."""

    def __init__(self, ui: str, root: Path, env: dict | None = None):
        self.ui, self.root = ui, Path(root)
        self.home = self.root.parent / f".{self.root.name}-jupyter"  # config, data, runtime: outside the served tree
        self.port, self.token = free_port(), secrets.token_urlsafe(24)
        self.base = f"http://127.0.0.1:{self.port}/"
        self.env = env
        self.process: subprocess.Popen | None = None
        self.log_path = self.home / "server.log"

    # --- lifecycle -----------------------------------------------------------------
    def start(self, attempts: int = 3) -> "JupyterServer":
        """Start and wait until the REST API answers; a port taken meanwhile by someone else gets a new one."""
        for attempt in range(attempts):
            try:
                return self._start_once()
            except PortTaken:
                self.port = free_port()
                self.base = f"http://127.0.0.1:{self.port}/"
        raise RuntimeError(f"no free port after {attempts} attempts (log: {self.log_path})")

    def _start_once(self) -> "JupyterServer":
        module, _ = UIS[self.ui]
        for sub in ("config", "data", "runtime"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        # No user settings of its own: the news question is off in the environment's overrides, as a learner has it
        # (tools/install.py; tests/test_browser.py checks that no news toast shows).
        env = dict(os.environ if self.env is None else self.env)
        env.update(
            JUPYTER_CONFIG_DIR=str(self.home / "config"),
            JUPYTER_DATA_DIR=str(self.home / "data"),
            JUPYTER_RUNTIME_DIR=str(self.home / "runtime"),
        )
        cmd = [
            sys.executable, "-m", module, "--no-browser",
            "--ip=127.0.0.1", f"--port={self.port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:  # containers and CI run as root
            cmd.append("--allow-root")
        self._log = open(self.log_path, "w")
        self.process = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env,
                                        cwd=self.root, start_new_session=True, preexec_fn=_die_with_parent)
        try:
            wait_until(self._ready, SERVER_START_S, f"{module} to answer on {self.base} (log: {self.log_path})")
        except BaseException:
            self.stop()
            if "already in use" in self.log_tail():
                raise PortTaken(self.port) from None
            raise
        return self

    def _ready(self):
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.ui} server exited with {self.process.returncode}:\n{self.log_tail()}")
        return self.api("GET", "api/status") is not None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """Kernels, server, process group, stray kernels: in that order, each step whatever happened before."""
        if self.process is None:
            return
        try:
            if self.process.poll() is None:
                for kernel in self.api("GET", "api/kernels") or []:
                    self.api("DELETE", f"api/kernels/{kernel['id']}")
        except Exception:
            pass
        try:
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGTERM)  # the server shuts down its kernels on SIGTERM
                self.process.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
        finally:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=30)
            self._kill_stray_kernels()
            self._log.close()

    def _kill_stray_kernels(self) -> None:
        """Kernels started by this server name a connection file in its own runtime dir: kill those pids."""
        marker = str(self.home / "runtime")
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if marker in cmdline and int(proc.name) != os.getpid():
                try:
                    os.kill(int(proc.name), signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def stray_kernels(self) -> list[int]:
        marker = str(self.home / "runtime")
        pids = []
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                if marker in (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                    pids.append(int(proc.name))
            except OSError:
                continue
        return pids

    # --- REST ------------------------------------------------------------------------
    def api(self, method: str, path: str):
        request = urllib.request.Request(self.base + path, method=method,
                                         headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                body = response.read()
        except urllib.error.URLError:
            return None
        return json.loads(body) if body else {}

    def session_for(self, path: str):
        for session in self.api("GET", "api/sessions") or []:
            if session.get("path") == path:
                return session
        return None

    def url(self, path: str) -> str:
        # Lab's ?reset: a fresh workspace, so notebooks of earlier tests do not reopen beside this one.
        reset = "reset&" if self.ui == "lab" else ""
        return self.base + UIS[self.ui][1].format(path=path) + f"?{reset}token={self.token}"

    def shutdown_kernel(self, path: str) -> None:
        session = self.session_for(path)
        if session:
            self.api("DELETE", f"api/sessions/{session['id']}")


class NotebookPage:
    """A notebook opened in a browser page, driven like a person would."""

    def __init__(self, page, server: JupyterServer, path: str):
        self.page, self.server, self.path = page, server, path
        self.announcements_read = False  # JupyterLab's announcements plugin has read its config (see NEWS_QUESTION)
        page.on("response", self._on_response)

    def _on_response(self, response) -> None:
        if ANNOUNCEMENTS_CONFIG in response.url and response.ok:
            self.announcements_read = True

    def expect_no_news_question(self) -> None:
        """No "get notified about official Jupyter news?" toast. In JupyterLab, only once its announcements plugin
        has read its config (it asks right after, when fetchNews is "none"): before that, no toast proves nothing."""
        from playwright.sync_api import expect

        if self.server.ui == "lab":
            wait_until(lambda: self.announcements_read, UI_S, f"JupyterLab to read {ANNOUNCEMENTS_CONFIG}")
        expect(self.page.get_by_text(NEWS_QUESTION), "JupyterLab asks about Jupyter news: the environment's "
               "settings overrides (tools/install.py) do not set fetchNews to \"false\"").to_have_count(0)

    def open(self) -> "NotebookPage":
        self.page.goto(self.server.url(self.path), timeout=UI_S * 1000)
        # The kernel is started and the page's websocket is connected to it.
        wait_until(self._kernel_ready, KERNEL_START_S, f"the kernel of {self.path} to be idle and connected "
                   f"(server log: {self.server.log_path})")
        self.first_cell_editor.wait_for(state="visible", timeout=UI_S * 1000)
        self.page.locator(".jp-NotebookPanel .jp-Spinner").wait_for(state="hidden", timeout=UI_S * 1000)
        return self

    @property
    def first_cell_editor(self):
        return self.page.locator(".jp-Notebook .jp-CodeCell .cm-content").locator("visible=true").first

    def _kernel_ready(self) -> bool:
        session = self.server.session_for(self.path)
        kernel = (session or {}).get("kernel") or {}
        return kernel.get("execution_state") == "idle" and kernel.get("connections", 0) >= 1

    def run_all_cells_with_keyboard(self, count: int) -> None:
        """Click into the first cell, then Shift+Enter once per cell (run and go to the next)."""
        self.first_cell_editor.click()
        for _ in range(count):
            self.page.keyboard.press("Shift+Enter")

    def screenshot(self, path: Path, locator=None) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        if locator is not None:
            locator.scroll_into_view_if_needed(timeout=UI_S * 1000)
        self.page.screenshot(path=str(path))
        return path
