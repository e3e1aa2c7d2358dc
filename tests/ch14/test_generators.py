"""The rules of generators, checked on real generators, and the demos that show them.

The first half states each rule of the language that the chapter teaches, so that the
page cannot claim what Python does not do. The second half pins the demos' output,
which is the page's text for each rule.
"""

from inspect import getgeneratorlocals, getgeneratorstate

import pytest

from coro import generators
from tests.support import assert_one_line_usage_error, run_module

PROG = "python -m coro.generators"


# -- A generator is a paused frame ----------------------------------------------------

def test_calling_a_generator_function_runs_none_of_its_body():
    ran = []

    def gen():
        ran.append("body")
        yield

    g = gen()
    assert ran == []
    assert getgeneratorstate(g) == "GEN_CREATED"


def test_next_runs_to_the_next_yield_and_the_locals_survive_between_resumptions():
    def count():
        total = 0
        for n in (1, 2, 3):
            total += n
            yield total

    g = count()
    assert next(g) == 1
    assert getgeneratorstate(g) == "GEN_SUSPENDED"
    assert getgeneratorlocals(g) == {"total": 1, "n": 1}
    assert next(g) == 3
    assert getgeneratorlocals(g) == {"total": 3, "n": 2}
    assert next(g) == 6
    with pytest.raises(StopIteration):
        next(g)
    assert getgeneratorstate(g) == "GEN_CLOSED"
    with pytest.raises(StopIteration):  # a finished generator stays finished
        next(g)


def test_a_generator_is_running_only_while_it_runs():
    seen = []

    def watch():
        seen.append(getgeneratorstate(g))
        yield

    g = watch()
    next(g)
    assert seen == ["GEN_RUNNING"]


# -- send ------------------------------------------------------------------------------

def test_the_first_resume_must_send_none_and_a_refused_send_leaves_it_unstarted():
    def gen():
        got = yield "first"
        yield got

    g = gen()
    with pytest.raises(TypeError) as refused:
        g.send("too early")
    assert str(refused.value) == "can't send non-None value to a just-started generator"
    assert getgeneratorstate(g) == "GEN_CREATED"
    assert g.send(None) == "first"
    assert g.send("hello") == "hello"


def test_send_resumes_and_the_paused_yield_evaluates_to_the_value_sent():
    received = []

    def gen():
        while True:
            received.append((yield len(received)))

    g = gen()
    assert next(g) == 0
    assert g.send("a") == 1
    assert next(g) == 2  # next(g) is g.send(None)
    assert received == ["a", None]


# -- throw -----------------------------------------------------------------------------

def test_throw_raises_at_the_yield_and_a_generator_that_catches_it_goes_on():
    events = []

    def gen():
        while True:
            try:
                yield "waiting"
            except TimeoutError as exc:
                events.append(f"caught {exc}")

    g = gen()
    next(g)
    assert g.throw(TimeoutError("slow")) == "waiting"  # the next value it yields
    assert events == ["caught slow"]
    assert getgeneratorstate(g) == "GEN_SUSPENDED"


def test_an_exception_thrown_in_and_not_caught_comes_out_and_ends_the_generator():
    def gen():
        yield "waiting"

    g = gen()
    next(g)
    error = KeyError("poem")
    with pytest.raises(KeyError) as raised:
        g.throw(error)
    assert raised.value is error
    assert raised.traceback[-1].name == "gen"  # it went through the generator's frame
    assert getgeneratorstate(g) == "GEN_CLOSED"


def test_throw_into_a_generator_that_has_not_started_raises_before_its_first_line():
    ran = []

    def gen():
        ran.append("body")
        yield

    g = gen()
    with pytest.raises(ValueError):
        g.throw(ValueError("early"))
    assert ran == []
    assert getgeneratorstate(g) == "GEN_CLOSED"


# -- close -----------------------------------------------------------------------------

def test_close_raises_generator_exit_at_the_yield_and_finally_runs():
    events = []

    def gen():
        try:
            yield 1
            events.append("after the yield")
        except GeneratorExit:
            events.append("GeneratorExit")
            raise
        finally:
            events.append("finally")

    g = gen()
    next(g)
    assert g.close() is None
    assert events == ["GeneratorExit", "finally"]
    assert getgeneratorstate(g) == "GEN_CLOSED"
    g.close()  # closing again does nothing
    assert events == ["GeneratorExit", "finally"]


def test_closing_a_generator_that_never_started_runs_nothing():
    events = []

    def gen():
        try:
            yield
        finally:
            events.append("finally")

    g = gen()
    g.close()
    assert events == []
    assert getgeneratorstate(g) == "GEN_CLOSED"


def test_a_generator_that_yields_while_closing_makes_close_raise_runtime_error():
    def gen():
        try:
            yield 1
        except GeneratorExit:
            yield 2

    g = gen()
    next(g)
    with pytest.raises(RuntimeError, match="^generator ignored GeneratorExit$"):
        g.close()
    g.close()  # paused at the second yield, outside the handler: this time it ends
    assert getgeneratorstate(g) == "GEN_CLOSED"


def test_a_paused_generator_that_is_dropped_is_closed():
    events = []

    def gen():
        try:
            yield
        finally:
            events.append("finally")

    g = gen()
    next(g)
    del g  # CPython frees it at once, and freeing a paused generator closes it
    assert events == ["finally"]


# -- return ----------------------------------------------------------------------------

def test_the_return_value_travels_in_stop_iteration_value():
    def gen():
        yield "line"
        return 1

    g = gen()
    next(g)
    with pytest.raises(StopIteration) as stop:
        next(g)
    assert stop.value.value == 1
    assert stop.value.args == (1,)


def test_a_for_loop_drops_the_return_value_and_falling_off_the_end_returns_none():
    def gen():
        yield "line"
        return 1

    assert list(gen()) == ["line"]

    def plain():
        yield "line"

    g = plain()
    next(g)
    with pytest.raises(StopIteration) as stop:
        next(g)
    assert stop.value.value is None


# -- yield from ------------------------------------------------------------------------

def delegation(events):
    """outer() delegates to inner(); both write down what happens to them."""

    def inner():
        try:
            got = yield "inner 1"
            events.append(f"inner got {got!r}")
            yield "inner 2"
        except ValueError as exc:
            events.append(f"inner caught {exc}")
            return "inner recovered"
        finally:
            events.append("inner finally")
        return "inner done"

    def outer():
        try:
            result = yield from inner()
            events.append(f"outer got {result!r}")
            yield "outer"
        finally:
            events.append("outer finally")

    return outer()


def test_yield_from_passes_next_and_send_through_and_is_the_subgenerators_return():
    events = []
    g = delegation(events)
    assert next(g) == "inner 1"
    assert g.send("hello") == "inner 2"
    assert next(g) == "outer"
    assert events == ["inner got 'hello'", "inner finally", "outer got 'inner done'"]


def test_yield_from_passes_throw_to_the_subgenerator():
    events = []
    g = delegation(events)
    next(g)
    assert g.throw(ValueError("bad line")) == "outer"
    assert events == ["inner caught bad line", "inner finally",
                      "outer got 'inner recovered'"]


def test_an_exception_the_subgenerator_does_not_catch_goes_on_to_the_delegator():
    events = []
    g = delegation(events)
    next(g)
    with pytest.raises(KeyError):
        g.throw(KeyError("x"))
    assert events == ["inner finally", "outer finally"]


def test_yield_from_closes_the_subgenerator_first():
    events = []
    g = delegation(events)
    next(g)
    g.close()
    assert events == ["inner finally", "outer finally"]


def test_yield_from_a_plain_iterable_yields_its_items_and_evaluates_to_none():
    results = []

    def gen():
        results.append((yield from ["a", "b"]))

    assert list(gen()) == ["a", "b"]
    assert results == [None]


# -- PEP 479 ---------------------------------------------------------------------------

def test_a_stop_iteration_raised_inside_a_generator_becomes_runtime_error():
    def gen():
        yield "first"
        next(iter([]))  # a stray StopIteration
        yield "never"

    g = gen()
    assert next(g) == "first"
    with pytest.raises(RuntimeError, match="^generator raised StopIteration$") as raised:
        next(g)
    assert isinstance(raised.value.__cause__, StopIteration)
    assert getgeneratorstate(g) == "GEN_CLOSED"


def test_an_iterator_class_with_the_same_stray_stop_iteration_just_stops():
    class Lines:
        def __iter__(self):
            return self

        def __next__(self):
            return next(iter([]))

    assert list(Lines()) == []


# -- The demos' output: the page's text --------------------------------------------------

EXPECTED = {
    "paused": """\
caller: gen = count_to(2)
caller: nothing has run: GEN_CREATED
caller: next(gen)
    count_to: started with limit=2
    count_to: yield 1
caller: got 1; GEN_SUSPENDED with locals {'limit': 2, 'total': 1, 'n': 1}
caller: next(gen)
    count_to: yield 2
caller: got 2; GEN_SUSPENDED with locals {'limit': 2, 'total': 3, 'n': 2}
caller: next(gen)
    count_to: the loop is over, total=3
caller: StopIteration: the frame has returned; GEN_CLOSED
""",
    "send": """\
caller: gen = running_total()
caller: gen.send(10)
caller: TypeError: can't send non-None value to a just-started generator
caller: still GEN_CREATED
caller: gen.send(None), which is next(gen)
    running_total: yield 0
caller: got 0
caller: gen.send(10)
    running_total: the yield evaluated to 10
    running_total: yield 10
caller: got 10
caller: gen.send(5)
    running_total: the yield evaluated to 5
    running_total: yield 15
caller: got 15
""",
    "throw": """\
caller: gen = patient(); next(gen)
    patient: yield 'waiting'
caller: gen.throw(TimeoutError('too slow'))
    patient: the yield raised TimeoutError('too slow'); caught it
    patient: yield 'waiting'
caller: throw returned 'waiting', the next value yielded
caller: gen.throw(KeyError('no such poem'))
caller: KeyError('no such poem') came out of throw, raised in patient; GEN_CLOSED
""",
    "close": """\
caller: gen = reciter(); next(gen)
    reciter: yield 'first line'
caller: gen.close()
    reciter: finally: put the book away
caller: close returned None; GEN_CLOSED
caller: gen = reciter(); next(gen)
    reciter: yield 'first line'
caller: del gen
    reciter: finally: put the book away
caller: gen = stubborn(); next(gen)
caller: gen.close()
    stubborn: caught GeneratorExit, and yields anyway
caller: RuntimeError: generator ignored GeneratorExit
""",
    "return": """\
caller: lines = ['Tyger Tyger,', 'burning bright']
caller: list(recite(lines)) is ['Tyger Tyger,', 'burning bright'], and no 2
caller: gen = recite(lines)
caller: got 'Tyger Tyger,'
caller: got 'burning bright'
caller: StopIteration(2): it returned 2
""",
    "yield-from": """\
caller: gen = outer(); next(gen)
  outer: yield from inner()
    inner: yield 1
caller: got 1
caller: gen.send('hello')
    inner: the yield evaluated to 'hello'
    inner: yield 2
caller: got 2
caller: gen.throw(ValueError('bad line'))
    inner: caught ValueError('bad line'); return 'recovered'
    inner: finally
  outer: yield from inner() evaluated to 'recovered'
  outer: yield 3
caller: got 3
caller: gen.close()
  outer: finally
caller: gen = outer(); next(gen)
  outer: yield from inner()
    inner: yield 1
caller: gen.close()
    inner: finally
  outer: finally
""",
    "stop-iteration": """\
caller: for line in first_lines(poems)
caller: got 'Tyger Tyger, burning bright,'
caller: RuntimeError: generator raised StopIteration, from StopIteration()
caller: for line in FirstLines(poems)
caller: got 'Tyger Tyger, burning bright,'
caller: the loop ended without an error, and the third poem was lost
""",
    "round-robin": """\
task 1: Die Lorelei
task 2: The Tyger
task 1: Heinrich Heine
task 2: William Blake
task 1 returned 2
task 2: Tyger Tyger, burning bright,
task 2 returned 3
caller: run() returned [2, 3]
""",
}


def test_the_demos_are_listed_in_the_order_of_the_chapter():
    assert list(generators.DEMOS) == ["paused", "send", "throw", "close", "return",
                                      "yield-from", "stop-iteration", "round-robin"]
    assert list(EXPECTED) == list(generators.DEMOS)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_each_demo_prints_its_trace(name, capsys):
    generators.DEMOS[name]()
    assert capsys.readouterr() == (EXPECTED[name], "")


def test_one_demo_by_name_prints_no_heading(capsys):
    assert generators.main(["send"]) == 0
    assert capsys.readouterr().out == EXPECTED["send"]


def test_several_demos_run_in_the_order_asked_each_under_a_heading(capsys):
    assert generators.main(["return", "paused"]) == 0
    heading = generators.heading
    assert capsys.readouterr().out == (heading("return") + EXPECTED["return"] + "\n"
                                       + heading("paused") + EXPECTED["paused"])


def test_list_names_each_demo_with_its_summary(capsys):
    assert generators.main(["--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == list(generators.DEMOS)
    assert lines[0].split(None, 1)[1] == generators.summary("paused")


def test_the_command_runs_every_demo_in_order():
    result = run_module("coro.generators")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == "\n".join(generators.heading(name) + text
                                      for name, text in EXPECTED.items())


@pytest.mark.parametrize("args", [["no-such-demo"], ["send", "sned"], ["--frobnicate"]])
def test_an_unknown_demo_is_a_one_line_usage_error(args):
    result = run_module("coro.generators", *args)
    assert_one_line_usage_error(result, PROG)


def test_an_unknown_demo_is_named_with_the_ones_there_are():
    result = run_module("coro.generators", "sned")
    assert "'sned'" in result.stderr and "send" in result.stderr


def test_help():
    result = run_module("coro.generators", "--help")
    assert result.returncode == 0
    assert result.stdout.startswith(f"usage: {PROG}")
