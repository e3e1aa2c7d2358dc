"""The table of contents and the tour."""

import io
import shlex

import pytest

from coro import tour as tour_module
from coro.chapters import CHAPTERS, table_of_contents
from tests.support import Event, events, run_module


def test_list_prints_every_chapter_and_its_stages():
    result = run_module("coro", "--list")
    assert result.returncode == 0
    assert result.stdout == table_of_contents() + "\n"
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ch01  ")
    for chapter in CHAPTERS:
        assert f"ch{chapter.number:02d}  {chapter.title}" in lines
        for stage in chapter.stages:
            assert f"  {stage.role:<6}  {stage.command}" in lines


@pytest.mark.parametrize("stage", [s for c in CHAPTERS for s in c.stages],
                         ids=lambda stage: stage.command)
def test_every_listed_stage_runs_with_help(stage):
    assert stage.role in {"client", "server", "demo"}
    words = shlex.split(stage.command)
    assert words[:2] == ["python", "-m"]
    result = run_module(words[2], "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: python -m {words[2]}")


def test_the_tour_contrasts_the_models():
    out = io.StringIO()
    traces, status = tour_module.tour(out, delay=0.01, num_bytes=100)
    assert status == 0
    text = out.getvalue()
    assert "== ch02, the blocking client ==" in text
    assert "== ch03, the threaded client ==" in text
    assert text.count("Got 3 poems in") == len(tour_module.MODELS)
    blocking = [task for task, _ in events(traces["blocking"])]
    assert blocking == sorted(blocking)  # one download after another
    threaded = events(traces["threaded"], Event.START, Event.DONE)
    assert [event for _, event in threaded[:3]] == [Event.START] * 3  # all at once
    assert "model        total   sum of the downloads" in text
