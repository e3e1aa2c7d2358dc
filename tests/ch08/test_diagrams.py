"""Chapter 8's figure of a reactor tick: drawn from a traced tick of a real Reactor, so
its steps are the ones run_once names, and its calls the ones run_once made."""

import inspect

from coro.reactor.loop import Reactor
from tests.docs_extensions import drawn_texts, load_diagrams

diagrams = load_diagrams()
recorded_runs = diagrams.recorded_runs


def test_the_steps_are_the_ones_run_once_names_and_numbers():
    tick = recorded_runs.reactor_tick()
    summary = inspect.getdoc(Reactor.run_once).splitlines()[0]
    source = inspect.getsource(Reactor.run_once)
    assert [step.number for step in tick.steps] == [1, 2, 3]
    for step in tick.steps:
        assert step.title in summary
        assert f"# {step.number}. {step.comment}" in source


def test_the_traced_tick_asks_the_heap_then_polls_then_runs_what_was_ready():
    first, second, third = recorded_runs.reactor_tick().steps
    assert "_timers.next_time" in first.calls and not first.ran
    assert "_multiplexer.poll" in second.calls and not second.ran
    assert "_timers.pop_due" in third.calls
    assert third.ran == ["on_readable", "on_writable", "on_timer"]


def test_each_scheduling_method_fills_the_place_a_step_takes_from():
    tick = recorded_runs.reactor_tick()
    assert tick.entries == {"_timers": ["call_later", "call_at"],
                            "_multiplexer": ["add_reader", "add_writer"],
                            "_ready": ["call_soon"]}
    assert tick.places["_timers"] == "TimerHeap"
    assert tick.queued == [("on_timer", "call_soon", "soon")]


def test_the_figure_draws_the_names_it_got_from_the_code():
    tick = recorded_runs.reactor_tick()
    texts = "\n".join(drawn_texts(diagrams.reactor_tick))
    for step in tick.steps:
        assert f"{step.number}. {step.title}" in texts.replace("\n", " ")
        for call in step.calls:
            assert f"{call}()" in texts
    for place, methods in tick.entries.items():
        assert place in texts and ", ".join(methods) in texts
