"""A differential test: the same DeferredList, fired and cancelled in the same order,
must end the same on coro.deferred and on Twisted.

Hypothesis picks a few Deferreds (each with or without a canceller, one that fires
or one that does not), the list's options, and operations: fire one of them with a
result or a failure, cancel one of them, cancel the list. Each library records what
the list fired with (its results, or the first error and where it was), what each
Deferred was left with, and which call raised; the records must be equal.
"""

import pytest
from hypothesis import given, settings, strategies as st

from coro.deferred.deferred_list import DeferredList
from tests.deferred_fixtures import CORO, twisted_library

pytestmark = pytest.mark.usefixtures("twisted_logs_no_error")

TWISTED = twisted_library()


class Boom(Exception):
    """The one error the scenarios raise; its argument tells which Deferred failed."""


def coro_list(deferreds, options):
    return DeferredList(deferreds, **options)


def twisted_list(deferreds, options):
    from twisted.internet.defer import DeferredList as TwistedDeferredList

    return TwistedDeferredList(deferreds, fireOnOneCallback=options["fire_on_one_callback"],
                               fireOnOneErrback=options["fire_on_one_errback"],
                               consumeErrors=options["consume_errors"])


def describe(lib, value):
    """A value both libraries agree on: a Failure as its error's name, a Boom's argument,
    and for a FirstError, the failure it holds and its index."""
    if isinstance(value, lib.Failure):
        value = value.value
        sub_failure = getattr(value, "sub_failure", getattr(value, "subFailure", None))
        if sub_failure is not None:
            return ("FirstError", describe(lib, sub_failure), value.index)
        if isinstance(value, Boom):
            return ("Boom", *value.args)
        return lib.error_name(value)
    if isinstance(value, (list, tuple)):
        return [describe(lib, item) for item in value]
    return value


CANCELLERS = (None, "does nothing", "fires a result")
operations = st.lists(st.one_of(
    st.tuples(st.just("fire"), st.integers(0, 3), st.booleans(), st.integers(0, 9)),
    st.tuples(st.just("cancel"), st.integers(0, 3)),
    st.just(("cancel the list",)),
), max_size=8)
scenarios = st.tuples(
    st.lists(st.sampled_from(CANCELLERS), max_size=4),
    st.fixed_dictionaries({"fire_on_one_callback": st.booleans(),
                           "fire_on_one_errback": st.booleans(),
                           "consume_errors": st.booleans()}),
    operations,
).filter(lambda scenario: scenario[0] or not scenario[1]["fire_on_one_callback"])
# (An empty list that waits for one result never fires: cancelling it is where coro
# differs, in the last test below.)


def run_list(lib, make_list, cancellers, options, operations):
    trace = []

    def attempt(what, call):
        try:
            call()
        except Exception as error:  # noqa: BLE001 - which one is raised is what is compared
            trace.append((what, "raised", lib.error_name(error)))

    def make(index, canceller):
        def cancel(d):
            trace.append(("canceller of", index))
            if canceller == "fires a result":
                d.callback(f"{index}, cancelled")

        return lib.Deferred(None if canceller is None else cancel)

    deferreds = [make(index, canceller) for index, canceller in enumerate(cancellers)]
    group = make_list(deferreds, options)
    lib.add_both(group, lambda result: trace.append(("list fired", describe(lib, result))))
    for op, *args in operations:
        if op == "cancel the list":
            attempt(op, group.cancel)
        elif deferreds:
            d = deferreds[args[0] % len(deferreds)]
            if op == "cancel":
                attempt(op, d.cancel)
            elif args[1]:
                attempt(op, lambda: d.callback(args[2]))
            else:
                attempt(op, lambda: d.errback(Boom(args[2])))
    for d in deferreds:
        lib.add_both(d, lambda result: trace.append(("left with", describe(lib, result))))
    return trace


@settings(max_examples=300, deadline=None)
@given(scenarios)
def test_a_deferred_list_ends_the_same_on_coro_and_twisted(scenario):
    assert (run_list(CORO, coro_list, *scenario)
            == run_list(TWISTED, twisted_list, *scenario))


# -- Where coro differs from Twisted, on purpose ---------------------------------------------

def test_difference_a_cancelled_list_that_nothing_fired_fails_with_cancelled_error_in_coro():
    # Twisted's DeferredList.cancel only cancels the Deferreds in the list; if that does
    # not fire the list (an empty list waiting for one result, say), it never fires.
    # coro's keeps the rule of every Deferred: one cancelled that nothing fired fails
    # with CancelledError.
    for lib, make_list, expected in ((TWISTED, twisted_list, []),
                                     (CORO, coro_list, ["CancelledError"])):
        seen = []
        group = make_list([], {"fire_on_one_callback": True, "fire_on_one_errback": False,
                               "consume_errors": False})
        lib.add_both(group, lambda result: seen.append(describe(lib, result)))
        group.cancel()
        assert seen == expected
