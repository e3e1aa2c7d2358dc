"""Test-wide rules: chapter markers from folders.

The fixtures (``clock``, ``errors``, ``reactor``, ``fake_reactor``, ``kernel``,
``unhandled_failures``) and the checks that a test leaves nothing behind come from coro's
own pytest plugin, :mod:`coro.testing.plugin`, which pyproject.toml's ``coro_check_all``
turns on for every test here.
"""

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


pytest_plugins = ["tests.reactor_fixtures", "tests.deferred_fixtures"]
