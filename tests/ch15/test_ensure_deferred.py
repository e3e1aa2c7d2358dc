"""``async def`` over Deferreds: ``await d`` in a coroutine run by ensure_deferred, the same
rules as inline_callbacks, and what ``await d`` does when something else runs it."""

import asyncio
import traceback
import types

import pytest

from coro.deferred.deferred import CancelledError, Deferred, fail, succeed
from coro.deferred.failure import Failure
from coro.deferred.inline import ensure_deferred, inline_callbacks


def outcome(d):
    """What ``d`` ended with, as ``("result", value)`` or ``(exception type, message)``;
    None while it has not fired. Handles a failure, so it is not reported."""
    seen = []
    d.add_both(lambda r: seen.append((r.type, str(r.value)) if isinstance(r, Failure)
                                     else ("result", r)))
    return seen[0] if seen else None


async def wait_for(d):
    return await d


def test_awaiting_a_deferred_that_has_fired_gives_its_result_at_once():
    assert outcome(ensure_deferred(wait_for(succeed("poem")))) == ("result", "poem")


def test_awaiting_a_deferred_fired_later_resumes_the_coroutine_inside_its_callback():
    trace = []
    d = Deferred()

    async def task():
        trace.append(("got", await d))
        return "done"

    returned = ensure_deferred(task())
    assert not returned.called
    trace.append("firing")
    d.callback("poem")
    trace.append("fired")
    assert trace == ["firing", ("got", "poem"), "fired"]
    assert outcome(returned) == ("result", "done")


def test_awaiting_a_failed_deferred_raises_its_error_with_its_traceback(unhandled_failures):
    def refuse():
        raise ConnectionRefusedError("connection refused")

    d = Deferred()
    caught = []

    async def task():
        try:
            await d
        except ConnectionRefusedError as exc:
            caught.append(exc)
        return "kept going"

    returned = ensure_deferred(task())
    try:
        refuse()
    except ConnectionRefusedError:
        d.errback()
    [exc] = caught
    names = [frame.name for frame in traceback.extract_tb(exc.__traceback__)]
    assert "task" in names and names[-1] == "refuse"
    assert outcome(returned) == ("result", "kept going")
    assert unhandled_failures.take() == []


def test_an_error_that_escapes_fails_the_returned_deferred():
    async def task():
        await succeed(None)
        raise ValueError("bad poem")

    assert outcome(ensure_deferred(task())) == (ValueError, "bad poem")


def test_an_unhandled_failure_of_the_returned_deferred_is_reported(unhandled_failures):
    ensure_deferred(wait_for(fail(TimeoutError("timed out"))))
    [reported] = unhandled_failures.take()
    assert reported.check(TimeoutError)


def test_cancelling_raises_cancelled_error_at_the_await():
    trace = []
    inner = Deferred(canceller=lambda d: trace.append("inner cancelled"))

    async def task():
        try:
            await inner
        finally:
            trace.append("finally")

    returned = ensure_deferred(task())
    returned.cancel()
    assert trace == ["inner cancelled", "finally"]
    assert outcome(returned)[0] is CancelledError


def test_a_coroutine_may_catch_the_cancel_and_await_again_before_it_returns():
    trace = []
    cleanup = Deferred()

    async def task():
        try:
            return await Deferred()
        except CancelledError:
            trace.append(("cleaned up", await cleanup))
            return "fallback"

    returned = ensure_deferred(task())
    returned.cancel()
    assert trace == [] and not returned.called
    cleanup.callback("ok")
    assert trace == [("cleaned up", "ok")]
    assert outcome(returned) == ("result", "fallback")


def test_ten_thousand_ready_awaits_do_not_recurse():
    async def count():
        return sum([await succeed(1) for _ in range(10_000)])

    assert outcome(ensure_deferred(count())) == ("result", 10_000)


def test_a_coroutine_and_an_inline_callbacks_generator_wait_for_each_other():
    d = Deferred()

    @inline_callbacks
    def inner():
        return (yield d) + " and a generator"

    async def outer():
        return await inner() + " and a coroutine"

    @inline_callbacks
    def outermost():
        return (yield ensure_deferred(outer())) + ", all waiting"

    returned = outermost()
    d.callback("a Deferred")
    assert outcome(returned) == ("result", "a Deferred and a generator and a coroutine, "
                                           "all waiting")


def test_awaiting_what_another_loop_awaits_is_a_type_error_at_the_await():
    @types.coroutine
    def another_loops_future():
        yield "a future of another loop"

    async def task():
        with pytest.raises(TypeError, match="can await Deferreds only"):
            await another_loops_future()
        return "told"

    assert outcome(ensure_deferred(task())) == ("result", "told")


def test_ensure_deferred_gives_a_deferred_back_as_it_is():
    d = Deferred()
    assert ensure_deferred(d) is d


@pytest.mark.parametrize("thing, message", [
    (42, "takes a coroutine or a Deferred, not 42"),
    (wait_for, "wait_for is a coroutine function: call it"),
    ((lambda: (yield))(), "not a generator: decorate the generator function with "
                          "@inline_callbacks"),
])
def test_ensure_deferred_refuses_anything_else(thing, message):
    with pytest.raises(TypeError, match=message):
        ensure_deferred(thing)


# -- await d when ensure_deferred does not run the coroutine --------------------------------

def test_await_hands_the_deferred_itself_to_whatever_runs_the_coroutine():
    d = Deferred()
    coro = wait_for(d)
    assert coro.send(None) is d
    with pytest.raises(StopIteration) as stopped:
        coro.send("sent back in by hand")
    assert stopped.value.value == "sent back in by hand"


def test_asyncio_cannot_wait_for_a_deferred():
    with pytest.raises(RuntimeError, match="Task got bad yield: <Deferred"):
        asyncio.run(wait_for(Deferred()))
