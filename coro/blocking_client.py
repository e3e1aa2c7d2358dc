"""Chapter 2: the blocking client.

It downloads one poem, then the next: ``connect`` blocks until the server answers and
``recv`` blocks until bytes arrive, so while one download waits for its slow server the
program can do nothing else, not even start the next download. The total time is the
sum of the downloads' times. Chapter 3 runs the downloads in threads; chapters 4 to 7
wait for many sockets in one thread.

    python -m coro.blocking_client [--timeout SECONDS] [--save DIR] [--timeline] [HOST:]PORT ...
"""

import io
import socket
import sys

from coro import cli
from coro.trace import Event


def get_poetry(address, *, task, trace, timeout):
    """Download the poem at ``address``, blocking until the server closes.

    Returns:
        The poem's bytes.

    Raises:
        OSError: the connection was refused, reset, or timed out.
    """
    trace.record(task, Event.START)
    with socket.create_connection(address, timeout=timeout) as sock:
        trace.record(task, Event.CONNECTED)
        # One buffer, grown in place, that getvalue() hands over without copying it:
        # a list of chunks joined at the end would hold the poem twice.
        poem = io.BytesIO()
        while True:
            data = sock.recv(4096)  # blocks until bytes arrive or the server closes
            if not data:
                break  # end of connection is end of poem
            trace.record(task, Event.RECEIVED, len(data))
            poem.write(data)
    return poem.getvalue()


def download_all(addresses, *, timeout, trace, done):
    """Download the poems one after another."""
    for task, address in enumerate(addresses, start=1):
        try:
            poem = get_poetry(address, task=task, trace=trace, timeout=timeout)
        except OSError as exc:
            done(task, error=exc)
        else:
            done(task, poem=poem)


def main(argv=None):
    """Run the client; return the exit status."""
    return cli.main(download_all, argv, prog="python -m coro.blocking_client",
                    description=__doc__.split("\n\n")[0])


if __name__ == "__main__":
    sys.exit(main())
