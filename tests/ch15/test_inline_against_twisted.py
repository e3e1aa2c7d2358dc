"""Differential tests: the same generators, run by coro's inline_callbacks (and
ensure_deferred) and by Twisted's inlineCallbacks (and ensureDeferred), must tell the
same story, cancellation included.

Hypothesis builds a generator from a script: steps that each wait on something (a
Deferred that has fired with a result or a failure, one that fires later, with or
without a canceller, or another such generator), or cancel the generator's own
Deferred; then a return or a raise; around them, an ``except CancelledError`` that
re-raises, returns a fallback, or first waits and then returns one, an ``except`` of
the steps' own error, and a ``finally`` that may wait too. The test then fires the
Deferreds the generator waits on, cancels it (once or more), cancels a generator it
waits on, and fires a cancelled Deferred late, in an order hypothesis picks; at the
end it fires whatever is still waited on, until the generator has ended. Each
library records which step saw what, and which call raised; the traces must be equal.

The same scripts run as coroutines (``await`` for ``yield``), but for plain values:
see the differences at the end.
"""

import types

import pytest
from hypothesis import given, settings, strategies as st

from tests.deferred_fixtures import CORO, twisted_library

pytestmark = pytest.mark.usefixtures("twisted_logs_no_error")

TWISTED = twisted_library()


class Boom(Exception):
    """The one error the scripts raise; its argument tells which step raised it."""


def describe(lib, value):
    """A value both libraries agree on; a Failure is its exception's name (and a Boom's
    number), since the messages of the libraries' own errors differ."""
    if isinstance(value, lib.Failure):
        value = value.value
    if isinstance(value, Boom):
        return ("Boom", *value.args)
    if isinstance(value, BaseException):
        return lib.error_name(value)
    return value


# -- Scripts --------------------------------------------------------------------------------

CANCELLERS = (None, "does nothing", "fires a result", "fires a failure")
numbers = st.integers(0, 9)
LEAF_STEPS = {
    "later": st.tuples(st.just("later"), st.sampled_from(CANCELLERS)),
    "fired result": st.tuples(st.just("fired result"), numbers),
    "fired failure": st.tuples(st.just("fired failure"), numbers),
    "plain": st.tuples(st.just("plain"), numbers),
    "cancel own deferred": st.just(("cancel own deferred",)),
}
# The waits that a cancel can reach are drawn three times as often as each other step.
leaf_steps = st.sampled_from(["later"] * 3 + list(LEAF_STEPS)).flatmap(LEAF_STEPS.get)


def scripts(steps):
    return st.fixed_dictionaries({
        "steps": st.lists(steps, max_size=4),
        "ending": st.sampled_from(("return", "raise")),
        "value": numbers,
        "on_cancel": st.sampled_from((None, "re-raise", "fallback", "wait, then fallback")),
        "on_boom": st.sampled_from((None, "fallback")),
        "finally": st.sampled_from((None, "note", "wait later", "wait fired")),
    })


child_scripts = scripts(leaf_steps)
top_scripts = scripts(st.one_of(leaf_steps, st.tuples(st.just("child"), child_scripts)))
OPERATIONS = {
    "cancel": st.just(("cancel",)),
    "fire": st.tuples(st.just("fire"), st.booleans(), numbers),
    "cancel child": st.just(("cancel child",)),
    "fire any": st.tuples(st.just("fire any"), st.integers(0, 3), st.booleans(), numbers),
}
# Cancels, too, three times as often as each other operation.
operations = st.lists(
    st.sampled_from(["cancel"] * 3 + list(OPERATIONS)).flatmap(OPERATIONS.get), max_size=8)


@types.coroutine
def _delegate(gen):
    return (yield from gen)


async def as_coroutine(gen):
    """The generator's script as a coroutine: each ``yield`` an ``await``."""
    return await _delegate(gen)


class Run:
    """One run of a script on one library: the Deferreds it made, and its trace."""

    def __init__(self, lib, use_coroutines):
        self.lib = lib
        self.use_coroutines = use_coroutines
        self.trace = []
        self.later = []  # the Deferreds made to fire later, in order
        self.children = []  # the Deferreds of the child generators
        self.fired = []  # the Deferreds made fired

    def attempt(self, what, call):
        try:
            call()
        except Exception as error:  # noqa: BLE001 - which one is raised is what is compared
            self.trace.append((what, "raised", self.lib.error_name(error)))

    def make_later(self, canceller):
        name = f"later {len(self.later)}"

        def cancel(d):
            self.trace.append(("canceller of", name))
            if canceller == "fires a result":
                d.callback(f"{name}, cancelled")
            elif canceller == "fires a failure":
                d.errback(Boom(name))

        self.later.append(self.lib.Deferred(None if canceller is None else cancel))
        return self.later[-1]

    def wait_for(self, step):
        """What the script yields for ``step``."""
        kind = step[0]
        if kind == "fired result":
            self.fired.append(self.lib.succeed(step[1]))
            return self.fired[-1]
        if kind == "fired failure":
            self.fired.append(self.lib.fail(Boom(step[1])))
            return self.fired[-1]
        if kind == "later":
            return self.make_later(step[1])
        if kind == "child":
            return self.start(step[1], f"child {len(self.children)}", self.children)
        return step[1]  # "plain": a value that is not a Deferred

    def start(self, script, name, into=None):
        """Start the script as a generator (or coroutine) under the library's driver."""
        own = []  # its own Deferred, once the first run has returned it
        gen = self.script(script, name, own)
        if self.use_coroutines:
            d = self.lib.ensure_deferred(as_coroutine(gen))
        else:
            d = self.lib.inline_callbacks(lambda: (yield from gen))()
        own.append(d)
        if into is not None:
            into.append(d)
        return d

    def script(self, script, name, own):
        lib, trace = self.lib, self.trace
        try:
            for step in script["steps"]:
                if step[0] == "cancel own deferred":
                    if own:
                        self.attempt((name, "cancel own deferred"), own[0].cancel)
                    else:
                        trace.append((name, "has no Deferred yet"))
                    continue
                trace.append((name, "got", describe(lib, (yield self.wait_for(step)))))
            if script["ending"] == "raise":
                raise Boom(script["value"])
            return script["value"]
        except lib.CancelledError:
            trace.append((name, "cancelled"))
            if script["on_cancel"] is None or script["on_cancel"] == "re-raise":
                raise
            if script["on_cancel"] == "wait, then fallback":
                trace.append((name, "cleaned up", describe(lib, (yield self.make_later(None)))))
            return f"{name} fallback"
        except Boom as error:
            trace.append((name, "caught", describe(lib, error)))
            if script["on_boom"] is None:
                raise
            return f"{name} fallback"
        finally:
            trace.append((name, "finally"))
            if script["finally"] == "wait later":
                trace.append((name, "finally got", describe(lib, (yield self.make_later(None)))))
            elif script["finally"] == "wait fired":
                trace.append((name, "finally got", describe(lib, (yield lib.succeed("x")))))

    def pending(self):
        return [d for d in self.later if not d.called]

    def fire(self, d, ok, n):
        self.attempt("fire", (lambda: d.callback(n)) if ok else (lambda: d.errback(Boom(n))))


def run_script(lib, script, operations, *, use_coroutines=False):
    """Run one script and the operations on it with ``lib``; return the trace."""
    run = Run(lib, use_coroutines)
    top = run.start(script, "top")
    for op, *args in operations:
        if op == "fire" and run.pending():
            run.fire(run.pending()[-1], *args)
        elif op == "cancel":
            run.attempt("cancel", top.cancel)
        elif op == "cancel child" and run.children:
            run.attempt("cancel child", run.children[-1].cancel)
        elif op == "fire any" and run.later:
            index, ok, n = args
            run.fire(run.later[index % len(run.later)], ok, n)
    for _ in range(20):  # the end: whatever is still waited on fires, until no more is
        if not run.pending():
            break
        run.fire(run.pending()[-1], True, "at the end")
    lib.add_both(top, lambda result: run.trace.append(("top ended with",
                                                       describe(lib, result))))
    assert run.trace[-1][0] == "top ended with", f"{lib}: a generator is still waiting"
    made = [*run.later, *run.children, *run.fired, top]
    left = [d for d in made if isinstance(getattr(d, "result", None), lib.Failure)]
    assert not left, f"{lib}: Deferreds left holding a failure: {left}"
    return run.trace


def no_plain_values(script):
    """The script without its ``plain`` steps, which only generators may take."""
    steps = [("child", no_plain_values(step[1])) if step[0] == "child" else step
             for step in script["steps"] if step[0] != "plain"]
    return {**script, "steps": steps}


@settings(max_examples=300, deadline=None)
@given(top_scripts, operations)
def test_a_generator_tells_the_same_story_on_coro_and_twisted(script, operations):
    assert run_script(CORO, script, operations) == run_script(TWISTED, script, operations)


@settings(max_examples=200, deadline=None)
@given(top_scripts.map(no_plain_values), operations)
def test_a_coroutine_tells_the_same_story_on_coro_and_twisted(script, operations):
    assert (run_script(CORO, script, operations, use_coroutines=True)
            == run_script(TWISTED, script, operations, use_coroutines=True))


# A few scripts spelled out, so that the rules the property covers are seen to be in it.

def plan(steps, **rest):
    return {"steps": steps, "ending": "return", "value": 1, "on_cancel": None,
            "on_boom": None, "finally": None, **rest}


@pytest.mark.parametrize("script, operations, expected", [
    (plan([("later", None)]), [("cancel",)],
     [("top", "cancelled"), ("top", "finally"), ("top ended with", "CancelledError")]),
    (plan([("later", None)], on_cancel="fallback"), [("cancel",)],
     [("top", "cancelled"), ("top", "finally"), ("top ended with", "top fallback")]),
    (plan([("later", None)], on_cancel="wait, then fallback", **{"finally": "wait later"}),
     [("cancel",), ("fire", True, 5)],
     [("top", "cancelled"), ("top", "cleaned up", 5), ("top", "finally"),
      ("top", "finally got", "at the end"), ("top ended with", "top fallback")]),
    (plan([("later", "fires a result")]), [("cancel",)],
     [("canceller of", "later 0"), ("top", "got", "later 0, cancelled"), ("top", "finally"),
      ("top ended with", 1)]),
    (plan([("later", "does nothing")]), [("cancel",), ("fire any", 0, True, 2)],
     [("canceller of", "later 0"), ("top", "cancelled"), ("top", "finally"),
      ("fire", "raised", "AlreadyCalledError"), ("top ended with", "CancelledError")]),
    (plan([("child", plan([("later", None)]))], on_cancel="fallback"), [("cancel",)],
     [("child 0", "cancelled"), ("child 0", "finally"), ("top", "cancelled"),
      ("top", "finally"), ("top ended with", "top fallback")]),
], ids=["not caught", "caught, with a fallback", "waits after the cancel",
        "the canceller's result", "a late result after a canceller", "nested"])
def test_cancelling_a_generator(script, operations, expected):
    assert run_script(TWISTED, script, operations) == expected
    assert run_script(CORO, script, operations) == expected


# -- Where coro differs from Twisted, on purpose ---------------------------------------------

def test_difference_the_deferred_of_a_cancelled_generator_is_called_only_when_it_ends():
    # Twisted's cancel() marks the Deferred called at once and makes it wait on one of
    # its own while the generator goes on; coro's fires it when the generator ends. Both
    # run its callbacks at the same moment, with the same result: only `called` differs.
    for lib, called_at_once in ((TWISTED, True), (CORO, False)):
        cleanup = lib.Deferred()

        def task():
            try:
                yield lib.Deferred()
            finally:
                yield cleanup

        seen = []
        d = lib.inline_callbacks(task)()
        lib.add_both(d, lambda result: seen.append(describe(lib, result)))
        d.cancel()
        assert (d.called, seen) == (called_at_once, [])
        cleanup.callback(None)
        assert (d.called, seen) == (True, ["CancelledError"])


def test_difference_yielding_a_generator_or_a_coroutine_gives_it_back_in_coro():
    # Twisted runs a generator or a coroutine that is yielded as if it had been
    # decorated (or given to ensureDeferred); coro gives back anything that is not a
    # Deferred, as it does a plain value: decorate the generator function instead.
    def inner():
        return (yield TWISTED.succeed("inner's result"))

    def task(lib):
        got = yield inner()
        return got if isinstance(got, str) else "a generator"

    for lib, expected in ((TWISTED, "inner's result"), (CORO, "a generator")):
        seen = []
        lib.add_both(lib.inline_callbacks(task)(lib), seen.append)
        assert seen == [expected]


def test_difference_a_coroutine_may_await_only_deferreds_in_coro():
    # What a coroutine awaits reaches the driver; Twisted's sends a plain value straight
    # back, coro's raises TypeError at the await: it belongs to another loop.
    @types.coroutine
    def plain():
        return (yield 42)

    async def task():
        try:
            return await plain()
        except TypeError:
            return "TypeError"

    for lib, expected in ((TWISTED, 42), (CORO, "TypeError")):
        seen = []
        lib.add_both(lib.ensure_deferred(task()), seen.append)
        assert seen == [expected]


def test_difference_an_error_that_is_not_an_exception_goes_up_in_coro():
    # Twisted fails the generator's Deferred with any BaseException; coro lets
    # KeyboardInterrupt and SystemExit go on up, to the loop, which stops.
    for lib in (TWISTED, CORO):
        go = lib.Deferred()

        def task():
            yield go
            raise KeyboardInterrupt

        d = lib.inline_callbacks(task)()
        if lib is CORO:
            with pytest.raises(KeyboardInterrupt):
                go.callback(None)
        else:
            go.callback(None)
            assert d.result.check(KeyboardInterrupt)
            d.addErrback(lambda failure: None)


def test_difference_a_generator_resumed_by_a_generators_deferred_fires_after_its_chain():
    # When a generator ends, and its Deferred resumes a second generator that ends too,
    # Twisted fires the second one's Deferred at once, in the middle of the first one's
    # chain; coro's driver fires it after that chain's remaining callbacks, so that ten
    # thousand generators each waiting on the one before do not nest ten thousand calls.
    for lib, expected in ((TWISTED, ["second fired", "first's later callback"]),
                          (CORO, ["first's later callback", "second fired"])):
        trace = []
        go = lib.Deferred()

        def wait_for(d):
            return (yield d)

        first = lib.inline_callbacks(wait_for)(go)
        second = lib.inline_callbacks(wait_for)(first)
        lib.add_callback(first, lambda result: trace.append("first's later callback"))
        lib.add_callback(second, lambda result: trace.append("second fired"))
        go.callback(None)
        assert trace == expected
