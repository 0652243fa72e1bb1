"""The classroom server, for real: JupyterHub (grading/hub/jupyterhub_config.py) with configurable-http-proxy,
local servers spawned as three Unix accounts made for the test, and both exchanges the hub offers, on one hub:

* alice uses nbgrader's file-system exchange, a folder in a temporary place that only she and the instructor can
  reach (it is what grading/hub/ ships by default);
* bob uses ngshare (COURSE_EXCHANGE=ngshare): the hub starts the ngshare service from its own environment
  (build/ngshare, `make hub-deps`), and every step of bob's and of the instructor's side of his round trip is an
  HTTP request to it through the hub's proxy, made with the server's own hub token. bob's server shares no folder
  with the instructor's: his kernel is refused the file-system exchange, the instructor's home and the hub's state
  (where ngshare keeps its database and files).

instructor: release -> release_assignment (to both); students, through their own Hub-spawned servers (nbgrader's
"Assignments" endpoints, the contents API, a kernel): fetch -> work (alice clicks the quiz widgets, bob answers in
code and adds a forged timestamp.txt) -> submit; instructor: collect (both) -> autograde (sandboxed, once) ->
feedback -> release_feedback (both); students: fetch_feedback. One hub start serves both round trips (the suite's
time: the hub, three servers, one release and one autograde are most of it). Everything listens on 127.0.0.1
(random ports; ngshare binds every interface, as it always does); the hub, proxy, ngshare, servers, kernels and
accounts are gone when the test ends, pass or fail.

Real Unix accounts, not one account with several JupyterHub names: nbgrader 0.9.6's default exchange is a
shared folder guarded by Unix permissions (inbound/ is 0733: a student can drop a submission but not list
or read another's), it names a submission after the OS user (nbgrader.utils.get_username; JUPYTERHUB_USER
only counts for the Docker user "jovyan") and `collect` checks the submission's owner. ngshare names it after
the hub user its token belongs to. Needs root (useradd, and the hub starts servers as other users); elsewhere the
test is skipped and says why.
"""
from __future__ import annotations

import fcntl
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import pytest

REPO = Path(__file__).resolve().parent.parent
HUB_CONFIG = REPO / "grading" / "hub" / "jupyterhub_config.py"
PROXY = REPO / "build" / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
NGSHARE_PYTHON = REPO / "build" / "ngshare" / "bin" / "python"  # ngshare's own environment (make hub-deps)
QUIZ = "07_chapter_quiz"
COURSE_ID = "trainer-course"
MARK = "trainer-course hub test"  # GECOS of the accounts this test creates (and removes)

pytestmark = [
    pytest.mark.integration,  # make test-integration (CI runs it after make test)
    pytest.mark.skipif(not sys.platform.startswith("linux"),
                       reason="JupyterHub's local spawner and the exchange need Linux"),
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root: creates Unix accounts and starts servers as them"),
    pytest.mark.skipif(shutil.which("useradd") is None,
                       reason="needs useradd (Debian package passwd) to create accounts"),
]
LOCK = Path(tempfile.gettempdir()) / "course-hub-test.lock"  # two runs at once would fight over open_the_way()


# ---------------------------------------------------------------- accounts, ports, processes
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def add_account(name: str, homes: Path, groups: tuple[str, ...] = ()) -> Path:
    home = homes / name
    subprocess.run(["useradd", "--create-home", "--home-dir", str(home), "--comment", MARK, "--shell", "/bin/sh",
                    "--user-group", *(["--groups", ",".join(groups)] if groups else []), name],
                   check=True, capture_output=True)
    home.chmod(0o700)  # nobody reads another's home, as on a real server
    return home


def remove_account(name: str) -> None:
    try:
        if pwd.getpwnam(name).pw_gecos != MARK:
            return
    except KeyError:
        return
    subprocess.run(["userdel", name], capture_output=True)


def open_the_way(paths: list[Path]) -> dict[Path, int]:
    """Let every account reach the interpreter, the venv and the project: add o+x to the folders above them
    that lack it (e.g. /root when Python lives in /root/.pyenv). Traversal only, never listing; the old modes
    are returned for close_the_way(). A classroom server installs Python where every account can run it."""
    changed = {}
    for path in paths:
        for folder in [*reversed(Path(os.path.realpath(path)).parents)]:
            mode = folder.stat().st_mode & 0o7777
            if not mode & 0o001 and folder not in changed:
                changed[folder] = mode
                folder.chmod(mode | 0o001)
    return changed


def close_the_way(changed: dict[Path, int]) -> None:
    for folder, mode in changed.items():
        folder.chmod(mode)


def processes_of(names: list[str]) -> list[int]:
    uids = set()
    for name in names:
        try:
            uids.add(pwd.getpwnam(name).pw_uid)
        except KeyError:
            pass
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid in uids:
                    found.append(int(entry.name))
            except FileNotFoundError:
                pass
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"


# ---------------------------------------------------------------- talking to the hub and to users' servers
class Hub:
    def __init__(self, url: str, token: str):
        import requests

        self.url, self.http = url, requests.Session()
        self.http.headers["Authorization"] = f"token {token}"
        self.tokens: dict[str, str] = {}
        self.kernels: dict[tuple[str, str], tuple[str, object]] = {}

    def api(self, method: str, path: str, **kwargs):
        response = self.http.request(method, f"{self.url}/hub/api{path}", timeout=60, **kwargs)
        assert response.status_code < 400, f"{method} {path}: {response.status_code} {response.text[:500]}"
        return response.json() if response.content else None

    def start_servers(self, users: list[str], timeout: float = 180) -> None:
        for user in users:
            self.api("POST", f"/users/{user}/server")
        deadline = time.monotonic() + timeout
        waiting = set(users)
        while waiting and time.monotonic() < deadline:
            for user in list(waiting):
                server = self.api("GET", f"/users/{user}").get("servers", {}).get("")
                if server and server.get("ready"):
                    waiting.discard(user)
            time.sleep(0.5)
        assert not waiting, f"the hub did not start the servers of {sorted(waiting)} in {timeout:.0f} s"
        for user in users:  # each user acts with a token of their own, not the test's admin token
            self.tokens[user] = self.api("POST", f"/users/{user}/tokens", json={"note": "hub exchange test"})["token"]

    def server(self, user: str, method: str, path: str, **kwargs):
        """A request to the user's own server, through the proxy, with the user's token."""
        import requests

        response = requests.request(method, f"{self.url}/user/{user}/{path}", timeout=120,
                                    headers={"Authorization": f"token {self.tokens[user]}"}, **kwargs)
        assert response.status_code < 400, f"{user}: {method} {path}: {response.status_code} {response.text[:500]}"
        return response.json() if response.content else None

    def server_json(self, user: str, path: str, **kwargs):
        """A GET to a hub service (path: /services/...) through the proxy, with the user's token; its JSON."""
        import requests

        response = requests.get(f"{self.url}{path}", timeout=60,
                                headers={"Authorization": f"token {self.tokens[user]}"}, **kwargs)
        assert response.status_code < 400, f"{user}: GET {path}: {response.status_code} {response.text[:500]}"
        return response.json()

    def assignments(self, user: str, action: str | None = None) -> dict:
        """nbgrader's "Assignments" tab (server extension assignment_list): list, fetch, submit, fetch_feedback."""
        params = {"course_id": COURSE_ID, "assignment_id": QUIZ}
        if action is None:
            result = self.server(user, "GET", "assignments", params={"course_id": COURSE_ID})
        else:
            result = self.server(user, "POST", f"assignments/{action}", params=params)
        assert result.get("success"), f"{user}: {action or 'list'} failed:\n{result.get('value')}"
        return {a["assignment_id"]: a for a in result["value"] if a["course_id"] == COURSE_ID}

    def run(self, user: str, code: str, cwd: str, timeout: float = 300) -> str:
        """Run code in a kernel of the user's server (working folder cwd, relative to their home); its output.

        One kernel per user and folder, kept for the next call (as a notebook would be)."""
        import websocket

        if (user, cwd) not in self.kernels:
            session = self.server(user, "POST", "api/sessions", json={
                "path": f"{cwd}/hub-test.ipynb", "type": "notebook", "name": "", "kernel": {"name": "python3"}})
            ws = websocket.create_connection(
                f"{self.url.replace('http', 'ws', 1)}/user/{user}/api/kernels/{session['kernel']['id']}/channels",
                header=[f"Authorization: token {self.tokens[user]}"], timeout=timeout)
            self.kernels[(user, cwd)] = (session["id"], ws)
        ws = self.kernels[(user, cwd)][1]
        msg_id = uuid.uuid4().hex
        ws.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": user,
                       "session": uuid.uuid4().hex, "date": "", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        out, error, replied, idle, deadline = [], None, False, False, time.monotonic() + timeout
        while not (replied and idle):  # the reply (shell) may overtake the last output (iopub): wait for both
            assert time.monotonic() < deadline, f"{user}'s kernel did not answer in {timeout:.0f} s"
            ws.settimeout(max(1.0, deadline - time.monotonic()))
            msg = json.loads(ws.recv())
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                out.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                error = "\n".join(msg["content"]["traceback"])
            elif msg["msg_type"] == "execute_reply":
                replied = True
            elif msg["msg_type"] == "status":
                idle = msg["content"]["execution_state"] == "idle"
        text = "".join(out)
        if error is not None:
            plain = re.sub("\x1b\\[[0-9;]*m", "", error)  # tracebacks come coloured
            raise AssertionError(f"{user}'s kernel failed:\n{text[-3000:]}\n{plain[-3000:]}")
        return text

    def close_kernels(self) -> None:
        for (user, _), (session_id, ws) in self.kernels.items():
            ws.close()
            self.server(user, "DELETE", f"api/sessions/{session_id}")
        self.kernels.clear()


def start_hub(state: Path, exchange: Path, instructor: str, students: list[str],
              on_filesystem: list[str]) -> tuple[subprocess.Popen, Hub]:
    """The shipped configuration with COURSE_EXCHANGE=ngshare; the servers of the students ``on_filesystem`` use the
    file-system exchange instead. The instructor's server may use both: its commands choose with COURSE_EXCHANGE."""
    token = secrets.token_hex(32)
    port, hub_port, proxy_port, ngshare_port = free_port(), free_port(), free_port(), free_port()
    (state / "jupyterhub_config.py").write_text(f"""
c = get_config()
load_subconfig({str(HUB_CONFIG)!r})   # the shipped configuration, then only what a test needs
c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{proxy_port}"
c.JupyterHub.services.append({{"name": "hub-exchange-test", "api_token": {token!r}}})
c.JupyterHub.load_roles = [{{"name": "admin", "services": ["hub-exchange-test"], "users": [{instructor!r}]}}]
ON_FILESYSTEM, REACH_FOLDER = {on_filesystem!r}, {[*on_filesystem, instructor]!r}
c.Spawner.environment["COURSE_EXCHANGE"] = lambda sp: "filesystem" if sp.user.name in ON_FILESYSTEM else "ngshare"
c.Spawner.environment["COURSE_EXCHANGE_ROOT"] = lambda sp: {str(exchange)!r} if sp.user.name in REACH_FOLDER else ""
""")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTERHUB_", "JPY_"))}
    env.update(COURSE_HUB_URL=f"http://127.0.0.1:{port}", COURSE_HUB_STATE=str(state), COURSE_EXCHANGE="ngshare",
               COURSE_NGSHARE_PYTHON=str(NGSHARE_PYTHON), COURSE_NGSHARE_PORT=str(ngshare_port),
               COURSE_HUB_INSTRUCTORS=instructor, COURSE_HUB_STUDENTS=",".join(students), COURSE_HUB_PROXY=str(PROXY),
               HF_HUB_OFFLINE="1")
    log = (state / "jupyterhub.log").open("wb")
    process = subprocess.Popen([str(Path(sys.executable).with_name("jupyterhub")), "-f", "jupyterhub_config.py"],
                               cwd=state, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    hub = Hub(f"http://127.0.0.1:{port}", token)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, "jupyterhub exited:\n" + (state / "jupyterhub.log").read_text()[-3000:]
        try:
            hub.api("GET", "/")
            if hub.http.get(f"{hub.url}/services/ngshare/healthz", timeout=10).ok:  # through the proxy
                return process, hub
        except Exception:
            pass
        time.sleep(0.5)
    raise AssertionError("jupyterhub and ngshare did not answer in 90 s:\n" +
                         (state / "jupyterhub.log").read_text()[-3000:])


def processes_naming(text: str) -> list[int]:
    """Processes whose command line contains text (the hub's state folder: ngshare's database is in it)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and text.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            pass
    return found


def stop_hub(process: subprocess.Popen, state: Path) -> list[str]:
    """SIGTERM (the hub stops users' servers, its services and the proxy itself); what was still running (then
    killed)."""
    proxy_pid_file = state / "jupyterhub-proxy.pid"
    proxy_pid = int(proxy_pid_file.read_text()) if proxy_pid_file.exists() else None
    services = [pid for pid in processes_naming(str(state / "ngshare")) if pid != os.getpid()]
    left = []
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        left.append(f"jupyterhub {process.pid}")
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    if proxy_pid and alive(proxy_pid):
        left.append(f"configurable-http-proxy {proxy_pid}")
        os.kill(proxy_pid, signal.SIGKILL)
    for pid in services:
        if alive(pid):
            left.append(f"ngshare {pid}")
            os.kill(pid, signal.SIGKILL)
    return left


# ---------------------------------------------------------------- the round trip
GENERATED = {"release", "submitted", "autograded", "feedback", "gradebook.db", "grades.csv", "grades-canvas.csv",
             "report", "receipts", "logs", "hub", "__pycache__", ".ipynb_checkpoints"}
# The term's policy (due dates): the scores here must not depend on the day the test runs; tests of late work set
# their own dates.
NOT_COPIED = GENERATED | {"course.yaml"}


def course_files(folder: str, names: list[str]) -> set[str]:
    """What not to copy from grading/: generated folders, this hub's own files, the term's dates, other
    assignments."""
    skip = set(names) & NOT_COPIED
    if Path(folder).name == "source":
        skip |= set(names) - {QUIZ}
    return skip


def exam_answers(course: Path, student: str, right: int) -> dict:
    """The student's exam variant answered by choice id (or number): the first ``right`` questions right."""
    from course_utils.quiz import exam, load_bank

    key_bank = load_bank(course / "source" / QUIZ / "exam_bank.yaml")
    answers = {}
    for n, item in enumerate(exam.variant_spec(course / "source" / QUIZ / "chapter_exam.yaml", student)["questions"]):
        q = key_bank.questions[item["id"]]
        if q.numeric:
            value = q.key_value(item.get("params"))
            answers[item["id"]] = value if n < right else value + 1000
        else:
            answers[item["id"]] = list(q.correct_ids) if n < right else \
                [next(c for c in q.choice_ids if c not in q.correct_ids)]
    return answers


def as_letters(course: Path, student: str, answers: dict) -> dict:
    """The same answers as the letters (or number) this student sees: quiz.answer's argument."""
    from course_utils.quiz import load_bank
    from course_utils.quiz.order import arrange

    shown = {s.question.id: s for s in arrange(load_bank(course / "source" / QUIZ / "chapter_exam.yaml"), "chapter",
                                                student)}
    return {qid: value if not isinstance(value, list) else ",".join(shown[qid].letter_of(c) for c in value)
            for qid, value in answers.items()}


INSTRUCTOR_STEP = '''
import os, subprocess, sys
def step(*args, exchange=None):
    # exchange: "filesystem" or None (the server's own: ngshare)
    env = dict(os.environ, **({{"COURSE_EXCHANGE": exchange}} if exchange else {{}}))
    done = subprocess.run([sys.executable, "-m", *args], cwd={course!r}, capture_output=True, text=True, env=env)
    print(f"$ python -m {{' '.join(args)}} ({{env['COURSE_EXCHANGE']}}): exit {{done.returncode}}\\n"
          f"{{done.stdout[-4000:]}}{{done.stderr[-4000:]}}")
    if done.returncode:
        raise SystemExit(f"{{args[0]}} {{args[1]}} failed")
'''
FORGED = "2001-01-01 00:00:00.000000 UTC"  # what bob claims in the timestamp.txt he adds to his submission


@pytest.mark.timeout(900)
def test_exchange_round_trip_through_jupyterhub():
    with LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        round_trip()


def round_trip():
    assert PROXY.exists(), f"configurable-http-proxy is not installed: run `make hub-deps` ({PROXY} is missing)"
    assert NGSHARE_PYTHON.exists(), f"ngshare's environment is not installed: run `make hub-deps` ({NGSHARE_PYTHON})"
    assert shutil.which("node"), "node is not installed (configurable-http-proxy needs it): apt-get install nodejs"
    assert shutil.which("bwrap"), "bubblewrap is not installed: apt-get install bubblewrap (see grading/README.md)"
    base = Path(tempfile.mkdtemp(prefix="course-hub-"))
    base.chmod(0o755)
    tag = secrets.token_hex(3)
    instructor, alice, bob = f"instr-{tag}", f"alice-{tag}", f"bob-{tag}"
    folder_group = f"fsx-{tag}"  # who may reach the file-system exchange: the instructor and alice
    users = [instructor, alice, bob]
    process = hub = None
    leftovers: list[str] = []
    clock, marks, started = time.monotonic(), [], datetime.now(timezone.utc)

    def mark(what: str) -> None:
        marks.append(f"{time.monotonic() - clock:6.1f} s  {what}")

    opened = open_the_way([Path(sys.executable), Path(sys.base_prefix), REPO, PROXY])  # ngshare runs as root
    try:
        subprocess.run(["groupadd", folder_group], check=True, capture_output=True)
        homes = base / "home"
        homes.mkdir()
        home = {user: add_account(user, homes, (folder_group,) if user != bob else ()) for user in users}
        course = home[instructor] / "course"  # the instructor's own course folder: sources, gradebook
        shutil.copytree(REPO / "grading", course, ignore=course_files)
        subprocess.run(["chown", "-R", f"{instructor}:{instructor}", str(course)], check=True)
        walled = base / "filesystem-exchange"  # root:fsx-<tag> 0750: bob cannot even pass through
        walled.mkdir()
        shutil.chown(walled, "root", folder_group)
        walled.chmod(0o750)
        exchange = walled / "exchange"
        exchange.mkdir(mode=0o777)
        exchange.chmod(0o777)
        state = base / "hub"  # the hub's database, and ngshare's (state/ngshare): root's alone
        state.mkdir(mode=0o700)

        process, hub = start_hub(state, exchange, instructor, [alice, bob], on_filesystem=[alice])
        mark("hub, proxy and ngshare up")
        hub.start_servers(users)
        mark("three servers spawned")
        hub.run(instructor, INSTRUCTOR_STEP.format(course=str(course)), "course")

        # instructor: the course on ngshare (its admins create courses), student versions, then into both exchanges
        # ngshare-exchange's roster tool (the command ngshare-course-management), both calls in the kernel's process
        hub.run(instructor, 'from ngshare_exchange import course_management\n'
                            f'course_management.main(["create_course", "{COURSE_ID}", "{instructor}"])\n'
                            f'course_management.main(["add_student", "{COURSE_ID}", "{bob}", "--no-gb"])\n'
                            'step("course_utils.grading", "release", "--course", ".")\n'
                            f'step("nbgrader", "release_assignment", "{QUIZ}", "--force", exchange="filesystem")\n'
                            f'step("nbgrader", "release_assignment", "{QUIZ}", "--force")', "course")
        released = exchange / COURSE_ID / "outbound" / QUIZ
        assert (released / f"{QUIZ}.ipynb").is_file() and (released / "chapter_exam.yaml").is_file()
        on_ngshare = hub.server_json(instructor, f"/services/ngshare/assignment/{COURSE_ID}/{QUIZ}",
                                     params={"list_only": "true"})
        assert {f["path"] for f in on_ngshare["files"]} >= {f"{QUIZ}.ipynb", "chapter_exam.yaml"}, on_ngshare
        mark("released to both exchanges")

        # students: fetch through the Assignments tab of their own server (alice: the folder; bob: ngshare)
        for student in (alice, bob):
            assert hub.assignments(student)[QUIZ]["status"] == "released"
            assert hub.assignments(student, "fetch")[QUIZ]["status"] == "fetched"
            fetched = home[student] / QUIZ / f"{QUIZ}.ipynb"
            assert fetched.is_file() and fetched.stat().st_uid == pwd.getpwnam(student).pw_uid

        # bob's server shares no folder with the instructor's: all he got came over HTTP
        probe = hub.run(bob, f'''
import os
for place in {[str(walled), str(home[instructor]), str(state)]!r}:
    try:
        print("listed:", place, os.listdir(place))
    except PermissionError:
        print("refused:", place)''', QUIZ)
        assert probe.count("refused:") == 3 and "listed:" not in probe, probe

        mark("fetched")
        # alice: the widgets in her kernel (build, choose, Submit) write quiz_responses.json; 6 of her 8 right.
        # On the hub her learner key is her user name (JUPYTERHUB_USER), so she sees her own variant.
        alice_answers = exam_answers(course, alice, right=6)
        hub.run(alice, f'''
from course_utils import quiz
view = quiz.build("chapter", mode="exam", questions="chapter_exam.yaml")
answers = {alice_answers!r}
for question in view.views:
    question.select(answers[question.question.id])
    question.submit.click()
print(sorted(quiz.load_responses()))''', QUIZ)
        # bob: quiz.answer lines with the letters he sees, in the answer cell, saved through the contents API; 7 of 8.
        # He also hands in a timestamp.txt that claims he submitted in 2001.
        path = f"api/contents/{QUIZ}/{QUIZ}.ipynb"
        model = hub.server(bob, "GET", path)
        nb = nbformat.from_dict(model["content"])
        answer_cell = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "answers")
        answer_cell.source = "\n".join(f"quiz.answer({qid!r}, {value!r})" for qid, value in
                                       as_letters(course, bob, exam_answers(course, bob, right=7)).items())
        hub.server(bob, "PUT", path, json={"type": "notebook", "format": "json", "content": nb})
        hub.server(bob, "PUT", f"api/contents/{QUIZ}/timestamp.txt",
                   json={"type": "file", "format": "text", "content": FORGED})

        mark("worked")
        for student in (alice, bob):
            assert hub.assignments(student, "submit")[QUIZ]["status"] == "submitted"
        inbound = exchange / COURSE_ID / "inbound"
        # the file-system exchange's wall between students: alice's own kernel cannot list the inbox
        probe = hub.run(alice, f'''
import os
try:
    print("listed:", os.listdir({str(inbound)!r}))
except PermissionError:
    print("inbound: permission denied")''', QUIZ)
        assert "inbound: permission denied" in probe, probe
        owners = {pwd.getpwuid(p.stat().st_uid).pw_name: p.name.split("+")[0] for p in inbound.iterdir()}
        assert owners == {alice: alice}, owners  # named after, and owned by, its author; bob's went to ngshare

        # instructor: collect from both (the owner check must not complain), grade in the sandbox once, feedback,
        # release it to both
        mark("submitted")
        collected = hub.run(instructor, f'step("nbgrader", "collect", "{QUIZ}", exchange="filesystem")\n'
                                        f'step("nbgrader", "collect", "{QUIZ}")', "course")
        assert "cheating attempt" not in collected and collected.count("Collecting submission") == 2, collected
        # ngshare's time of receipt, not bob's claim, is the submission's time: in timestamp.txt and the receipt
        from nbgrader.utils import parse_utc

        stamp = (course / "submitted" / bob / QUIZ / "timestamp.txt").read_text(encoding="utf-8").strip()
        received = json.loads((course / "receipts" / bob / f"{QUIZ}.json").read_text(encoding="utf-8"))["received"]
        assert stamp != FORGED and parse_utc(stamp).replace(tzinfo=timezone.utc) == datetime.fromisoformat(received)
        assert started <= datetime.fromisoformat(received) <= datetime.now(timezone.utc), (stamp, started)
        # each exchange gets its own student's page (the file-system one needs the secret only its submit wrote)
        hub.run(instructor, 'step("course_utils.grading", "autograde", "--course", ".")\n'
                            'step("course_utils.grading", "feedback", "--course", ".")\n'
                            f'step("nbgrader", "release_feedback", "{QUIZ}", "--student={alice}",'
                            ' exchange="filesystem")\n'
                            f'step("nbgrader", "release_feedback", "{QUIZ}", "--student={bob}")', "course", timeout=400)

        mark("collected, autograded, feedback released")
        from nbgrader.api import Gradebook

        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            scores = {s: gb.find_submission(QUIZ, s).score for s in (alice, bob)}
        assert scores == {alice: 6, bob: 7}, scores

        # students: fetch feedback; each gets their own page and nobody else's
        for student, score in ((alice, 6), (bob, 7)):
            assert hub.assignments(student, "fetch_feedback")[QUIZ]["status"] == "submitted"
            pages = list((home[student] / QUIZ / "feedback").glob(f"*/{QUIZ}.html"))
            assert len(pages) == 1, pages
            text = pages[0].read_text(encoding="utf-8")
            assert f"{QUIZ} (Score: {score}.0 / 8.0)" in text, text[:2000]
            assert "BEGIN HIDDEN TESTS" not in text and "score_answer" not in text and "exam_bank" not in text
            assert pages[0].stat().st_uid == pwd.getpwnam(student).pw_uid
        mark("feedback fetched")
        hub.close_kernels()
    finally:
        if process is not None:
            leftovers += stop_hub(process, base / "hub")
            print("jupyterhub log (tail):\n" + (base / "hub" / "jupyterhub.log").read_text(errors="replace")[-6000:])
        deadline = time.monotonic() + 20
        while processes_of(users) and time.monotonic() < deadline:
            time.sleep(0.5)
        for pid in processes_of(users):  # only processes of the accounts this test created
            leftovers.append(f"pid {pid} of a test account")
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for user in users:
            remove_account(user)
        subprocess.run(["groupdel", folder_group], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)
        close_the_way(opened)
        mark("everything stopped and removed")
        print("timings (under whatever load this machine has):\n" + "\n".join(marks))
    assert not leftovers, f"still running after the hub stopped (killed now): {leftovers}"
