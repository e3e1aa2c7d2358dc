"""Test-wide rules: chapter markers from folders, and nothing left behind."""

import os
import re
from pathlib import Path

import pytest

#: A chapter's folder: ``ch05``, or ``ch16b`` for the second part of chapter 16.
CHAPTER_FOLDER = re.compile(r"ch\d\d[a-z]?")


def pytest_collection_modifyitems(config, items):
    """Mark each test with its chapter: tests/ch05/... gets the ``ch05`` marker."""
    for item in items:
        for part in Path(item.fspath).parts:
            if CHAPTER_FOLDER.fullmatch(part):
                item.add_marker(getattr(pytest.mark, part))


def _open_fds():
    return {fd: os.readlink(f"/proc/self/fd/{fd}")
            for fd in map(int, os.listdir("/proc/self/fd"))
            if os.path.exists(f"/proc/self/fd/{fd}")}


@pytest.fixture(autouse=True)
def no_descriptor_left_open():
    """Fail a test that leaves a file descriptor open that was not open before it."""
    before = _open_fds()
    yield
    leaked = {fd: target for fd, target in _open_fds().items() if before.get(fd) != target}
    assert not leaked, f"descriptors left open: {leaked}"


pytest_plugins = ["tests.reactor_fixtures", "tests.deferred_fixtures"]
