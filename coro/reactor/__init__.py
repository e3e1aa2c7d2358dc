"""The reactor layer: an event loop with callbacks (chapters 8 and 9).

- :mod:`~coro.reactor.loop`: the :class:`~coro.reactor.loop.Reactor` and its tick;
- :mod:`~coro.reactor.handles`: the callbacks and timers it queues;
- :mod:`~coro.reactor.protocol`: protocols, factories and producers;
- :mod:`~coro.reactor.transport`: a connection's transport (buffered writes, flow control);
- :mod:`~coro.reactor.tcp`: listening and connecting;
- :mod:`~coro.reactor.memory_transport`: a transport in memory, for tests.

It stands on :mod:`coro.io` and imports nothing from the layers above it.
"""

from coro.reactor.handles import Handle, Timer
from coro.reactor.loop import Reactor
from coro.reactor.memory_transport import MemoryTransport
from coro.reactor.protocol import ClientFactory, ConnectionDone, Factory, Producer, Protocol
from coro.reactor.tcp import Connector, Listener, connect, listen
from coro.reactor.transport import Transport

__all__ = [
    "ClientFactory", "ConnectionDone", "Connector", "Factory", "Handle", "Listener",
    "MemoryTransport", "Producer", "Protocol", "Reactor", "Timer", "Transport", "connect",
    "listen",
]
