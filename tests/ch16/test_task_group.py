"""Task groups: a failing child cancels its siblings; every error surfaces once."""

import pytest

from coro.kernel.task import TaskCancelled
from coro.kernel.task_group import TaskGroup
from coro.kernel.timeouts import timeout_after
from coro.kernel.traps import cancel, sleep, spawn


def child(trace, clock, name, seconds, error=None):
    try:
        yield from sleep(seconds)
        if error is not None:
            trace.append((clock.now(), f"{name} fails"))
            raise error
        trace.append((clock.now(), f"{name} done"))
        return name
    except TaskCancelled:
        trace.append((clock.now(), f"{name} cancelled"))
        raise


def test_join_waits_for_every_child_and_gives_their_results_in_spawn_order(kernel, clock):
    trace = []

    def main():
        group = TaskGroup()
        for name, seconds in [("slow", 3), ("fast", 1), ("middle", 2)]:
            yield from group.spawn(child(trace, clock, name, seconds))
        return (yield from group.join())

    assert kernel.run(main()) == ["slow", "fast", "middle"]
    assert trace == [(1, "fast done"), (2, "middle done"), (3, "slow done")]


def test_a_failing_child_cancels_its_siblings_and_its_error_surfaces_once(kernel, clock, errors):
    trace = []
    error = ValueError("bad poem")

    def main():
        group = TaskGroup()
        yield from group.spawn(child(trace, clock, "a", 10))
        yield from group.spawn(child(trace, clock, "b", 1, error))
        yield from group.spawn(child(trace, clock, "c", 20))
        try:
            yield from group.join()
        except ExceptionGroup as caught:
            trace.append((clock.now(), "join raised"))
            return caught.exceptions

    assert kernel.run(main()) == (error,)
    assert trace == [(1, "b fails"), (1, "a cancelled"), (1, "c cancelled"),
                     (1, "join raised")]
    assert not errors  # handled by the group: nothing reported as unhandled


def test_a_child_that_fails_while_being_cancelled_is_not_lost(kernel, clock):
    def fails_in_cleanup():
        try:
            yield from sleep(10)
        finally:
            raise OSError("cleanup failed")

    def main():
        group = TaskGroup()
        yield from group.spawn(child([], clock, "b", 1, ValueError("first")))
        yield from group.spawn(fails_in_cleanup())
        try:
            yield from group.join()
        except ExceptionGroup as caught:
            return sorted(type(exc).__name__ for exc in caught.exceptions)

    assert kernel.run(main()) == ["OSError", "ValueError"]


def test_children_failing_one_after_another_cancel_a_sibling_once(kernel, clock):
    trace = []

    def fails_in_its_cleanup():
        try:
            yield from sleep(60)
        finally:
            yield from sleep(1)
            trace.append((clock.now(), "b fails"))
            raise OSError("b")

    def slow_to_stop():
        try:
            yield from sleep(60)
        except TaskCancelled:
            trace.append((clock.now(), "c cancelled"))
            raise
        finally:
            try:
                yield from sleep(5)
                trace.append((clock.now(), "c cleaned up"))
            except TaskCancelled:
                trace.append((clock.now(), "c cancelled again"))
                raise

    def main():
        group = TaskGroup()
        yield from group.spawn(child(trace, clock, "a", 1, ValueError("a")))
        yield from group.spawn(fails_in_its_cleanup())
        yield from group.spawn(slow_to_stop())
        try:
            yield from group.join()
        except ExceptionGroup as caught:
            trace.append((clock.now(), "join raised"))
            return [type(error).__name__ for error in caught.exceptions]

    assert kernel.run(main()) == ["ValueError", "OSError"]
    assert trace == [(1, "a fails"), (1, "c cancelled"), (2, "b fails"), (6, "c cleaned up"),
                     (6, "join raised")]


def test_when_the_joining_task_is_cancelled_the_children_are_cancelled_first(kernel, clock):
    trace = []

    def parent():
        group = TaskGroup()
        yield from group.spawn(child(trace, clock, "a", 10))
        yield from group.spawn(child(trace, clock, "b", 20))
        try:
            yield from group.join()
        finally:
            trace.append((clock.now(), "parent finally"))

    def main():
        task = yield from spawn(parent())
        yield from sleep(2)
        yield from cancel(task)
        return task.cancelled

    assert kernel.run(main()) is True
    assert trace == [(2, "a cancelled"), (2, "b cancelled"), (2, "parent finally")]


def test_a_timeout_around_a_group_cancels_the_children_and_raises_timeout_error(kernel, clock):
    trace = []

    def downloads():
        group = TaskGroup()
        yield from group.spawn(child(trace, clock, "a", 10))
        yield from group.spawn(child(trace, clock, "b", 1))
        return (yield from group.join())

    def main():
        with pytest.raises(TimeoutError):
            yield from timeout_after(5, downloads())

    kernel.run(main())
    assert trace == [(1, "b done"), (5, "a cancelled")]


def test_async_with_joins_on_the_way_out(kernel, clock):
    trace = []

    async def main():
        async with TaskGroup() as group:
            await group.spawn(child(trace, clock, "a", 2))
            await group.spawn(child(trace, clock, "b", 1))
        trace.append((clock.now(), "after the block"))

    kernel.run(main())
    assert trace == [(1, "b done"), (2, "a done"), (2, "after the block")]


def test_async_with_whose_body_fails_cancels_the_children(kernel, clock):
    trace = []

    async def main():
        try:
            async with TaskGroup() as group:
                await group.spawn(child(trace, clock, "a", 2))
                await sleep(1)
                raise KeyError("in the body")
        except ExceptionGroup as caught:
            return caught.exceptions

    [error] = kernel.run(main())
    assert isinstance(error, KeyError)
    assert trace == [(1, "a cancelled")]


def test_join_after_cancel_remaining_waits_and_gives_none_for_the_cancelled(kernel, clock):
    """First result wins: the rest are cancelled, and join still returns, as it says."""
    trace = []

    def main():
        group = TaskGroup()
        for name, seconds in [("slow", 3), ("fast", 1)]:
            yield from group.spawn(child(trace, clock, name, seconds))
        yield from sleep(2)
        yield from group.cancel_remaining()
        results = yield from group.join()
        trace.append((clock.now(), "joined"))
        return results

    assert kernel.run(main()) == [None, "fast"]
    assert trace == [(1, "fast done"), (2, "slow cancelled"), (2, "joined")]
