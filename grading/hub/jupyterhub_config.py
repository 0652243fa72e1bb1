"""JupyterHub for the course on one machine: Unix accounts, one local server per user, the nbgrader exchange.

Run as root (the hub starts each user's server as that Unix user):

    COURSE_HUB_STATE=/srv/jupyterhub COURSE_EXCHANGE_ROOT=/srv/nbgrader/exchange \
        .venv/bin/jupyterhub -f grading/hub/jupyterhub_config.py

Students and the instructor log in with their Unix password (PAM). Each server runs this
repository's venv (jupyterhub-singleuser, nbgrader's "Assignments" tab and formgrader) and reads
grading/hub/jupyter/nbgrader_config.py, which points nbgrader at the exchange: the shared exchange folder
(COURSE_EXCHANGE=filesystem, the default) or ngshare, a service this hub starts and every server reaches
over HTTP through the proxy (COURSE_EXCHANGE=ngshare; no folder is shared). grading/hub/README.md explains
the choices and the step to Kubernetes; tests/test_hub_exchange.py runs the whole exchange round trip
through this file on 127.0.0.1, through both exchanges.

Settings (environment variables; the defaults suit a classroom server):
  COURSE_HUB_URL         public URL the proxy listens on (http://127.0.0.1:8000; put TLS in front)
  COURSE_HUB_STATE       folder for the hub's database, cookie secret and proxy pid (/srv/jupyterhub)
  COURSE_EXCHANGE        filesystem (default) or ngshare
  COURSE_EXCHANGE_ROOT   the nbgrader exchange folder, for filesystem (/srv/nbgrader/exchange)
  COURSE_NGSHARE_PYTHON  for ngshare: the Python of ngshare's environment (default: build/ngshare, `make hub-deps`)
  COURSE_NGSHARE_PORT    for ngshare: the port it listens on, on every interface (10101); its database and
                         files go to $COURSE_HUB_STATE/ngshare
  COURSE_NGSHARE_URL     for ngshare: the URL users' servers reach it at (default: the hub's URL + /services/ngshare)
  COURSE_HUB_STUDENTS, COURSE_HUB_INSTRUCTORS   comma-separated Unix user names allowed in
                         (instructors are hub admins); empty students: any user PAM accepts
  COURSE_HUB_PROXY       configurable-http-proxy command (default: build/node, `make hub-deps`)
"""
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
VENV_BIN = Path(sys.executable).parent  # the venv that runs jupyterhub runs every user's server too
c = get_config()  # noqa: F821  (provided by traitlets when it loads this file)


def _names(variable: str, default: str = "") -> set:
    return {name.strip() for name in os.environ.get(variable, default).split(",") if name.strip()}


STATE = Path(os.environ.get("COURSE_HUB_STATE", "/srv/jupyterhub"))
EXCHANGE_KIND = os.environ.get("COURSE_EXCHANGE", "filesystem")
EXCHANGE = os.environ.get("COURSE_EXCHANGE_ROOT", "/srv/nbgrader/exchange")
if EXCHANGE_KIND not in ("filesystem", "ngshare"):
    sys.exit(f"jupyterhub_config: COURSE_EXCHANGE={EXCHANGE_KIND!r}; set it to filesystem or ngshare")

# --- the hub and its proxy
c.JupyterHub.bind_url = os.environ.get("COURSE_HUB_URL", "http://127.0.0.1:8000")
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")
_local_proxy = REPO / "build" / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
c.ConfigurableHTTPProxy.command = [os.environ.get("COURSE_HUB_PROXY") or
                                   (str(_local_proxy) if _local_proxy.exists() else "configurable-http-proxy")]
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every user's server and the proxy
c.JupyterHub.cleanup_proxy = True

# --- who may log in: real Unix accounts (PAM); nbgrader's exchange relies on them (README.md)
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.admin_users = _names("COURSE_HUB_INSTRUCTORS", "instructor")
_students = _names("COURSE_HUB_STUDENTS")
if _students:
    c.Authenticator.allowed_users = _students
else:
    c.Authenticator.allow_all = True  # every account PAM accepts (a machine made for the class)

# --- each user's server: a local process as that Unix user, in their home folder
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [str(VENV_BIN / "jupyterhub-singleuser")]
c.Spawner.notebook_dir = "~"
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.environment = {
    # nbgrader reads nbgrader_config.py from every Jupyter config folder: this one names the exchange.
    "JUPYTER_CONFIG_PATH": str(HERE / "jupyter"),
    "COURSE_EXCHANGE": EXCHANGE_KIND,
    "PATH": os.pathsep.join([str(VENV_BIN), "/usr/local/bin", "/usr/bin", "/bin"]),
}
if EXCHANGE_KIND == "filesystem":
    c.Spawner.environment["COURSE_EXCHANGE_ROOT"] = EXCHANGE
else:
    # ngshare (README.md, "The exchange as a service"): a service the hub starts and stops, in its own environment
    # (it needs SQLAlchemy 1.4: requirements/ngshare.in). The proxy routes /services/ngshare/ to it; ngshare asks
    # the hub who a request's token belongs to, and its admins (the instructors) create the course.
    _ngshare_state = STATE / "ngshare"
    _ngshare_state.mkdir(mode=0o700, parents=True, exist_ok=True)
    _ngshare_python = os.environ.get("COURSE_NGSHARE_PYTHON") or str(REPO / "build" / "ngshare" / "bin" / "python")
    if not Path(_ngshare_python).exists():
        sys.exit(f"jupyterhub_config: ngshare's environment is missing ({_ngshare_python}): run `make hub-deps`")
    c.JupyterHub.services = [{
        "name": "ngshare",
        "url": f"http://127.0.0.1:{int(os.environ.get('COURSE_NGSHARE_PORT', '10101'))}",
        "command": [_ngshare_python, "-m", "ngshare", "--admins", ",".join(sorted(c.Authenticator.admin_users)),
                    "--database", f"sqlite:///{_ngshare_state / 'ngshare.db'}",
                    "--storage", str(_ngshare_state / "files")],
        "oauth_no_confirm": True,  # its web page (the course list) opens without a consent page
    }]
    _public = c.JupyterHub.bind_url.replace("//0.0.0.0:", "//127.0.0.1:").rstrip("/")
    c.Spawner.environment["COURSE_NGSHARE_URL"] = os.environ.get("COURSE_NGSHARE_URL") or f"{_public}/services/ngshare"
if os.environ.get("HF_HUB_OFFLINE"):  # an offline classroom: lessons use the offline weights at once
    c.Spawner.environment["HF_HUB_OFFLINE"] = os.environ["HF_HUB_OFFLINE"]
if shutil.which("node") is None and not os.environ.get("COURSE_HUB_PROXY"):
    print("jupyterhub_config: node is not installed; configurable-http-proxy needs it (apt-get install nodejs)",
          file=sys.stderr)
