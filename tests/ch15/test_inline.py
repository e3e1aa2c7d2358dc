"""inline_callbacks: each rule of a generator that waits for Deferreds, told as a trace of
what ran in which order. No reactor: the tests fire the Deferreds by hand."""

import gc
import traceback

import pytest

from coro.deferred.deferred import (AlreadyCalledError, CancelledError, Deferred, fail,
                                    succeed)
from coro.deferred.failure import Failure
from coro.deferred.inline import inline_callbacks


def outcome(d):
    """What ``d`` ended with, as ``("result", value)`` or ``(exception type, message)``;
    None while it has not fired. Handles a failure, so it is not reported."""
    seen = []
    d.add_both(lambda r: seen.append((r.type, str(r.value)) if isinstance(r, Failure)
                                     else ("result", r)))
    return seen[0] if seen else None


def refuse():
    raise ConnectionRefusedError("connection refused")


def failed_with_a_traceback():
    """A Deferred failed with an exception that was really raised, in refuse()."""
    d = Deferred()
    try:
        refuse()
    except ConnectionRefusedError:
        d.errback()
    return d


def frame_names(exc):
    return [frame.name for frame in traceback.extract_tb(exc.__traceback__)]


# -- Running and waiting ---------------------------------------------------------------------

def test_calling_it_runs_the_generator_at_once_up_to_its_first_yield():
    trace = []

    @inline_callbacks
    def task():
        trace.append("started")
        yield Deferred()
        trace.append("never here")

    d = task()
    trace.append("returned")
    assert trace == ["started", "returned"]
    assert isinstance(d, Deferred) and not d.called


def test_a_deferred_that_has_fired_gives_its_result_at_once():
    @inline_callbacks
    def task():
        first = yield succeed(1)
        second = yield succeed(2)
        return first + second

    assert outcome(task()) == ("result", 3)  # fired before task() returned


def test_a_deferred_fired_later_resumes_the_generator_inside_its_callback():
    trace = []
    d = Deferred()

    @inline_callbacks
    def task():
        trace.append(("got", (yield d)))

    task()
    trace.append("firing")
    d.callback("poem")
    trace.append("fired")
    assert trace == ["firing", ("got", "poem"), "fired"]


def test_the_callbacks_already_on_the_deferred_run_before_the_generator_resumes():
    trace = []
    d = Deferred()
    d.add_callback(lambda r: trace.append(("earlier callback", r)) or r.upper())

    @inline_callbacks
    def task():
        trace.append(("got", (yield d)))

    task()
    d.callback("poem")
    assert trace == [("earlier callback", "poem"), ("got", "POEM")]


def test_yielding_something_that_is_not_a_deferred_gives_it_straight_back():
    @inline_callbacks
    def task():
        return [(yield 5), (yield None), (yield "text")]

    assert outcome(task()) == ("result", [5, None, "text"])


def test_return_fires_the_returned_deferred_with_the_value():
    d = Deferred()

    @inline_callbacks
    def task():
        yield d
        return "the value"

    returned = task()
    d.callback(None)
    assert outcome(returned) == ("result", "the value")


def test_a_generator_that_never_yields_a_deferred_fires_with_none():
    @inline_callbacks
    def task():
        if False:
            yield

    assert outcome(task()) == ("result", None)


def test_a_yielded_deferred_is_used_up():
    d = succeed("poem")

    @inline_callbacks
    def task():
        yield d

    task()
    assert d.result is None


# -- Failures ----------------------------------------------------------------------------------

def test_a_failure_is_raised_at_the_yield_with_its_original_traceback():
    caught = []
    d = Deferred()

    @inline_callbacks
    def task():
        try:
            yield d
        except ConnectionRefusedError as exc:
            caught.append(exc)

    task()
    failure_d = failed_with_a_traceback()
    original = failure_d.result.value
    d.errback(failure_d.result)
    failure_d.add_errback(lambda failure: None)
    [exc] = caught
    assert exc is original
    names = frame_names(exc)
    assert names[0] == "task" and names[-1] == "refuse"


def test_the_generator_can_catch_the_error_and_go_on(unhandled_failures):
    @inline_callbacks
    def task():
        try:
            yield failed_with_a_traceback()
        except ConnectionRefusedError:
            poem = yield succeed("the poem from elsewhere")
        return poem

    assert outcome(task()) == ("result", "the poem from elsewhere")
    assert unhandled_failures.take() == []  # the yielded Deferred's failure was handled


def test_an_error_that_escapes_fails_the_returned_deferred_with_its_traceback():
    d = Deferred()

    @inline_callbacks
    def task():
        poem = yield d
        return poem.decode()

    returned = task()
    d.callback(b"\xff")
    failure = returned.result
    assert failure.check(UnicodeDecodeError)
    assert frame_names(failure.value)[-1] == "task"  # where it was raised
    returned.add_errback(lambda failure: None)


def test_a_failure_that_is_not_caught_goes_on_with_both_tracebacks():
    @inline_callbacks
    def task():
        yield failed_with_a_traceback()

    returned = task()
    names = frame_names(returned.result.value)
    assert "task" in names and names[-1] == "refuse"
    returned.add_errback(lambda failure: None)


def test_an_unhandled_failure_of_the_returned_deferred_is_reported(unhandled_failures):
    @inline_callbacks
    def task():
        yield succeed(None)
        raise ValueError("nobody handles this")

    task()  # the Deferred is dropped at once, with its failure
    [reported] = unhandled_failures.take()
    assert reported.check(ValueError)


def test_an_error_that_is_not_an_exception_goes_up_to_the_caller():
    # KeyboardInterrupt is not a result: it goes on up to the reactor, which stops.
    d = Deferred()

    @inline_callbacks
    def task():
        yield d
        raise KeyboardInterrupt

    task()
    with pytest.raises(KeyboardInterrupt):
        d.callback(None)


# -- Cancelling --------------------------------------------------------------------------------
# Cancelling the returned Deferred cancels the Deferred the generator waits on, and the
# generator hears of it at its yield as of any other outcome of that Deferred: as a
# CancelledError it may catch, or as whatever the canceller fired it with.

def test_cancelling_raises_cancelled_error_at_the_yield_and_fails_with_it():
    trace = []
    inner = Deferred(canceller=lambda d: trace.append("inner cancelled"))

    @inline_callbacks
    def task():
        try:
            yield inner
            trace.append("never resumed")
        finally:
            trace.append("finally")

    returned = task()
    returned.cancel()
    assert trace == ["inner cancelled", "finally"]
    assert outcome(returned)[0] is CancelledError


def test_a_generator_that_catches_the_cancel_fires_with_its_fallback():
    trace = []

    @inline_callbacks
    def task():
        try:
            return (yield Deferred())
        except CancelledError:
            trace.append("caught")
            return "the poem from the cache"

    returned = task()
    returned.cancel()
    assert trace == ["caught"]
    assert outcome(returned) == ("result", "the poem from the cache")


def test_a_finally_block_may_wait_and_the_deferred_fires_when_the_generator_ends():
    trace = []
    closing = Deferred()

    @inline_callbacks
    def task():
        try:
            yield Deferred()
        finally:
            trace.append("finally starts")
            trace.append(("closed", (yield closing)))

    returned = task()
    returned.cancel()
    assert trace == ["finally starts"] and not returned.called
    closing.callback("goodbye sent")
    assert trace == ["finally starts", ("closed", "goodbye sent")]
    assert outcome(returned)[0] is CancelledError


def test_cancelling_again_cancels_what_the_generator_waits_on_now():
    trace = []

    @inline_callbacks
    def task():
        try:
            yield Deferred()
        finally:
            try:
                yield Deferred()
            except CancelledError:
                trace.append("the wait in finally was cancelled too")

    returned = task()
    returned.cancel()
    assert not returned.called
    returned.cancel()
    assert trace == ["the wait in finally was cancelled too"]
    assert outcome(returned)[0] is CancelledError


def test_a_result_the_canceller_gives_is_what_the_generator_gets(unhandled_failures):
    trace = []
    inner = Deferred(canceller=lambda d: d.callback("a result after all"))

    @inline_callbacks
    def task():
        poem = yield inner
        trace.append(("resumed with", poem))
        return poem.upper()

    returned = task()
    returned.cancel()
    assert trace == [("resumed with", "a result after all")]
    assert outcome(returned) == ("result", "A RESULT AFTER ALL")
    assert unhandled_failures.take() == []


def test_a_failure_the_canceller_gives_is_raised_at_the_yield():
    inner = Deferred(canceller=lambda d: d.errback(ConnectionAbortedError("aborted")))

    @inline_callbacks
    def task():
        yield inner

    returned = task()
    returned.cancel()
    assert outcome(returned) == (ConnectionAbortedError, "aborted")


def test_cancelling_a_generator_that_waits_on_another_cancels_the_innermost_wait():
    trace = []

    @inline_callbacks
    def download():
        try:
            yield Deferred(canceller=lambda d: trace.append("connection closed"))
        except CancelledError:
            trace.append("download cancelled")
            raise

    @inline_callbacks
    def task():
        try:
            yield download()
        except CancelledError:
            return "kept the old poem"

    returned = task()
    returned.cancel()
    assert trace == ["connection closed", "download cancelled"]
    assert outcome(returned) == ("result", "kept the old poem")


def test_with_no_canceller_the_late_result_of_the_cancelled_wait_is_ignored(
        unhandled_failures):
    inner = Deferred()  # no canceller: the work behind it may still report

    @inline_callbacks
    def task():
        yield inner

    returned = task()
    returned.cancel()
    inner.errback(ConnectionResetError("the connection that was cancelled closed"))
    assert outcome(returned)[0] is CancelledError
    assert unhandled_failures.take() == []


def test_after_a_canceller_a_late_result_of_the_cancelled_wait_is_an_error():
    inner = Deferred(canceller=lambda d: None)

    @inline_callbacks
    def task():
        yield inner

    returned = task()
    returned.cancel()
    with pytest.raises(AlreadyCalledError):
        inner.callback("late")
    assert outcome(returned)[0] is CancelledError


def test_a_finally_that_fails_after_the_cancel_fails_the_deferred_with_its_error():
    @inline_callbacks
    def task():
        try:
            yield Deferred()
        finally:
            raise OSError("could not clean up")

    returned = task()
    returned.cancel()
    assert outcome(returned) == (OSError, "could not clean up")


def test_cancelling_after_it_finished_changes_nothing():
    @inline_callbacks
    def task():
        return (yield succeed("poem"))

    returned = task()
    returned.cancel()
    assert outcome(returned) == ("result", "poem")


def test_a_generator_that_cancels_its_own_deferred_while_it_runs_goes_on():
    # It waits on nothing while it runs, so there is nothing to cancel; a wait that
    # comes later is not cancelled by a cancel that came before it.
    trace = []
    go, later = Deferred(), Deferred()

    @inline_callbacks
    def task():
        yield go
        returned.cancel()
        trace.append("still running")
        trace.append(("got", (yield later)))
        return "done"

    returned = task()
    go.callback(None)
    assert trace == ["still running"] and not returned.called
    later.callback("later")
    assert trace == ["still running", ("got", "later")]
    assert outcome(returned) == ("result", "done")


# -- No recursion ------------------------------------------------------------------------------

def test_ten_thousand_ready_yields_do_not_recurse():
    @inline_callbacks
    def count():
        total = 0
        for n in range(10_000):
            total += yield succeed(1)
        return total

    assert outcome(count()) == ("result", 10_000)


def test_ten_thousand_yields_that_fail_at_once_do_not_recurse():
    @inline_callbacks
    def count():
        caught = 0
        for n in range(10_000):
            try:
                yield fail(ValueError(n))
            except ValueError:
                caught += 1
        return caught

    assert outcome(count()) == ("result", 10_000)


def test_a_chain_of_ten_thousand_generators_each_waiting_on_the_one_before():
    @inline_callbacks
    def relay(d):
        return (yield d) + 1

    first = Deferred()
    d = first
    for _ in range(10_000):
        d = relay(d)
    first.callback(0)
    assert outcome(d) == ("result", 10_000)


def test_cancelling_the_last_of_ten_thousand_generators_cancels_the_first_wait():
    @inline_callbacks
    def relay(d):
        try:
            return (yield d)
        except CancelledError:
            return 0
        finally:
            trace.append("finally")

    trace = []
    first = Deferred(canceller=lambda d: trace.append("the first wait cancelled"))
    d = first
    for _ in range(10_000):
        d = relay(d)
    d.cancel()
    assert trace == ["the first wait cancelled"] + ["finally"] * 10_000
    assert outcome(d) == ("result", 0)


def test_in_a_chain_each_generator_resumes_when_the_one_before_it_has_fired():
    trace = []

    @inline_callbacks
    def relay(name, d):
        result = yield d
        trace.append(name)
        return result

    first = Deferred()
    a = relay("a", first)
    b = relay("b", a)
    c = relay("c", b)
    c.add_callback(lambda r: trace.append(("c fired with", r)))
    first.callback("x")
    assert trace == ["a", "b", "c", ("c fired with", "x")]


def test_a_generator_started_inside_the_chain_fires_before_its_call_returns():
    # The firing loop holds back only the Deferreds of generators that the Deferred it
    # is firing resumed; a generator called afresh fires at once, as anywhere else.
    trace = []

    @inline_callbacks
    def quick():
        return (yield succeed("quick"))

    @inline_callbacks
    def relay(d):
        yield d
        started = quick()
        trace.append(started.called)

    first = Deferred()
    relay(relay(first))
    first.callback(None)
    assert trace == [True, True]


# -- Decoration --------------------------------------------------------------------------------

def test_a_plain_function_is_a_type_error_at_decoration():
    def no_yield():
        return succeed(1)

    with pytest.raises(TypeError, match="no_yield is not one: did you forget a yield"):
        inline_callbacks(no_yield)


def test_an_async_function_is_a_type_error_that_points_to_ensure_deferred():
    async def coroutine_function():
        pass

    with pytest.raises(TypeError, match="'async def' function: call it and run what it "
                                        "returns with ensure_deferred"):
        inline_callbacks(coroutine_function)


def test_the_decorated_function_keeps_its_name_and_docstring():
    @inline_callbacks
    def download(reactor, address):
        """Download a poem."""
        yield

    assert download.__name__ == "download" and download.__doc__ == "Download a poem."


def test_nothing_is_left_behind_when_a_waiting_generator_is_dropped(unhandled_failures):
    @inline_callbacks
    def task():
        yield Deferred()

    task()
    gc.collect()
    assert unhandled_failures.take() == []
