"""A task group that is cancelled, or times out, cancels all its children before any of
them runs again: a permit that the first one releases in its cleanup must not let a
sibling in, to run work after the group is over. And a run that ends in a deadlock
cancels the tasks left, so their cleanup runs, instead of leaving them to the
garbage collector."""

import gc

from coro.kernel.sync import Event, Semaphore
from coro.kernel.task_group import TaskGroup
from coro.kernel.timeouts import move_on_after
from coro.kernel.traps import cancel, sleep, spawn


def worker(name, permits, log):
    yield from permits.acquire()
    try:
        log(name, "got the permit")
        yield from sleep(10)
    finally:
        permits.release()


def test_a_group_that_times_out_lets_no_waiting_child_in(kernel, log):
    def main():
        permits, group = Semaphore(1), TaskGroup()
        yield from group.spawn(worker("a", permits, log))
        yield from group.spawn(worker("b", permits, log))
        with (yield from move_on_after(1)) as scope:
            yield from group.join()
        log("group over", scope.cancelled_caught, permits.value)

    kernel.run(main())
    assert log.trace == [(0.0, "a", "got the permit"), (1.0, "group over", True, 1)]


def test_an_async_with_group_whose_body_fails_lets_no_waiting_child_in(kernel, log):
    async def main():
        permits = Semaphore(1)
        try:
            async with TaskGroup() as group:
                await group.spawn(worker("a", permits, log))
                await group.spawn(worker("b", permits, log))
                await sleep(1)
                raise ValueError("the body failed")
        except* ValueError:
            log("group over", permits.value)

    kernel.run(main())
    assert log.trace == [(0.0, "a", "got the permit"), (1.0, "group over", 1)]


def test_a_cancelled_parent_lets_no_waiting_child_in(kernel, log):
    def parent(permits):
        group = TaskGroup()
        yield from group.spawn(worker("a", permits, log))
        yield from group.spawn(worker("b", permits, log))
        yield from group.join()

    def main():
        permits = Semaphore(1)
        task = yield from spawn(parent(permits))
        yield from sleep(1)
        yield from cancel(task)
        log("parent cancelled", task.cancelled, permits.value)

    kernel.run(main())
    assert log.trace == [(0.0, "a", "got the permit"), (1.0, "parent cancelled", True, 1)]


def test_a_deadlock_cancels_the_tasks_left_and_runs_their_cleanup(kernel, log, capsys):
    def child(never):
        try:
            yield from never.wait()
        finally:
            log("child cleaned up")

    def main():
        group = TaskGroup()
        yield from group.spawn(child(Event()))
        yield from group.join()

    try:
        kernel.run(main())
    except RuntimeError as error:
        log("deadlock", "nothing can wake them" in str(error))
    gc.collect()  # a generator closed by the collector would complain on stderr
    assert log.trace == [(0.0, "child cleaned up"), (0.0, "deadlock", True)]
    assert capsys.readouterr().err == ""
