"""A property test: any chain of callbacks and errbacks ends as a try/except would.

Hypothesis builds random chains. Each stage is a callback, an errback or both, and
does one thing when it runs: return a value, raise, return a Deferred that has fired
(with a value or an error), or return one that fires later. The same chain is then
worked out by plain synchronous code with ``try``/``except``, and the two outcomes
must be the same.
"""

from hypothesis import given, strategies as st

from coro.deferred.deferred import Deferred, fail, succeed
from coro.deferred.failure import Failure


class Boom(Exception):
    """An error that carries a number, so outcomes can be compared."""

    def __eq__(self, other):
        return type(other) is Boom and other.args == self.args

    __hash__ = Exception.__hash__


ACTIONS = ("return", "raise", "fired ok", "fired error", "later ok", "later error")
KINDS = ("callback", "errback", "both")

stages = st.lists(st.tuples(st.sampled_from(KINDS), st.sampled_from(ACTIONS),
                            st.integers(0, 99)), max_size=12)
first = st.tuples(st.booleans(), st.integers(0, 99))


def reference(ok, number, chain):
    """The chain worked out synchronously: what ``try``/``except`` would give."""
    error, value = (None, number) if ok else (Boom(number), None)
    for kind, action, n in chain:
        runs = kind == "both" or (kind == "callback") == (error is None)
        if not runs:
            continue
        try:
            if action.endswith("error") or action == "raise":
                raise Boom(n)
            value, error = n, None
        except Boom as raised:
            value, error = None, raised
    return ("ok", value) if error is None else ("error", error)


def deferred_outcome(ok, number, chain, fire_first):
    later = []

    def stage_for(action, n):
        def stage(result):
            if action == "return":
                return n
            if action == "raise":
                raise Boom(n)
            if action == "fired ok":
                return succeed(n)
            if action == "fired error":
                return fail(Boom(n))
            d = Deferred()
            later.append((d, action, n))
            return d
        return stage

    d = Deferred()
    fire = (lambda: d.callback(number)) if ok else (lambda: d.errback(Boom(number)))
    if fire_first:
        fire()
    for kind, action, n in chain:
        stage = stage_for(action, n)
        d.add_callbacks(stage if kind != "errback" else lambda result: result,
                        stage if kind != "callback" else None)
    if not fire_first:
        fire()
    while later:
        inner, action, n = later.pop(0)
        if action == "later ok":
            inner.callback(n)
        else:
            inner.errback(Boom(n))
    outcome = d.result
    d.add_errback(lambda failure: None)  # handled here, so not reported when dropped
    if isinstance(outcome, Failure):
        return ("error", outcome.value)
    return ("ok", outcome)


@given(first, stages, st.booleans())
def test_a_chain_ends_as_try_except_would(first, chain, fire_first):
    ok, number = first
    assert deferred_outcome(ok, number, chain, fire_first) == reference(ok, number, chain)
