"""Chapter 2: the blocking slow poetry server.

It serves one poem on one port to one client at a time: accept a connection, send
the poem ``--num-bytes`` at a time with ``--delay`` seconds between chunks, close,
and only then accept the next client. While it sleeps between two chunks for one
client, every other client waits in the listen queue, connected but sent nothing; the
queue holds ``--backlog`` of them. Chapter 3 gives each client a thread; chapter 8
serves them all from one thread.

    python -m poetry_server.blocking [--port PORT] [--delay SECONDS] [--num-bytes N]
                                     [--backlog N] POEM
"""

import sys
import time

from poetry_server import cli

#: A client that takes no bytes for this long is dropped, so that a peer that never
#: reads cannot hold the server (or, here, every other client) forever.
SEND_TIMEOUT = 60.0


def send_poem(sock, poem, *, num_bytes, delay):
    """Send ``poem`` in chunks of ``num_bytes``, sleeping ``delay`` between them.

    End of poem is end of connection: the caller closes the socket when this returns.

    Returns:
        The number of bytes sent, which is ``len(poem)``.
    """
    sent = 0
    while sent < len(poem):
        if sent:
            time.sleep(delay)
        chunk = poem[sent:sent + num_bytes]
        sock.sendall(chunk)
        sent += len(chunk)
    return sent


def serve_client(sock, address, poem, *, num_bytes, delay):
    """Send ``poem`` to one client; a client that goes away costs only itself.

    Whatever went wrong with this client is told on stderr in one line. The socket is
    the caller's to close.
    """
    sock.settimeout(SEND_TIMEOUT)
    try:
        send_poem(sock, poem, num_bytes=num_bytes, delay=delay)
    except TimeoutError:
        _tell(address, f"took nothing for {SEND_TIMEOUT:g}s; dropped")
    except (BrokenPipeError, ConnectionResetError):
        _tell(address, "hung up before the end of the poem")
    except OSError as exc:
        _tell(address, f"dropped: {exc.strerror or exc}")


def _tell(address, what):
    print(f"client {cli.format_address(address)} {what}", file=sys.stderr, flush=True)


def serve(listener, poem, *, num_bytes, delay):
    """Serve ``poem`` to one client after another, forever."""
    while True:
        sock, address = listener.accept()
        with sock:
            serve_client(sock, address, poem, num_bytes=num_bytes, delay=delay)


def main(argv=None):
    """Run the server until Ctrl-C or SIGTERM; return the exit status."""
    cli.stop_on_signals()
    prog = "python -m poetry_server.blocking"
    parser = cli.make_parser(prog, __doc__.split("\n\n")[0], many_poems=False,
                             many_clients=False)
    parser.epilog += (f" It serves one client at a time; the others wait in the listen "
                      f"queue. A client that takes no bytes for {SEND_TIMEOUT:g}s is dropped.")
    try:
        options, [poem] = cli.parse_args(parser, argv)
        [listener] = cli.listen_all(options, [poem])
    except cli.UsageError as exc:
        return cli.fail_usage(prog, exc)
    with listener:
        try:  # from the first line on: a signal may come as soon as it is read
            cli.announce(cli.serving(poem, listener))
            serve(listener, poem.data, num_bytes=options.num_bytes, delay=options.delay)
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main())
