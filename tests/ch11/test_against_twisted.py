"""Differential tests: the same chains, run on coro.deferred and on Twisted's Deferred,
must tell the same story.

Hypothesis builds a scenario: a Deferred, with or without a canceller (one that fires
it or one that does not), and a list of operations on it: add a callback, an errback
or both; fire it with a result or a failure; cancel it; pause and unpause it; fire or
cancel one of the inner Deferreds its stages returned. A stage returns a value, raises, passes its
input on, returns a Deferred that has fired (with a value or a failure), returns one
that fires later (with or without a canceller of its own), or cancels the Deferred it
runs in. The scenario runs on both libraries; each records a trace of which stage ran
with what, which canceller ran, and which call raised AlreadyCalledError, and the two
traces must be equal.

Every failure is handled by the end (the last stage consumes the outer Deferred's),
and each run checks that no Deferred it made still holds one: Twisted would log it
when collected, coro would report it.

Where coro differs from Twisted on purpose, a test below says so and checks both sides.
"""

import warnings

import pytest
from hypothesis import given, settings, strategies as st

from tests.deferred_fixtures import CORO, twisted_library

pytestmark = pytest.mark.usefixtures("twisted_logs_no_error")

TWISTED = twisted_library()


class Boom(Exception):
    """The one error the scenarios raise; its argument tells which stage raised it."""


def describe(lib, value):
    """A value as both libraries can agree on: a Failure becomes its exception's name
    (Twisted's CancelledError and coro's are both "CancelledError"), with the number
    of a Boom; the messages of the libraries' own errors differ, and are left out."""
    if isinstance(value, lib.Failure):
        if isinstance(value.value, Boom):
            return ("failure", "Boom", *value.value.args)
        return ("failure", lib.error_name(value.value))
    return value


def attempt(lib, trace, what, call):
    """Run ``call()``; an exception it raises goes into the trace under ``what``."""
    try:
        call()
    except Exception as error:  # noqa: BLE001 - which one is raised is what is compared
        trace.append((what, "raised", lib.error_name(error)))


# -- Scenarios ------------------------------------------------------------------------------

CANCELLERS = (None, "does nothing", "fires a result", "fires a failure")
ACTIONS = ("return", "raise", "pass on", "fired result", "fired failure", "later",
           "cancel own deferred")
numbers = st.integers(0, 9)

OPERATIONS = {
    "add": st.tuples(st.just("add"), st.sampled_from(("callback", "errback", "both")),
                     st.sampled_from(("later",) * 2 + ACTIONS), numbers,
                     st.sampled_from(CANCELLERS)),
    "callback": st.tuples(st.just("callback"), numbers),
    "errback": st.tuples(st.just("errback"), numbers),
    "cancel": st.just(("cancel",)),
    "fire inner": st.tuples(st.just("fire inner"), st.integers(0, 3), st.booleans(), numbers),
    "cancel inner": st.tuples(st.just("cancel inner"), st.integers(0, 3)),
    "pause": st.just(("pause",)),
    "unpause": st.just(("unpause",)),
}
# Stages, cancels and the inner Deferreds a cancel can reach are drawn more often.
operations = st.sampled_from(["add"] * 3 + ["cancel"] + list(OPERATIONS)).flatmap(
    OPERATIONS.get)
scenarios = st.tuples(st.sampled_from(CANCELLERS), st.lists(operations, max_size=14))


def run_chain(lib, canceller, operations):
    """Run one scenario on ``lib``; return its trace."""
    trace = []
    made = []
    inners = []

    def make(name, canceller):
        def cancel(d):
            trace.append(("canceller of", name))
            if canceller == "fires a result":
                d.callback(f"{name}, cancelled")
            elif canceller == "fires a failure":
                d.errback(Boom(name))

        d = lib.Deferred(None if canceller is None else cancel)
        made.append(d)
        return d

    outer = make("outer", canceller)

    def stage(name, action, n, inner_canceller):
        def run(result):
            trace.append((name, describe(lib, result)))
            if action == "raise":
                raise Boom(n)
            if action == "pass on":
                return result
            if action == "fired result":
                made.append(lib.succeed(n))
                return made[-1]
            if action == "fired failure":
                made.append(lib.fail(Boom(n)))
                return made[-1]
            if action == "later":
                inners.append(make(f"inner {len(inners)}", inner_canceller))
                return inners[-1]
            if action == "cancel own deferred":
                attempt(lib, trace, "cancel own deferred", outer.cancel)
            return n
        return run

    paused = 0
    for index, (op, *args) in enumerate(operations):
        if op == "add":
            kind, action, n, inner_canceller = args
            add = {"callback": lib.add_callback, "errback": lib.add_errback,
                   "both": lib.add_both}[kind]
            add(outer, stage(f"{kind} {index}", action, n, inner_canceller))
        elif op == "callback":
            attempt(lib, trace, op, lambda: outer.callback(args[0]))
        elif op == "errback":
            attempt(lib, trace, op, lambda: outer.errback(Boom(args[0])))
        elif op == "cancel":
            attempt(lib, trace, op, outer.cancel)
        elif op == "pause":
            outer.pause()
            paused += 1
        elif op == "unpause" and paused:
            outer.unpause()
            paused -= 1
        elif op in ("fire inner", "cancel inner") and inners:
            inner = inners[args[0] % len(inners)]
            if op == "cancel inner":
                attempt(lib, trace, op, inner.cancel)
            elif args[1]:
                attempt(lib, trace, op, lambda: inner.callback(args[2]))
            else:
                attempt(lib, trace, op, lambda: inner.errback(Boom(args[2])))
    for _ in range(paused):
        outer.unpause()
    lib.add_both(outer, lambda result: trace.append(("last stage", describe(lib, result))))
    left = [d for d in made if isinstance(getattr(d, "result", None), lib.Failure)]
    assert not left, f"{lib}: Deferreds left holding a failure: {left}"
    return trace


@settings(max_examples=400, deadline=None)
@given(scenarios)
def test_a_chain_tells_the_same_story_on_coro_and_twisted(scenario):
    assert run_chain(CORO, *scenario) == run_chain(TWISTED, *scenario)


# A few scenarios spelled out, so that the rules the property covers are seen to be in it.

@pytest.mark.parametrize("scenario, expected", [
    ((None, [("cancel",), ("callback", 1)]),
     [("last stage", ("failure", "CancelledError"))]),
    (("does nothing", [("cancel",), ("callback", 1)]),
     [("canceller of", "outer"), ("callback", "raised", "AlreadyCalledError"),
      ("last stage", ("failure", "CancelledError"))]),
    (("fires a result", [("cancel",), ("callback", 1)]),
     [("canceller of", "outer"), ("callback", "raised", "AlreadyCalledError"),
      ("last stage", "outer, cancelled")]),
    ((None, [("add", "callback", "later", 3, None), ("callback", 1), ("cancel",),
             ("fire inner", 0, True, 2)]),
     [("callback 0", 1), ("last stage", ("failure", "CancelledError"))]),
    ((None, [("add", "callback", "later", 3, "does nothing"), ("callback", 1), ("cancel",),
             ("fire inner", 0, True, 2)]),
     [("callback 0", 1), ("canceller of", "inner 0"),
      ("fire inner", "raised", "AlreadyCalledError"),
      ("last stage", ("failure", "CancelledError"))]),
], ids=["no canceller: late result ignored", "canceller did nothing: late result raises",
        "canceller fired: late result raises", "inner with no canceller: ignored",
        "inner with a canceller: raises"])
def test_late_results_after_a_cancel(scenario, expected):
    assert run_chain(TWISTED, *scenario) == expected
    assert run_chain(CORO, *scenario) == expected


# -- Where coro differs from Twisted, on purpose ---------------------------------------------

def test_difference_callback_with_a_deferred_is_a_type_error_in_coro():
    # Twisted takes the Deferred as the result itself, unwaited; coro refuses it, and
    # says how to wait on a Deferred instead.
    twisted_d, inner = TWISTED.Deferred(), TWISTED.Deferred()
    twisted_d.callback(inner)
    assert twisted_d.result is inner
    with pytest.raises(TypeError, match="return it from a callback"):
        CORO.Deferred().callback(CORO.Deferred())


def test_difference_a_stage_that_returns_its_own_deferred_fails_it_in_coro():
    # Twisted warns and leaves the chain waiting on itself for ever; coro fails it with
    # a TypeError that names the mistake.
    twisted_d = TWISTED.Deferred()
    twisted_d.addCallback(lambda result: twisted_d)
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        twisted_d.callback(1)
    assert "returned the Deferred it was attached to" in str(warned[0].message)
    assert twisted_d.result is twisted_d
    coro_d = CORO.Deferred()
    coro_d.add_callback(lambda result: coro_d)
    coro_d.callback(1)
    assert coro_d.result.check(TypeError)
    coro_d.add_errback(lambda failure: None)


def test_difference_an_error_that_is_not_an_exception_goes_up_in_coro():
    # Twisted turns any BaseException raised by a stage into a Failure; coro catches
    # Exception only, so KeyboardInterrupt and SystemExit reach the loop and stop it.
    def interrupt(result):
        raise KeyboardInterrupt

    twisted_d = TWISTED.Deferred().addCallback(interrupt)
    twisted_d.callback(None)
    assert twisted_d.result.check(KeyboardInterrupt)
    twisted_d.addErrback(lambda failure: None)
    coro_d = CORO.Deferred().add_callback(interrupt)
    with pytest.raises(KeyboardInterrupt):
        coro_d.callback(None)
