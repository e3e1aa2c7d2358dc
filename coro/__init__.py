"""coro: asynchronous programming built up from blocking sockets, one chapter at a time.

``python -m coro --list`` prints the chapters and the stages you can run;
``python -m coro`` runs the tour. Those stages are the modules at the top of this
package; the runtime they are built on is four packages, one per layer, each standing
only on the ones before it: :mod:`coro.io`, :mod:`coro.reactor`, :mod:`coro.deferred`
and :mod:`coro.kernel`. Their public pieces are here too:

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
  :mod:`coro.kernel.traps`, its sockets in :mod:`coro.kernel.sockets`;
- the trace of a run (chapter 1): :class:`Trace`, :class:`Event`,
  :func:`render_timeline`.
"""

from coro.deferred import (AlreadyCalledError, CancelledError, Deferred, DeferredList, Failure,
                           FirstError, ensure_deferred, fail, gather, inline_callbacks,
                           maybe_deferred, succeed)
from coro.io import FakeClock, MonotonicClock
from coro.kernel import Kernel, TaskCancelled, TaskGroup, timeout_after
from coro.reactor import (ClientFactory, ConnectionDone, Factory, MemoryTransport, Protocol,
                          Reactor, Transport, connect, listen)
from coro.trace import Event, Trace, render_timeline

__all__ = [
    "AlreadyCalledError", "CancelledError", "ClientFactory", "ConnectionDone", "Deferred",
    "DeferredList", "Event", "Factory", "Failure", "FakeClock", "FirstError", "Kernel",
    "MemoryTransport", "MonotonicClock", "Protocol", "Reactor", "TaskCancelled", "TaskGroup",
    "Trace", "Transport", "connect", "ensure_deferred", "fail", "gather", "inline_callbacks",
    "listen", "maybe_deferred", "render_timeline", "succeed", "timeout_after",
]
