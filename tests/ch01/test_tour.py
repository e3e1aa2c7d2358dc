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
    assert max(map(len, lines)) <= 80
    # A command that does not fit goes on over lines indented past the role.
    unwrapped = "\n".join(lines).replace("\n" + " " * 14, " ").splitlines()
    for chapter in CHAPTERS:
        assert f"{chapter.tag:<5} {chapter.title}" in unwrapped
        for stage in chapter.stages:
            assert f"  {stage.role:<6}  {stage.command}" in unwrapped


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
    reports, status = tour_module.tour(out, delay=0.01, num_bytes=100)
    assert status == 0
    text = out.getvalue()
    for model in tour_module.MODELS:
        assert f"== ch{model.chapter:02d}, the {model.name} client ==" in text
        assert all(poem is not None for poem in reports[model.name].poems.values())
    assert text.count("Got 3 poems in") == len(tour_module.MODELS)
    blocking = [task for task, _ in events(reports["blocking"].trace)]
    assert blocking == sorted(blocking)  # one download after another
    for name in ("threaded", "busy", "select", "epoll", "signal", "completion"):  # all three at once
        started = events(reports[name].trace, Event.START, Event.DONE)
        assert [event for _, event in started[:3]] == [Event.START] * 3, name
    table = text[text.index("model      chapter"):].splitlines()
    assert [row.split()[0] for row in table[1:]] == [m.name for m in tour_module.MODELS]


def test_a_model_this_system_lacks_is_skipped_and_named():
    """On macOS there is no epoll: the tour says so and runs the other models."""
    lacking = tour_module.Model("kqueue-only", 5, tour_module.MODELS[0].download_all,
                                needs="select.no_such_call")
    out = io.StringIO()
    reports, status = tour_module.tour(out, delay=0.01, num_bytes=1000,
                                       models=(tour_module.MODELS[0], lacking))
    assert status == 0
    assert list(reports) == ["blocking"]
    assert ("== ch05, the kqueue-only client: skipped, this system has no "
            "select.no_such_call ==") in out.getvalue().splitlines()
