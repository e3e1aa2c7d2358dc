"""Alarms: the kernel's timers, in deadline order, cheap to cancel.

Every sleep and every deadline of a kernel task is an :class:`Alarm` in a heap keyed by
``(when, sequence)``, so equal times go off in the order they were set, as the
reactor's timers do (chapter 8). Cancelling one only marks it: taking it out of the
middle of a heap would cost a search. A marked alarm is dropped when it reaches the
top, or earlier, all at once, when marked ones are most of a big heap, so that a
million timeouts that all finished in time keep nothing alive.
"""

import itertools
from heapq import heapify, heappop, heappush


class Alarm:
    """What to do at a time: end ``task``'s sleep, or check its ``deadline`` (if not None)."""

    __slots__ = ("task", "deadline", "cancelled", "_heap")

    def __init__(self, task, deadline, heap):
        self.task, self.deadline, self.cancelled, self._heap = task, deadline, False, heap

    def cancel(self):
        """Make sure it never goes off (if it has not gone off yet)."""
        if not self.cancelled:
            self.cancelled = True
            self._heap._cancelled()


class AlarmHeap:
    """Alarms in ``(when, sequence)`` order.

    Invariant: ``_marked`` counts the cancelled alarms still in the heap.
    """

    def __init__(self):
        self._heap, self._marked, self._sequence = [], 0, itertools.count()

    def __len__(self):
        """How many alarms are set and not cancelled."""
        return len(self._heap) - self._marked

    def add(self, when, task, deadline=None):
        """Set an alarm for ``when``; returns it."""
        alarm = Alarm(task, deadline, self)
        heappush(self._heap, (when, next(self._sequence), alarm))
        return alarm

    def next_time(self):
        """When the first alarm in the heap is due (perhaps a cancelled one), or None."""
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now):
        """Take out, in order, every alarm due at ``now`` that is not cancelled."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            alarm = heappop(heap)[2]
            if alarm.cancelled:
                self._marked -= 1
            else:
                alarm.cancelled = True  # gone off: cancelling it now changes nothing
                yield alarm

    def _cancelled(self):
        self._marked += 1
        if self._marked > 512 and self._marked * 2 > len(self._heap):
            self._heap = [entry for entry in self._heap if not entry[2].cancelled]
            heapify(self._heap)
            self._marked = 0
