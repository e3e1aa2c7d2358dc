"""Exercise 9.3: the echo server, safe from a client that sends and never reads.

Exercise 9.1's server writes back everything it reads. A client that sends and sends
but never reads what comes back makes the transport's out-buffer grow without end:
``write`` never refuses. The cure is chapter 9's producer, turned round. The transport
is itself a producer (paused, it stops reading its socket), so it is registered as the
producer of its own out-buffer: above the high-water mark it stops reading, and the
client's bytes back up in the system's buffers and then in the client itself; below
the low-water mark it reads again. The server's memory per client stays bounded.

    python -m exercises.ch09_bounded_echo [--iface HOST] [--port PORT]
"""

import sys

from coro.reactor.protocol import Factory
from exercises.ch09_upper_echo import UpperEcho, serve


class BoundedUpperEcho(UpperEcho):
    """Exercise 9.1's protocol, which reads only while the client reads the echo."""

    def connection_made(self, transport):
        super().connection_made(transport)
        transport.register_producer(transport)


def main(argv=None):
    """Run the server until Ctrl-C or SIGTERM; return the exit status."""
    return serve(argv, prog="python -m exercises.ch09_bounded_echo",
                 description=__doc__.split("\n\n")[0], factory=Factory(BoundedUpperEcho),
                 saying="Echoing in capitals, within bounds")


if __name__ == "__main__":
    sys.exit(main())
