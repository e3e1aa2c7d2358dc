"""The Deferred's firing rules, one test each, told as a trace of what ran in which order."""

import gc

import pytest

from coro.deferred.deferred import (AlreadyCalledError, CancelledError, Deferred, fail,
                                    maybe_deferred, report_unhandled_failure, succeed)
from coro.deferred.failure import Failure


def recorder(trace, name, returns=None):
    """A stage that appends ``(name, result)`` to ``trace`` and returns ``returns``,
    or what it got when ``returns`` is None."""
    def stage(result):
        trace.append((name, result))
        return result if returns is None else returns
    return stage


def raiser(error):
    def stage(result):
        raise error
    return stage


def test_callbacks_added_before_firing_run_in_order_when_it_fires():
    trace = []
    d = Deferred()
    d.add_callback(recorder(trace, "first", returns=2))
    d.add_callback(recorder(trace, "second", returns=3))
    assert trace == []
    d.callback(1)
    assert trace == [("first", 1), ("second", 2)]
    assert d.result == 3


def test_a_callback_added_after_firing_runs_at_once():
    trace = []
    d = succeed("poem")
    d.add_callback(recorder(trace, "late"))
    assert trace == [("late", "poem")]


def test_extra_arguments_go_after_the_result():
    d = succeed(2)
    d.add_callback(lambda result, times, *, plus: result * times + plus, 3, plus=1)
    assert d.result == 7


def test_firing_twice_raises_already_called_error():
    d = succeed(1)
    with pytest.raises(AlreadyCalledError):
        d.callback(2)
    with pytest.raises(AlreadyCalledError):
        d.errback(ValueError())
    assert d.result == 1


def test_errback_wraps_a_plain_exception_in_a_failure():
    d = Deferred()
    error = KeyError("tyger")
    d.errback(error)
    failure = d.result
    assert isinstance(failure, Failure) and failure.value is error
    d.add_errback(lambda failure: None)


def test_errback_with_no_argument_wraps_the_exception_being_handled():
    d = Deferred()
    try:
        {}["tyger"]
    except KeyError:
        d.errback()
    assert d.result.check(KeyError)
    d.add_errback(lambda failure: None)


def test_a_deferred_cannot_be_fired_with_a_deferred():
    with pytest.raises(TypeError, match="return it from a callback"):
        Deferred().callback(Deferred())


def test_stages_must_be_callable():
    with pytest.raises(TypeError, match="must be callable"):
        Deferred().add_callback("print")
    with pytest.raises(TypeError, match="must be callable, not None"):
        Deferred().add_callbacks(None, None)


def test_an_error_skips_callbacks_until_an_errback():
    trace = []
    d = Deferred()
    d.add_callback(raiser(ValueError("bad")))
    d.add_callback(recorder(trace, "skipped"))
    d.add_errback(lambda failure: trace.append(("errback", failure.type)) or "recovered")
    d.add_callback(recorder(trace, "after"))
    d.callback(None)
    assert trace == [("errback", ValueError), ("after", "recovered")]


def test_a_failure_skips_callbacks_and_a_result_skips_errbacks():
    trace = []
    d = Deferred()
    d.add_errback(recorder(trace, "errback skipped"))
    d.add_callback(raiser(KeyError()))
    d.add_callback(recorder(trace, "callback skipped"))
    d.add_errback(lambda failure: trace.append("handled"))
    d.callback(1)
    assert trace == ["handled"]
    assert d.result is None


def test_an_errback_that_re_raises_keeps_the_chain_on_the_error_path():
    trace = []
    d = fail(ConnectionRefusedError())
    d.add_errback(lambda failure: failure.trap(TimeoutError))
    d.add_errback(lambda failure: trace.append(failure.type))
    assert trace == [ConnectionRefusedError]


def test_an_errback_that_returns_a_failure_keeps_the_chain_on_the_error_path():
    trace = []
    d = fail(KeyError())
    d.add_errback(lambda failure: Failure(ValueError()))
    d.add_callbacks(recorder(trace, "callback"), lambda failure: trace.append(failure.type))
    assert trace == [ValueError]


def test_add_callbacks_runs_exactly_one_of_the_pair():
    trace = []
    d = Deferred()
    d.add_callbacks(raiser(KeyError()), recorder(trace, "same stage's errback"))
    d.add_callbacks(recorder(trace, "callback"), lambda failure: trace.append("errback"))
    d.callback(1)
    assert trace == ["errback"]


def test_add_both_runs_on_either_path():
    trace = []
    ok, bad = succeed(1), fail(KeyError())
    for d in (ok, bad):
        d.add_both(lambda result: trace.append(type(result).__name__))
    assert trace == ["int", "Failure"]


def test_a_callback_that_returns_an_unfired_deferred_pauses_the_chain_until_it_fires():
    trace = []
    inner = Deferred()
    outer = Deferred()
    outer.add_callback(lambda result: inner)
    outer.add_callback(recorder(trace, "after inner"))
    outer.callback("start")
    assert trace == [] and not inner.called
    inner.callback("inner result")
    assert trace == [("after inner", "inner result")]


def test_a_callback_that_returns_a_fired_deferred_goes_on_with_its_result():
    trace = []
    d = succeed(1)
    d.add_callback(lambda result: succeed(result + 1))
    d.add_callback(recorder(trace, "next"))
    assert trace == [("next", 2)]


def test_a_failure_of_the_inner_deferred_goes_down_the_outer_errbacks():
    trace = []
    inner = Deferred()
    outer = succeed(None).add_callback(lambda _: inner)
    outer.add_errback(lambda failure: trace.append(failure.type))
    inner.errback(TimeoutError())
    assert trace == [TimeoutError]


def test_the_inner_deferred_is_left_with_none_once_the_outer_takes_its_result():
    inner = Deferred()
    outer = succeed(None).add_callback(lambda _: inner)
    inner.callback("poem")
    assert outer.result == "poem"
    assert inner.result is None


def test_a_stage_that_returns_its_own_deferred_is_an_error():
    d = Deferred()
    d.add_callback(lambda result: d)
    d.callback(1)
    assert d.result.check(TypeError)
    d.add_errback(lambda failure: None)


def test_pause_holds_the_chain_and_unpause_lets_it_go_on():
    trace = []
    d = Deferred()
    d.add_callback(recorder(trace, "first"))
    d.pause()
    d.callback(1)
    d.add_callback(recorder(trace, "second"))
    assert trace == []
    d.unpause()
    assert trace == [("first", 1), ("second", 1)]


def test_pauses_nest():
    trace = []
    d = Deferred()
    d.pause()
    d.pause()
    d.add_callback(recorder(trace, "ran"))
    d.callback(1)
    d.unpause()
    assert trace == []
    d.unpause()
    assert trace == [("ran", 1)]


def test_a_stage_that_adds_a_stage_to_its_own_deferred_sees_it_run_next():
    trace = []
    d = Deferred()
    d.add_callback(lambda result: d.add_callback(recorder(trace, "added")) and "x")
    d.add_callback(recorder(trace, "already there"))
    d.callback(0)
    assert trace == [("already there", "x"), ("added", "x")]


def test_cancel_with_no_canceller_errbacks_with_cancelled_error():
    trace = []
    d = Deferred()
    d.add_errback(lambda failure: trace.append(failure.type))
    d.cancel()
    assert trace == [CancelledError]


def test_cancel_runs_the_canceller_first_then_errbacks():
    trace = []
    d = Deferred(canceller=lambda d: trace.append("canceller"))
    d.add_errback(lambda failure: trace.append(failure.type))
    d.cancel()
    assert trace == ["canceller", CancelledError]


def test_a_canceller_that_fires_the_deferred_is_not_overruled():
    trace = []
    d = Deferred(canceller=lambda d: d.errback(ConnectionAbortedError()))
    d.add_errback(lambda failure: trace.append(failure.type))
    d.cancel()
    assert trace == [ConnectionAbortedError]


# Late results. With no canceller, cancel() cannot stop the work behind the Deferred,
# so the one result that work still gives is expected, and ignored. A canceller says
# it stopped the work: a result after that is a bug, and raises.

@pytest.mark.parametrize("fire_late", [lambda d: d.callback("too late"),
                                       lambda d: d.errback(ConnectionResetError())],
                         ids=["callback", "errback"])
def test_with_no_canceller_the_one_result_that_comes_after_a_cancel_is_ignored(fire_late):
    trace = []
    d = Deferred()
    d.add_errback(lambda failure: trace.append(failure.type))
    d.cancel()
    fire_late(d)
    assert trace == [CancelledError]
    assert d.result is None


def test_a_second_late_result_after_a_cancel_is_still_an_error():
    d = Deferred()
    d.add_errback(lambda failure: None)
    d.cancel()
    d.callback("late")
    with pytest.raises(AlreadyCalledError):
        d.callback("later still")


def test_cancelling_twice_still_ignores_one_late_result_only():
    d = Deferred()
    d.add_errback(lambda failure: None)
    d.cancel()
    d.cancel()
    d.callback("late")
    with pytest.raises(AlreadyCalledError):
        d.callback("later still")


@pytest.mark.parametrize("canceller", [
    lambda d: None,
    lambda d: d.callback("what the canceller had"),
    lambda d: d.errback(ConnectionAbortedError()),
], ids=["did not fire it", "fired it", "failed it"])
def test_with_a_canceller_a_result_after_the_cancel_is_already_called_error(canceller):
    d = Deferred(canceller=canceller)
    d.add_both(lambda result: None)
    d.cancel()
    with pytest.raises(AlreadyCalledError):
        d.callback("late")
    with pytest.raises(AlreadyCalledError):
        d.errback(ConnectionResetError())


def test_a_late_result_of_an_inner_deferred_follows_the_inner_deferreds_canceller():
    quiet, stopped = Deferred(), Deferred(canceller=lambda d: None)
    for inner in (quiet, stopped):
        outer = succeed(None).add_callback(lambda _, inner=inner: inner)
        outer.cancel()
        assert outer.result.check(CancelledError)
        outer.add_errback(lambda failure: None)
    quiet.callback("late, and ignored")
    with pytest.raises(AlreadyCalledError):
        stopped.callback("late, after a canceller that stopped the work")


def test_cancelling_a_fired_deferred_does_nothing():
    trace = []
    d = Deferred(canceller=lambda d: trace.append("canceller"))
    d.callback(1)
    d.cancel()
    assert trace == [] and d.result == 1


def test_cancelling_a_chain_waiting_on_an_inner_deferred_cancels_the_inner_one():
    trace = []
    inner = Deferred(canceller=lambda d: trace.append("inner canceller"))
    outer = succeed(None).add_callback(lambda _: inner)
    outer.add_errback(lambda failure: trace.append(failure.type))
    outer.cancel()
    assert trace == ["inner canceller", CancelledError]
    assert inner.result is None


def test_ten_thousand_callbacks_run_without_recursion():
    d = Deferred()
    for _ in range(10_000):
        d.add_callback(lambda n: n + 1)
    d.callback(0)
    assert d.result == 10_000


def test_ten_thousand_deferreds_each_waiting_on_the_next_resolve_without_recursion():
    deferreds = [Deferred() for _ in range(10_001)]
    for outer, inner in zip(deferreds, deferreds[1:]):
        outer.add_callback(lambda _, inner=inner: inner)
    for outer in deferreds[:-1]:
        outer.callback(None)
    assert all(d._waiting_on is not None for d in deferreds[:-1])
    deferreds[-1].callback("bottom")
    assert deferreds[0].result == "bottom"


def test_cancelling_ten_thousand_deferreds_each_waiting_on_the_next_does_not_recurse():
    trace = []
    deferreds = [Deferred() for _ in range(10_000)]
    deferreds.append(Deferred(canceller=lambda d: trace.append("the innermost canceller")))
    for outer, inner in zip(deferreds, deferreds[1:]):
        outer.add_callback(lambda _, inner=inner: inner)
    for outer in deferreds[:-1]:
        outer.callback(None)
    deferreds[0].add_errback(lambda failure: trace.append(failure.type))
    deferreds[0].cancel()
    assert trace == ["the innermost canceller", CancelledError]


def test_ten_thousand_already_fired_deferreds_in_a_row_do_not_recurse():
    d = succeed(0)
    for _ in range(10_000):
        d.add_callback(lambda n: succeed(n + 1))
    assert d.result == 10_000


def test_chain_deferred_passes_the_result_on():
    a, b = Deferred(), Deferred()
    a.chain_deferred(b)
    a.callback("poem")
    assert b.result == "poem" and a.result is None


def test_maybe_deferred_turns_any_outcome_into_a_deferred():
    d = Deferred()
    assert maybe_deferred(lambda: d) is d
    assert maybe_deferred(lambda x: x * 2, 21).result == 42
    raised = maybe_deferred(raiser(KeyError("x")), None)
    assert raised.result.check(KeyError)
    returned = maybe_deferred(lambda: Failure(ValueError()))
    assert returned.result.check(ValueError)
    for failed in (raised, returned):
        failed.add_errback(lambda failure: None)


def test_a_deferred_dropped_with_an_unhandled_failure_reports_it_with_its_traceback(
        unhandled_failures):
    def download():
        raise ConnectionResetError("reset by peer")

    d = Deferred()
    d.add_callback(lambda _: download())
    d.callback(None)
    del d
    [failure] = unhandled_failures.take()
    assert failure.check(ConnectionResetError)
    assert "in download" in failure.get_traceback()


def test_a_handled_failure_is_not_reported(unhandled_failures):
    d = fail(KeyError())
    d.add_errback(lambda failure: "handled")
    del d
    assert unhandled_failures.take() == []


def test_a_deferred_waiting_on_another_is_not_reported_for_the_inner_failure(
        unhandled_failures):
    inner = Deferred()
    outer = succeed(None).add_callback(lambda _, inner=inner: inner)
    outer.add_errback(lambda failure: "handled by the outer chain")
    inner.errback(KeyError())
    del inner, outer
    assert unhandled_failures.take() == []


def test_the_default_report_goes_to_stderr(capsys, monkeypatch):
    # The real reporter, not the collector the test plugin puts in its place.
    monkeypatch.setattr(Deferred, "report_unhandled", staticmethod(report_unhandled_failure))
    d = maybe_deferred(raiser(KeyError("lost")), None)
    text = repr(d)
    del d
    gc.collect()
    err = capsys.readouterr().err
    assert err.startswith(f"Unhandled error in {text}:\nTraceback")
    assert "KeyError: 'lost'" in err
