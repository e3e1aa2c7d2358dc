"""The kernel's alarms: deadline order, ties in the order set, cancelled ones never go off."""

import weakref

from hypothesis import given
from hypothesis import strategies as st

from coro.alarms import AlarmHeap


class Owner:
    """Stands for a task: something an alarm keeps alive."""


def test_alarms_go_off_in_time_order_and_ties_in_the_order_they_were_set():
    heap = AlarmHeap()
    for when, name in [(2.0, "c"), (1.0, "a"), (2.0, "d"), (1.0, "b"), (3.0, "late")]:
        heap.add(when, name)
    assert [alarm.task for alarm in heap.pop_due(2.0)] == ["a", "b", "c", "d"]
    assert len(heap) == 1 and heap.next_time() == 3.0


def test_a_cancelled_alarm_never_goes_off_and_is_not_counted():
    heap = AlarmHeap()
    keep, drop = heap.add(1.0, "keep"), heap.add(1.0, "drop")
    drop.cancel()
    drop.cancel()  # twice is harmless
    assert len(heap) == 1
    assert [alarm.task for alarm in heap.pop_due(5.0)] == ["keep"]
    keep.cancel()  # after it went off: changes nothing
    assert len(heap) == 0


def test_many_cancelled_alarms_keep_nothing_alive():
    heap = AlarmHeap()
    owners = [Owner() for _ in range(5_000)]
    refs = [weakref.ref(owner) for owner in owners]
    alarms = [heap.add(60.0 + i, owner) for i, owner in enumerate(owners)]
    for alarm in alarms:
        alarm.cancel()
    del owners, alarms
    assert sum(ref() is not None for ref in refs) < 600  # the last few, below the threshold


@given(st.lists(st.tuples(st.integers(0, 20), st.booleans()), max_size=60))
def test_whatever_is_set_and_cancelled_the_rest_go_off_in_when_then_set_order(entries):
    heap = AlarmHeap()
    alarms = [(when, number, heap.add(when, number), cancel)
              for number, (when, cancel) in enumerate(entries)]
    for _, _, alarm, cancel in alarms:
        if cancel:
            alarm.cancel()
    expected = [number for when, number, _, cancel in sorted(alarms, key=lambda a: a[:2])
                if not cancel]
    assert [alarm.task for alarm in heap.pop_due(20)] == expected
    assert len(heap) == 0
