"""``python -m poetry_server``: the slow poetry server that every chapter's clients use.

It is the reactor-based server of chapter 8: one thread, any number of clients.
"""

import sys

from poetry_server import reactor_server

if __name__ == "__main__":
    sys.exit(reactor_server.main(prog="python -m poetry_server"))
