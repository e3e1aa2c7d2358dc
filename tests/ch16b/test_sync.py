"""The wait queue, and the event, semaphore and lock built on it, on a fake clock.

Each test tells a story in order: tasks record what they do, with the clock's time,
and the test asserts the whole trace. Fair means woken in the order they came; a
waiter that is cancelled, or times out, leaves no trace in the line.
"""

import pytest

from coro.kernel.sync import Event, Lock, Semaphore
from coro.kernel.task import TaskCancelled
from coro.kernel.timeouts import timeout_after
from coro.kernel.traps import cancel, join, sleep, spawn
from coro.kernel.wait_queue import WaitQueue
from tests.ch16b.tasks import join_all, spawn_all


# -- the wait queue ------------------------------------------------------------------

def test_unpark_wakes_the_first_parked_with_a_value_and_returns_its_payload(kernel, log):
    queue = WaitQueue("the test's queue")

    def parker(name):
        log(name, "parks")
        log(name, "woken with", (yield from queue.park(payload=name.upper())))

    def main():
        tasks = yield from spawn_all(parker("a"), parker("b"), parker("c"))
        yield from sleep(1)
        log("main", "unparked", queue.unpark("first"), len(queue))
        log("main", "unparked", queue.unpark("second"), len(queue))
        yield from sleep(1)
        queue.unpark_all("the rest")
        yield from join_all(tasks)

    kernel.run(main())
    assert log.trace == [
        (0.0, "a", "parks"), (0.0, "b", "parks"), (0.0, "c", "parks"),
        (1.0, "main", "unparked", "A", 2), (1.0, "main", "unparked", "B", 1),
        (1.0, "a", "woken with", "first"), (1.0, "b", "woken with", "second"),
        (2.0, "c", "woken with", "the rest"),
    ]


def test_unpark_can_raise_in_the_woken_task(kernel):
    queue = WaitQueue()

    def parker():
        with pytest.raises(LookupError, match="gone"):
            yield from queue.park()
        return "raised"

    def main():
        task = yield from spawn(parker())
        yield from sleep(0)
        queue.unpark(exc=LookupError("gone"))
        return (yield from join(task))

    assert kernel.run(main()) == "raised"


def test_unpark_with_nobody_parked_says_so(kernel):
    with pytest.raises(LookupError, match="no task waits in Event.wait"):
        WaitQueue("Event.wait").unpark()


def test_a_cancelled_or_timed_out_waiter_leaves_no_trace(kernel, log):
    queue = WaitQueue()

    def parker(name):
        try:
            log(name, "woken with", (yield from queue.park(name)))
        except TaskCancelled:
            log(name, "cancelled")
            raise

    def impatient():
        try:
            yield from timeout_after(1, queue.park("impatient"))
        except TimeoutError:
            log("impatient", "timed out", len(queue))

    def main():
        a, b, c, d = yield from spawn_all(parker("a"), parker("b"), impatient(), parker("d"))
        yield from sleep(0.5)
        yield from cancel(b)
        log("main", "cancelled b", len(queue))
        yield from sleep(1)
        log("main", "payloads", queue.unpark(1), queue.unpark(2), len(queue))
        yield from join_all([a, c, d])

    kernel.run(main())
    assert log.trace == [
        (0.5, "b", "cancelled"), (0.5, "main", "cancelled b", 3),
        (1.0, "impatient", "timed out", 2),
        (1.5, "main", "payloads", "a", "d", 0),
        (1.5, "a", "woken with", 1), (1.5, "d", "woken with", 2),
    ]


def test_a_waiting_task_says_what_it_waits_in(kernel):
    queue = WaitQueue("Queue.get")

    def main():
        task = yield from spawn(queue.park())
        yield from sleep(0)
        seen = repr(task)
        queue.unpark()
        yield from join(task)
        return seen

    assert kernel.run(main()).endswith("waiting in Queue.get>")


def test_a_task_that_parks_and_is_never_woken_is_a_deadlock_the_kernel_names(kernel):
    def main():
        yield from Event().wait()

    with pytest.raises(RuntimeError, match=r"nothing can wake them: \[<Task \d+ \S*main waiting "
                                           r"in Event.wait>\]"):
        kernel.run(main())


# -- Event ------------------------------------------------------------------------

def test_set_wakes_every_waiter_in_order_and_a_set_event_does_not_wait(kernel, log):
    event = Event()

    def waiter(name):
        yield from event.wait()
        log(name, "goes")

    def main():
        tasks = yield from spawn_all(waiter("a"), waiter("b"), waiter("c"))
        yield from sleep(2)
        log("main", "sets", event.is_set())
        event.set()
        event.set()  # a second set changes nothing
        yield from event.wait()  # set: answered at once
        log("main", "did not wait")
        yield from join_all(tasks)
        event.clear()
        late = yield from spawn(waiter("late"))
        yield from sleep(1)
        log("main", "sets again", event.is_set())
        event.set()
        yield from join(late)

    kernel.run(main())
    assert log.trace == [
        (2.0, "main", "sets", False), (2.0, "main", "did not wait"),
        (2.0, "a", "goes"), (2.0, "b", "goes"), (2.0, "c", "goes"),
        (3.0, "main", "sets again", False), (3.0, "late", "goes"),
    ]


# -- Semaphore and Lock -----------------------------------------------------------------

def test_a_semaphore_lets_n_in_and_hands_each_release_to_the_first_waiter(kernel, log):
    slots = Semaphore(2)

    def worker(name, seconds):
        yield from slots.acquire()
        try:
            log(name, "in", slots.value)
            yield from sleep(seconds)
        finally:
            slots.release()

    def main():
        tasks = yield from spawn_all(worker("a", 1), worker("b", 3), worker("c", 1),
                                     worker("d", 1))
        yield from join_all(tasks)
        log("main", "value", slots.value)

    kernel.run(main())
    assert log.trace == [
        (0.0, "a", "in", 1), (0.0, "b", "in", 0),
        (1.0, "c", "in", 0), (2.0, "d", "in", 0),
        (3.0, "main", "value", 2),
    ]


def test_the_lock_is_handed_over_so_the_releaser_cannot_take_it_back(kernel, log):
    # Without the hand-over, "greedy" would release and take the lock again at once,
    # every time, before "patient", woken, ever ran.
    lock = Lock()

    async def greedy():
        for round_ in range(3):
            async with lock:
                log("greedy", "holds it", round_)
                await sleep(1)

    async def patient():
        await sleep(0.5)
        async with lock:
            log("patient", "holds it")

    def main():
        yield from join_all((yield from spawn_all(greedy(), patient())))

    kernel.run(main())
    assert log.trace == [
        (0.0, "greedy", "holds it", 0), (1.0, "patient", "holds it"),
        (1.0, "greedy", "holds it", 1), (2.0, "greedy", "holds it", 2),
    ]


def test_a_lock_keeps_a_read_modify_write_across_a_wait_whole(kernel):
    lock, balance = Lock(), [0]

    def deposit(amount, locked):
        if locked:
            yield from lock.acquire()
        try:
            seen = balance[0]
            yield from sleep(0)  # another task runs here
            balance[0] = seen + amount
        finally:
            if locked:
                lock.release()

    def main(locked):
        balance[0] = 0
        yield from join_all((yield from spawn_all(*(deposit(10, locked) for _ in range(5)))))
        return balance[0]

    assert kernel.run(main(locked=False)) == 10  # four deposits lost
    assert kernel.run(main(locked=True)) == 50


def test_a_cancelled_lock_waiter_does_not_get_the_lock(kernel, log):
    lock = Lock()

    async def holder():
        async with lock:
            await sleep(2)
        log("holder", "released", lock.locked())

    async def waiter(name):
        async with lock:
            log(name, "holds it")

    def main():
        first, second, third = yield from spawn_all(holder(), waiter("b"), waiter("c"))
        yield from sleep(1)
        yield from cancel(second)
        yield from join_all([first, third])
        log("main", "locked", lock.locked(), len(lock._waiters))

    kernel.run(main())
    assert log.trace == [(2.0, "holder", "released", True), (2.0, "c", "holds it"),
                         (2.0, "main", "locked", False, 0)]


def test_a_waiter_handed_the_lock_then_cancelled_releases_it_on_the_way_out(kernel, log):
    lock = Lock()

    async def waiter():
        try:
            async with lock:
                log("waiter", "holds it")
                await sleep(1)  # the cancel is raised here, at its next wait
        except TaskCancelled:
            log("waiter", "cancelled", lock.locked())
            raise

    def main():
        yield from lock.acquire()
        task = yield from spawn(waiter())
        yield from sleep(1)
        lock.release()  # handed to the waiter, which is now ready, not running
        yield from cancel(task)
        log("main", "locked", lock.locked())

    kernel.run(main())
    assert log.trace == [(1.0, "waiter", "holds it"), (1.0, "waiter", "cancelled", False),
                         (1.0, "main", "locked", False)]


def test_misuse_is_a_clear_error(kernel):
    with pytest.raises(RuntimeError, match="release\\(\\) of a Lock that is not held"):
        Lock().release()
    with pytest.raises(ValueError, match="starts with 0 permits or more, not -1"):
        Semaphore(-1)
    with pytest.raises(TypeError, match="async with"):
        with Lock():
            pass
