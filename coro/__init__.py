"""coro: asynchronous programming built up from blocking sockets, one chapter at a time.

``python -m coro --list`` prints the chapters and the stages you can run;
``python -m coro`` runs the tour. The runtime's public pieces are here:

- the reactor and its clocks (chapter 8): :class:`Reactor`, :class:`MonotonicClock`,
  :class:`FakeClock`;
- transports, protocols and factories (chapter 9): :class:`Protocol`,
  :class:`Factory`, :class:`ClientFactory`, :class:`ConnectionDone`,
  :class:`Transport`, :func:`listen`, :func:`connect`, and for tests
  :class:`MemoryTransport`;
- callbacks and Deferreds (chapters 10 to 13): :class:`Failure`, :class:`Deferred`,
  :func:`succeed`, :func:`fail`, :func:`maybe_deferred`, :class:`DeferredList`,
  :func:`gather`, and their errors :exc:`AlreadyCalledError`, :exc:`CancelledError`,
  :exc:`FirstError`;
- coroutines over Deferreds (chapter 15): :func:`inline_callbacks`,
  :func:`ensure_deferred`, and ``await`` on a Deferred;
- the kernel of coroutines (chapter 16): :class:`Kernel`, :class:`TaskGroup`,
  :func:`timeout_after`, :exc:`TaskCancelled`; the traps a task yields are in
  :mod:`coro.traps`, its sockets in :mod:`coro.kernel_io`;
- the trace of a run (chapter 1): :class:`Trace`, :class:`Event`,
  :func:`render_timeline`.
"""

from coro.clock import FakeClock, MonotonicClock
from coro.deferred import (AlreadyCalledError, CancelledError, Deferred, fail, maybe_deferred,
                           succeed)
from coro.deferred_list import DeferredList, FirstError, gather
from coro.failure import Failure
from coro.inline import ensure_deferred, inline_callbacks
from coro.kernel import Kernel
from coro.protocol import ClientFactory, ConnectionDone, Factory, Protocol
from coro.reactor import Reactor
from coro.task import TaskCancelled
from coro.task_group import TaskGroup
from coro.tcp import connect, listen
from coro.timeouts import timeout_after
from coro.testing import MemoryTransport
from coro.trace import Event, Trace, render_timeline
from coro.transport import Transport

__all__ = [
    "AlreadyCalledError", "CancelledError", "ClientFactory", "ConnectionDone", "Deferred",
    "DeferredList", "Event", "Factory", "Failure", "FakeClock", "FirstError", "Kernel",
    "MemoryTransport", "MonotonicClock", "Protocol", "Reactor", "TaskCancelled", "TaskGroup",
    "Trace", "Transport", "connect", "ensure_deferred", "fail", "gather", "inline_callbacks",
    "listen", "maybe_deferred", "render_timeline", "succeed", "timeout_after",
]
