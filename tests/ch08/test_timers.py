"""The one timer heap (the reactor's timers, the kernel's alarms): deadline order, ties in
the order set, cancelled ones never go off, and nothing is left counted or kept alive."""

import weakref

from hypothesis import given, strategies as st

from coro.io.timers import Timer, TimerHeap


class Named(Timer):
    """A timer that only carries a name (the reactor's carry a callback, the kernel's a task)."""

    __slots__ = ("name",)

    def __init__(self, when, name):
        super().__init__(when)
        self.name = name


def names(timers):
    return [timer.name for timer in timers]


def test_timers_go_off_in_time_order_and_ties_in_the_order_they_were_set():
    heap = TimerHeap()
    for when, name in [(2.0, "c"), (1.0, "a"), (2.0, "d"), (1.0, "b"), (3.0, "late")]:
        heap.push(Named(when, name))
    assert names(heap.pop_due(2.0)) == ["a", "b", "c", "d"]
    assert len(heap) == 1 and heap.next_time() == 3.0


def test_a_cancelled_timer_never_goes_off_and_is_not_counted():
    heap = TimerHeap()
    keep, drop = heap.push(Named(1.0, "keep")), heap.push(Named(1.0, "drop"))
    drop.cancel()
    drop.cancel()  # twice is harmless
    assert len(heap) == 1
    assert names(heap.pop_due(5.0)) == ["keep"]
    keep.cancel()  # after it went off: changes nothing
    assert len(heap) == 0 and heap.held() == 0


class Owner:
    """Stands for a task or a callback: something a timer keeps alive."""


def test_many_cancelled_timers_keep_nothing_alive():
    heap = TimerHeap()
    owners = [Owner() for _ in range(5_000)]
    refs = [weakref.ref(owner) for owner in owners]
    timers = [heap.push(Named(60.0 + i, owner)) for i, owner in enumerate(owners)]
    for timer in timers:
        timer.cancel()
    del owners, timers
    assert sum(ref() is not None for ref in refs) < 600  # the last few, below the threshold
    assert len(heap) == 0


def test_what_the_due_timers_do_when_they_run_does_not_disturb_the_walk():
    # Each due timer, when it runs, cancels a later one and sets a new one, as a deadline
    # that ends a task's sleep does. The walk was over before any of them ran, so every
    # count stays right, even across the rebuild that 600 cancels set off.
    heap = TimerHeap()
    deadlines = [heap.push(Named(1.0, f"deadline {i}")) for i in range(600)]
    sleeps = [heap.push(Named(10.0, f"sleep {i}")) for i in range(600)]
    went_off = []
    for timer in heap.pop_due(1.0):
        went_off.append(timer.name)
        sleeps[deadlines.index(timer)].cancel()
    assert went_off == [f"deadline {i}" for i in range(600)]
    assert len(heap) == 0
    assert heap.pop_due(20.0) == [] and heap.held() == 0


def test_a_timer_cancelled_after_it_was_taken_out_is_marked_but_not_counted():
    # The reactor queues due timers for the tick; one cancelled before its turn must not
    # run (its owner checks ``cancelled``), and the heap's count is not touched.
    heap = TimerHeap()
    first, second = heap.push(Named(1.0, "first")), heap.push(Named(1.0, "second"))
    due = heap.pop_due(1.0)
    second.cancel()
    assert due == [first, second] and second.cancelled and len(heap) == 0


@given(st.lists(st.tuples(st.integers(0, 20), st.booleans()), max_size=100))
def test_whatever_is_set_and_cancelled_the_rest_go_off_in_when_then_set_order(entries):
    heap = TimerHeap()
    timers = [(when, number, heap.push(Named(when, number)), cancel)
              for number, (when, cancel) in enumerate(entries)]
    for _, _, timer, cancel in timers:
        if cancel:
            timer.cancel()
    expected = [number for when, number, _, cancel in sorted(timers, key=lambda t: t[:2])
                if not cancel]
    assert names(heap.pop_due(20)) == expected
    assert len(heap) == 0 and heap.held() == 0
