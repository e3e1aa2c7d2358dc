"""Chapter 12: download each poem, then have it transformed, and keep it as it was if that fails.

Chapter 11's client downloads poems with ``get_poetry``, which returns a Deferred. This one
sends each poem on to a second service, the transformation server
(:mod:`poetry_server.transform_server`), and saves what comes back. Asking that server is
an asynchronous operation too, so :func:`transform` returns a Deferred as well, and the two
are chained by a callback that *returns* a Deferred: the chain waits for the transform and
goes on with its result. If the transform fails (an error reply, a refused, dead or silent
server, a reply cut short, a poem too long to send), an errback keeps the original poem, and
the run says so on a line of its own:

    Task 1: transform failed (connection refused by 127.0.0.1:10000); kept the poem as it was

The request and the reply are netstrings (:mod:`coro.netstring`), so a reply cut short by a
connection that closes early is told apart from a whole one: a poem's end is no longer the
connection's end.

    python -m coro.transform_client --transform-server [HOST:]PORT [--transform NAME]
                                    [--timeout SECONDS] [--save DIR] [--timeline] [HOST:]PORT ...
"""

import argparse
import errno
import re
import sys

from coro import cli
from coro.deferred.deferred import fail
from coro.deferred_client import DeferredClientFactory, get_poetry
from coro.io import multiplexer
from coro.netstring import NetstringDecoder, NetstringError, encode
from coro.reactor import tcp
from coro.reactor.loop import Reactor
from coro.reactor.protocol import ConnectionDone, Protocol
from coro.trace import Event

#: The longest reply accepted, in bytes. A transformed poem may have more bytes than the
#: poem (upper-casing ``ΐ`` turns 2 bytes into 6), so this is well above the server's
#: 1 MiB request limit.
MAX_REPLY = 4 << 20

#: The longest request sent, in bytes. Building a request copies the poem, and its
#: netstring copies it again; with no limit, a client would hold a long poem three times
#: over to send what the server refuses anyway (over 1 MiB, unless told otherwise).
MAX_REQUEST = 4 << 20


class TransformError(Exception):
    """The transform server replied with an error; the message is the server's."""


class BadReply(Exception):
    """No whole reply came back: it was cut short, or it was not a reply at all."""


def read_reply(reply):
    """The transformed poem in a reply (the payload of its netstring).

    >>> from coro.transform_client import read_reply
    >>> read_reply(b"ok.a poem")
    b'a poem'
    >>> read_reply(b"error.unknown transform 'x'")
    Traceback (most recent call last):
      ...
    coro.transform_client.TransformError: unknown transform 'x'

    Raises:
        TransformError: for an ``error.`` reply.
        BadReply: for a reply that is neither ``ok.`` nor ``error.``.
    """
    status, dot, rest = reply.partition(b".")
    if dot and status == b"ok":
        return rest
    if dot and status == b"error":
        raise TransformError(rest.decode("utf-8", errors="replace"))
    raise BadReply(f"not a reply: {reply[:40]!r}")


class TransformClientProtocol(Protocol):
    """Sends one request, reads one reply, and tells the factory how it went, once.

    A reply is whole only once the decoder has its closing comma: a connection that ends
    before that is a failure, however cleanly it ends. Until then a timer runs that gives
    up on a server that stays silent.
    """

    def __init__(self):
        self.decoder = None
        self.outcome = None  # the transformed poem, or an exception saying why there is none
        self.timer = None

    def connection_made(self, transport):
        super().connection_made(transport)
        self.decoder = NetstringDecoder(self.factory.max_reply)
        transport.write(encode(self.factory.request))
        self.restart_timer()

    def data_received(self, data):
        if self.outcome is not None:
            return  # the reply is in; anything after it is not ours to read
        self.restart_timer()
        try:
            replies = self.decoder.feed(data)
        except NetstringError as exc:
            if not exc.messages:
                self.finish(BadReply(f"the reply is not a netstring: {exc}"))
                return
            replies = exc.messages  # a whole reply before the bad byte is still the reply
        if replies:
            try:
                self.finish(read_reply(replies[0]))
            except (TransformError, BadReply) as exc:
                self.finish(exc)

    def finish(self, outcome):
        self.outcome = outcome
        self.timer.cancel()
        self.transport.lose_connection()

    def connection_lost(self, reason):
        self.timer.cancel()
        if self.outcome is None and isinstance(reason, ConnectionDone):
            self.outcome = self.cut_short()  # a clean end, but before the whole reply
        elif self.outcome is None:
            self.outcome = reason
        self.factory.fire(self.outcome)

    def cut_short(self):
        """Why a connection that closed cleanly before the end of the reply failed."""
        got = self.decoder.buffered
        if not got:
            return BadReply("the server closed the connection without a reply")
        return BadReply(f"the reply was cut short: the connection closed after "
                        f"{got} bytes of it")

    def restart_timer(self):
        """Give up if the server sends nothing for ``timeout`` seconds from now."""
        if self.timer is not None:
            self.timer.cancel()
        self.timer = self.factory.reactor.call_later(self.factory.timeout, self.time_out)

    def time_out(self):
        self.outcome = TimeoutError(errno.ETIMEDOUT, "timed out")
        self.transport.abort_connection()


class TransformClientFactory(DeferredClientFactory):
    """Makes the protocol of one request and fires ``deferred`` with its outcome,
    once, as chapter 11's poetry factory does."""

    protocol = TransformClientProtocol

    def __init__(self, reactor, request, *, timeout, max_reply=MAX_REPLY):
        super().__init__()
        self.reactor = reactor
        self.request = request
        self.timeout = timeout
        self.max_reply = max_reply


_NAME = re.compile(r"[A-Za-z0-9_-]+")


def transform(reactor, host, port, name, poem, *, timeout=10.0, max_reply=MAX_REPLY,
              max_request=MAX_REQUEST):
    """Ask the transform server at ``host:port`` to apply transform ``name`` to ``poem``.

    Args:
        name: The transform's name (ASCII letters, digits, ``_`` and ``-``).
        poem: The poem's bytes.
        timeout: Give up when the server sends nothing for this many seconds.
        max_reply: The longest reply accepted, in bytes.
        max_request: The longest request sent, in bytes.

    Returns:
        A Deferred that fires with the transformed poem's bytes, or fails with
        :exc:`TransformError` (the server replied with an error), :exc:`BadReply` (no
        whole reply came) or the connection's error (refused, reset,
        :exc:`TimeoutError`; EMSGSIZE, at once, for a request over ``max_request``).

    Raises:
        ValueError: ``name`` is not a transform's name.
    """
    if not _NAME.fullmatch(name):
        raise ValueError(f"not a transform name: {name!r}")
    size = len(name) + 1 + len(poem)
    if size > max_request:  # checked before the request is built: it is never sent
        return fail(OSError(errno.EMSGSIZE, f"the poem is too long to send: a request of "
                                            f"{size} bytes, over the limit of {max_request}"))
    factory = TransformClientFactory(reactor, name.encode("ascii") + b"." + poem,
                                     timeout=timeout, max_reply=max_reply)
    factory.connector = tcp.connect(reactor, host, port, factory, timeout=timeout)
    return factory.deferred


def get_transformed_poem(reactor, address, transformer, name, *,
                         timeout, trace, task, warn):
    """Download the poem at ``address``, then have it transformed, or keep it as is.

    Args:
        transformer: The transform server's ``(host, port)``.
        name: The transform to ask for.
        warn: Called as ``warn(task, exception)`` when the transform fails.

    Returns:
        A Deferred that fires with the poem, transformed or as it was, or fails
        with the download's error.
    """

    def transform_it(poem):
        d = transform(reactor, *transformer, name, poem, timeout=timeout)
        d.add_errback(keep_it_as_it_was, poem)
        return d  # a Deferred: the outer chain waits for it

    def keep_it_as_it_was(failure, poem):
        # Anything else is a bug: trap() raises it again, and the task fails with it.
        failure.trap(TransformError, BadReply, OSError)
        warn(task, failure.value)
        return poem  # back on the success path, with the poem as it was

    d = get_poetry(reactor, *address, timeout=timeout, trace=trace, task=task)
    d.add_callback(transform_it)
    return d


def describe_transform_failure(error, transformer, timeout):
    """Say in a few words why a transform failed.

    >>> from coro.transform_client import describe_transform_failure, TransformError
    >>> describe_transform_failure(TransformError("unknown transform 'x'"), ("127.0.0.1", 1), 10)
    "127.0.0.1:1 replied: unknown transform 'x'"
    """
    if isinstance(error, TransformError):
        return f"{cli.format_address(transformer)} replied: {error}"
    return cli.describe(error, transformer, timeout)


def download_all(addresses, *, timeout, trace, done, transform_server, transform_name,
                 backend=None):
    """Download the poems at the same time and have each transformed as it arrives."""
    remaining = len(addresses)
    stopping = False

    def warn(task, error):
        if not stopping:  # closing after Ctrl-C cuts the transforms short: no news
            reason = describe_transform_failure(error, transform_server, timeout)
            print(f"Task {task}: transform failed ({reason}); kept the poem as it was",
                  flush=True)

    def got_poem(poem, task):
        if not stopping:
            done(task, poem=poem)

    def poem_failed(failure, task):
        if not stopping:
            done(task, error=failure.value)

    def one_less(result):
        nonlocal remaining
        remaining -= 1
        if not remaining:
            reactor.stop()
        return result  # a failure of got_poem or poem_failed goes on, to be reported

    with Reactor(multiplexer.create(backend)) as reactor:
        try:  # from the first connection on: a Ctrl-C may come before run() does
            for task, address in enumerate(addresses, start=1):
                trace.record(task, Event.START)
                d = get_transformed_poem(reactor, address, transform_server, transform_name,
                                         timeout=timeout, trace=trace, task=task, warn=warn)
                d.add_callbacks(got_poem, poem_failed, callback_args=(task,),
                                errback_args=(task,))
                d.add_both(one_less)
            reactor.run()
        finally:
            stopping = True
    if reactor.stopped_by:
        raise KeyboardInterrupt


def transform_name(text):
    """``--transform``'s type: a transform's name, or a usage error that says what one is."""
    if not _NAME.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"a transform name is ASCII letters, digits, '_' and '-', not {text!r}")
    return text


#: The options this stage adds to every client's command line (chapter 15's shares them).
STAGE_OPTIONS = [
    (("--transform-server",),
     {"type": cli.parse_address, "required": True, "metavar": "[HOST:]PORT",
      "help": "the transformation server (host: 127.0.0.1)"}),
    (("--transform",),
     {"type": transform_name, "default": "cummingsify", "dest": "transform_name",
      "metavar": "NAME", "help": "the transform to ask for (default: %(default)s)"}),
]


def main(argv=None):
    """Run the client; return the exit status."""
    return cli.main(download_all, argv, prog="python -m coro.transform_client",
                    description=__doc__.split("\n\n")[0], finishing_order=True,
                    stage_options=STAGE_OPTIONS)


if __name__ == "__main__":
    sys.exit(main())
