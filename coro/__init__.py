"""coro: asynchronous programming built up from blocking sockets, one chapter at a time.

``python -m coro --list`` prints the chapters and the stages you can run;
``python -m coro`` runs the tour. The runtime's public pieces are here:

- the reactor and its clocks (chapter 8): :class:`Reactor`, :class:`MonotonicClock`,
  :class:`FakeClock`;
- transports, protocols and factories (chapter 9): :class:`Protocol`,
  :class:`Factory`, :class:`ClientFactory`, :class:`ConnectionDone`,
  :class:`Transport`, :func:`listen`, :func:`connect`, and for tests
  :class:`MemoryTransport`;
- the trace of a run (chapter 1): :class:`Trace`, :class:`Event`,
  :func:`render_timeline`.
"""

from coro.clock import FakeClock, MonotonicClock
from coro.protocol import ClientFactory, ConnectionDone, Factory, Protocol
from coro.reactor import Reactor
from coro.tcp import connect, listen
from coro.testing import MemoryTransport
from coro.trace import Event, Trace, render_timeline
from coro.transport import Transport

__all__ = [
    "ClientFactory", "ConnectionDone", "Event", "Factory", "FakeClock", "MemoryTransport",
    "MonotonicClock", "Protocol", "Reactor", "Trace", "Transport", "connect", "listen",
    "render_timeline",
]
