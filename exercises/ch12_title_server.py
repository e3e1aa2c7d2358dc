"""Exercise 12.1: a transformation server with one more transform, ``title``.

The stage's table of transforms is read-only, on purpose: no client can add to it. To
offer another transform, run a server with a table of your own. This one is chapter
12's server, built from the stage's pieces, with the stage's transforms and ``title``,
which capitalises the first letter of each word:

    python -m exercises.ch12_title_server [--iface HOST] [--port PORT]
                                          [--idle-timeout SECONDS] [--backlog N]
                                          [--max-clients N] [--max-length BYTES]
"""

import re
import sys

from coro.reactor.loop import Reactor
from poetry_server import cli
from poetry_server.client_limit import ClientLimit
from poetry_server.protocol_server import protocol_starter
from poetry_server.reactor_server import Acceptor
from poetry_server.transform import TRANSFORMS, _on_text
from poetry_server.transform_server import TransformServerFactory, make_parser

# A word's first letter: a letter at the start of the text or after a space. So
# "i'll" becomes "I'll", where str.title() makes it "I'Ll".
_WORD_START = re.compile(r"(?<!\S)\w")


@_on_text
def title(text):
    """Capitalise the first letter of each word: ``Tyger Tyger, Burning Bright,``."""
    return _WORD_START.sub(lambda letter: letter[0].upper(), text)


#: The stage's transforms, and ``title``.
TITLED = {**TRANSFORMS, "title": title}


def main(argv=None, prog="python -m exercises.ch12_title_server"):
    """Run the server until Ctrl-C or SIGTERM; return the exit status."""
    parser = make_parser(prog)
    parser.epilog = f"Transforms: {', '.join(TITLED)}."
    try:
        options = parser.parse_args(argv)
        sock = cli.listen(options.iface, options.port, options.backlog)
    except cli.UsageError as exc:
        return cli.fail_usage(prog, exc)
    limit = ClientLimit(options.max_clients)
    with Reactor() as reactor:
        factory = TransformServerFactory(reactor, TITLED, idle_timeout=options.idle_timeout,
                                         max_length=options.max_length, limit=limit)
        Acceptor(reactor, sock, protocol_starter(reactor, factory), limit)
        host, port = sock.getsockname()[:2]
        cli.run_and_announce(reactor,
                             f"Serving transforms {', '.join(TITLED)} on {host}:{port}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
