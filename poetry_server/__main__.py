"""``python -m poetry_server``: the slow poetry server that every chapter's clients use.

Until the reactor of chapter 8 exists, this is the thread-per-client server of
chapter 3.
"""

import sys

from poetry_server import threaded

if __name__ == "__main__":
    sys.exit(threaded.main(prog="python -m poetry_server"))
