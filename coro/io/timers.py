"""Timers: things due at a time, in deadline order, cheap to cancel.

The reactor's timers (chapter 8) and the kernel's sleeps and deadlines (chapter 16)
are the same problem, so they share this one heap. Entries are keyed by
``(when, sequence)``: the earliest first, and equal times in the order they were set.

Cancelling a timer only marks it: taking it out of the middle of a heap would cost a
search. A marked timer is dropped when it reaches the top, or earlier, all at once,
when marked ones are most of a big heap, so that a million timeouts that all
finished in time keep nothing alive.

Taking out the due timers is one step that finishes before any of them runs. Running
them cancels others and sets new ones, so a walk over the heap that ran each timer as
it went would be walking a heap that changes under it (and could be rebuilt under it).
"""

import itertools
import math
from bisect import bisect_right
from heapq import heapify, heappop, heappush

#: A heap this big whose every entry is due is sorted and cut, not popped one by one.
_BURST = 64
#: Rebuild the heap without its marked timers when more than this many are marked,
#: and they are more than half of it.
_REBUILD_AFTER = 512


class Timer:
    """Something due at ``when``. Subclasses say what is due (a callback, a task's alarm).

    Invariant: ``_heap`` is the :class:`TimerHeap` the timer sits in, or None once it
    has been taken out (it was due, or it was cancelled and dropped).
    """

    __slots__ = ("when", "cancelled", "_heap")

    def __init__(self, when):
        self.when, self.cancelled, self._heap = when, False, None

    def cancel(self):
        """Make sure it never goes off (if it has not gone off yet)."""
        if not self.cancelled:
            self.cancelled = True
            if self._heap is not None:
                self._heap._marked_one()


class TimerHeap:
    """Timers in ``(when, sequence)`` order.

    Invariant: ``_marked`` counts the cancelled timers still in the heap.
    """

    def __init__(self):
        self._heap, self._marked, self._sequence = [], 0, itertools.count()

    def __len__(self):
        """How many timers are set and not cancelled."""
        return len(self._heap) - self._marked

    def held(self):
        """How many entries the heap holds, cancelled ones included."""
        return len(self._heap)

    def push(self, timer):
        """Add ``timer`` (not yet in any heap); returns it."""
        timer._heap = self
        heappush(self._heap, (timer.when, next(self._sequence), timer))
        return timer

    def next_time(self):
        """When the first timer in the heap is due (perhaps a cancelled one), or None."""
        return self._heap[0][0] if self._heap else None

    def pop_due(self, now):
        """Take out every timer due at ``now``; return the ones not cancelled, in order."""
        heap = self._heap
        if len(heap) > _BURST and heap[-1][0] <= now:
            # A burst: even the heap's last entry is due. A sorted list is still a heap, and
            # cutting its due part off in one go is much faster than popping one by one.
            heap.sort()
            cut = bisect_right(heap, (now, math.inf))  # inf: after every sequence number
            due = [entry[2] for entry in heap[:cut]]
            del heap[:cut]
        else:
            due = []
            while heap and heap[0][0] <= now:
                due.append(heappop(heap)[2])
        live = []
        for timer in due:
            timer._heap = None  # out of the heap: cancelling it no longer counts here
            if timer.cancelled:
                self._marked -= 1
            else:
                live.append(timer)
        return live

    def _marked_one(self):
        self._marked += 1
        if self._marked > _REBUILD_AFTER and self._marked * 2 > len(self._heap):
            live = []
            for entry in self._heap:
                if entry[2].cancelled:
                    entry[2]._heap = None
                else:
                    live.append(entry)
            heapify(live)
            self._heap, self._marked = live, 0
