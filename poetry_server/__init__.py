"""The slow poetry servers of the book, and the poems they serve.

``python -m poetry_server POEM ...`` serves each poem on its own port, to many
clients at once. The stage servers of the chapters live beside it:

- :mod:`poetry_server.blocking` (chapter 2) serves one client at a time;
- :mod:`poetry_server.threaded` (chapter 3) gives each client a thread;
- :mod:`poetry_server.reactor_server` (chapter 8) serves them all from one thread,
  on a reactor; it is what ``python -m poetry_server`` runs;
- :mod:`poetry_server.protocol_server` (chapter 9) is the same server as a protocol.

:func:`spawn` starts a server in a child process and tells you its ports; the tour,
the tests and the docs build all use it.
"""

from poetry_server.catalogue import Poem, PoemError, catalogue, load_poem
from poetry_server.spawn import spawn

__all__ = ["Poem", "PoemError", "catalogue", "load_poem", "spawn"]
