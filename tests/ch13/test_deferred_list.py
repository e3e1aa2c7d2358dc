"""Many Deferreds at once: DeferredList, gather, cancelling a group, and timeouts."""

import pytest

from coro.deferred.deferred import CancelledError, Deferred, fail, succeed
from coro.deferred.deferred_list import DeferredList, FirstError, gather
from coro.deferred.failure import Failure


def test_results_come_in_list_order_whatever_order_they_fire_in():
    first, second, third = Deferred(), Deferred(), Deferred()
    group = DeferredList([first, second, third])
    third.callback("c")
    first.callback("a")
    assert not group.called
    second.callback("b")
    assert group.result == [(True, "a"), (True, "b"), (True, "c")]


def test_a_failure_is_a_result_like_any_other():
    error = KeyError("x")
    group = DeferredList([succeed(1), fail(error)], consume_errors=True)
    [(ok1, one), (ok2, failure)] = group.result
    assert (ok1, one, ok2) == (True, 1, False)
    assert isinstance(failure, Failure) and failure.value is error


def test_an_empty_list_fires_at_once_with_an_empty_result():
    assert DeferredList([]).result == []


def test_without_consume_errors_the_failure_stays_on_its_deferred(unhandled_failures):
    failed = fail(KeyError())
    DeferredList([failed])
    assert isinstance(failed.result, Failure)
    failed.add_errback(lambda failure: None)


def test_consume_errors_leaves_the_failed_deferred_with_none():
    failed = fail(KeyError())
    DeferredList([failed], consume_errors=True)
    assert failed.result is None


def test_fire_on_one_callback_fires_with_the_first_result_and_its_index():
    slow, fast = Deferred(), Deferred()
    group = DeferredList([slow, fast], fire_on_one_callback=True)
    fast.callback("fast")
    assert group.result == ("fast", 1)
    slow.callback("slow")
    assert group.result == ("fast", 1)


def test_fire_on_one_errback_fails_with_the_first_error_and_its_index():
    ok, bad = Deferred(), Deferred()
    group = DeferredList([ok, bad], fire_on_one_errback=True, consume_errors=True)
    bad.errback(TimeoutError("slow server"))
    first_error = group.result.value
    assert isinstance(first_error, FirstError)
    assert first_error.index == 1 and first_error.sub_failure.check(TimeoutError)
    assert str(first_error) == "Deferred #1 failed: slow server"
    group.add_errback(lambda failure: None)
    ok.callback("late, and kept in the results")
    assert group.results[0] == (True, "late, and kept in the results")


def test_cancelling_a_list_cancels_every_deferred_in_it_that_has_not_fired():
    trace = []
    done = succeed("done")
    waiting = Deferred(canceller=lambda d: trace.append("cancelled"))
    group = DeferredList([done, waiting], consume_errors=True)
    group.cancel()
    assert trace == ["cancelled"]
    [first, (ok, failure)] = group.result
    assert first == (True, "done") and not ok and failure.check(CancelledError)


def test_a_canceller_that_raises_does_not_stop_the_others_being_cancelled():
    trace = []

    def broken(deferred):
        trace.append("broken")
        raise RuntimeError("the canceller failed")

    first, second = Deferred(canceller=broken), Deferred(canceller=broken)
    last = Deferred(canceller=lambda d: trace.append("last"))
    group = DeferredList([first, second, last], consume_errors=True)
    with pytest.raises(ExceptionGroup) as raised:
        group.cancel()
    assert trace == ["broken", "broken", "last"]
    assert [str(error) for error in raised.value.exceptions] == ["the canceller failed"] * 2
    assert group.results[2][1].check(CancelledError)  # the last one was cancelled all the same


def test_one_canceller_that_raises_is_raised_as_itself():
    broken = Deferred(canceller=lambda d: 1 / 0)
    group = DeferredList([broken, Deferred()], consume_errors=True)
    with pytest.raises(ZeroDivisionError):
        group.cancel()
    assert group.results[1][1].check(CancelledError)


def test_gather_gives_the_results_in_order():
    first, second = Deferred(), Deferred()
    gathered = gather([first, second])
    second.callback(2)
    first.callback(1)
    assert gathered.result == [1, 2]


def test_gather_fails_with_the_first_failure_and_reports_it_only_once(unhandled_failures):
    first, second = Deferred(), Deferred()
    gathered = gather([first, second])
    second.errback(ConnectionRefusedError("refused"))
    first.callback(1)
    assert gathered.result.value.sub_failure.check(ConnectionRefusedError)
    del first, second, gathered
    [reported] = unhandled_failures.take()
    assert reported.check(FirstError)


def test_a_timeout_fails_the_deferred_with_timeout_error(fake_reactor, clock):
    trace = []
    d = Deferred(canceller=lambda d: trace.append(("canceller", clock.now())))
    d.add_timeout(5, fake_reactor)
    d.add_errback(lambda failure: trace.append((failure.type, str(failure.value))))
    clock.advance(4.9)
    fake_reactor.run_once(0)
    assert trace == []
    clock.advance(0.1)
    fake_reactor.run_once(0)
    assert trace == [("canceller", 5.0), (TimeoutError, "timed out after 5 seconds")]


def test_a_deferred_that_fires_in_time_cancels_its_timer(fake_reactor):
    d = Deferred().add_timeout(5, fake_reactor)
    assert fake_reactor.pending_timers() == 1
    d.callback("in time")
    assert fake_reactor.pending_timers() == 0
    assert d.result == "in time"


def test_a_cancel_that_is_not_a_timeout_stays_a_cancelled_error(fake_reactor):
    d = Deferred().add_timeout(5, fake_reactor)
    d.cancel()
    assert d.result.check(CancelledError)
    assert fake_reactor.pending_timers() == 0
    d.add_errback(lambda failure: None)


def test_a_canceller_that_fires_the_deferred_on_timeout_gives_its_own_result(
        fake_reactor, clock):
    d = Deferred(canceller=lambda d: d.callback("partial poem"))
    d.add_timeout(1, fake_reactor)
    clock.advance(1)
    fake_reactor.run_once(0)
    assert d.result == "partial poem"
