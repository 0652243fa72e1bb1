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
