"""Exercise 9.2: a server that counts the bytes each client sends.

Each protocol counts the bytes of its own connection. The factory holds what the
connections share: the bytes and the clients counted so far. When a client says it
has finished (it half-closes, as ``nc -N`` or ``printf ... | nc`` do), the server
answers with both counts, and closes once the answer has gone out.

    python -m exercises.ch09_byte_count [--iface HOST] [--port PORT]
"""

import sys

from coro.reactor.protocol import Factory, Protocol
from exercises.ch09_upper_echo import serve


class ByteCounter(Protocol):
    """Counts the bytes of one connection, and reports them when the client is done."""

    def __init__(self):
        self.count = 0

    def data_received(self, data):
        self.count += len(data)

    def eof_received(self):
        totals = self.factory
        totals.count += self.count
        totals.clients += 1
        self.transport.write(
            f"{self.count} bytes from you; {totals.count} bytes from {totals.clients} "
            f"client{'' if totals.clients == 1 else 's'} so far\n".encode())
        return False  # close, once the answer has been sent


class ByteCounterFactory(Factory):
    """One :class:`ByteCounter` per connection, and the counts of every client so far."""

    protocol = ByteCounter

    def __init__(self):
        super().__init__()
        self.count = 0
        self.clients = 0


def main(argv=None):
    """Run the server until Ctrl-C or SIGTERM; return the exit status."""
    return serve(argv, prog="python -m exercises.ch09_byte_count",
                 description=__doc__.split("\n\n")[0], factory=ByteCounterFactory(),
                 saying="Counting bytes")


if __name__ == "__main__":
    sys.exit(main())
