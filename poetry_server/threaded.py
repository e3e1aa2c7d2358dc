"""Chapter 3: the thread-per-client slow poetry server.

The same server as chapter 2 (:func:`poetry_server.blocking.serve_client` sends the
poem, unchanged), except that each accepted client gets a thread of its own, so a slow
client no longer holds up the next one. Each poem is served on its own port, with one
accepting thread per port. This is what ``python -m poetry_server`` runs.

    python -m poetry_server.threaded [--iface HOST] [--port PORT] [--delay SECONDS]
                                     [--num-bytes N] POEM ...
"""

import errno
import queue
import sys
import threading
import time

from coro.io.threads import signals_for_the_main_thread_only
from poetry_server import cli
from poetry_server.blocking import serve_client

#: accept() errors that mean "out of resources for now": wait, then try again.
#: Retrying at once would spin, since the pending connection is still pending.
_EXHAUSTED = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}
_BACKOFF = 0.1


def serve(listener, poem, *, num_bytes, delay):
    """Accept clients forever, serving each in a thread of its own."""
    while True:
        try:
            sock, address = listener.accept()
        except ConnectionAbortedError:
            continue  # the client gave up while it waited in the queue
        except OSError as exc:
            if exc.errno not in _EXHAUSTED:
                raise
            print(f"accept: {exc.strerror}; retrying in {_BACKOFF}s", file=sys.stderr)
            time.sleep(_BACKOFF)
            continue
        thread = threading.Thread(
            target=_serve_then_close,
            args=(sock, address, poem),
            kwargs={"num_bytes": num_bytes, "delay": delay},
            daemon=True,
        )
        thread.start()


def _serve_then_close(sock, address, poem, *, num_bytes, delay):
    with sock:
        serve_client(sock, address, poem, num_bytes=num_bytes, delay=delay)


def _accept_forever(listener, poem, options, failures):
    try:
        serve(listener, poem.data, num_bytes=options.num_bytes, delay=options.delay)
    except OSError as exc:
        failures.put(f"{poem.name}: accept failed: {exc}")


def main(argv=None, prog="python -m poetry_server.threaded"):
    """Run the server until Ctrl-C or SIGTERM; return the exit status."""
    cli.stop_on_signals()
    parser = cli.make_parser(prog, __doc__.split("\n\n")[0])
    try:
        options, poems = cli.parse_args(parser, argv)
        listeners = cli.listen_all(options, poems)
    except cli.UsageError as exc:
        return cli.fail_usage(prog, exc)
    failures = queue.Queue()
    try:
        for poem, listener in zip(poems, listeners):
            cli.announce(cli.serving(poem, listener))
            with signals_for_the_main_thread_only():
                threading.Thread(
                    target=_accept_forever,
                    args=(listener, poem, options, failures),
                    daemon=True,
                ).start()
        failure = failures.get()  # blocks until Ctrl-C, or until a port fails
        print(f"{prog}: error: {failure}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for listener in listeners:
            listener.close()


if __name__ == "__main__":
    sys.exit(main())
