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
- the trace of a run (chapter 1): :class:`Trace`, :class:`Event`,
  :func:`render_timeline`.
"""

from coro.clock import FakeClock, MonotonicClock
from coro.deferred import (AlreadyCalledError, CancelledError, Deferred, fail, maybe_deferred,
                           succeed)
from coro.deferred_list import DeferredList, FirstError, gather
from coro.failure import Failure
from coro.protocol import ClientFactory, ConnectionDone, Factory, Protocol
from coro.reactor import Reactor
from coro.tcp import connect, listen
from coro.testing import MemoryTransport
from coro.trace import Event, Trace, render_timeline
from coro.transport import Transport

__all__ = [
    "AlreadyCalledError", "CancelledError", "ClientFactory", "ConnectionDone", "Deferred",
    "DeferredList", "Event", "Factory", "Failure", "FakeClock", "FirstError",
    "MemoryTransport", "MonotonicClock", "Protocol", "Reactor", "Trace", "Transport",
    "connect", "fail", "gather", "listen", "maybe_deferred", "render_timeline", "succeed",
]
