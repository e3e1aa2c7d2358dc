"""How many clients a server on the reactor serves at once, and what it does at the limit.

Every client holds a descriptor, and a process may open only so many
(``RLIMIT_NOFILE``, ``ulimit -n``). A server that accepts whoever comes runs out: then
``accept()`` fails, and so does every file the server opens, for everyone. So a server
serves at most ``--max-clients`` clients at once, over all its ports. At the limit it
*stops accepting* until a client leaves, which is what an operator expects of a busy
server: the clients that come meanwhile are not refused, they wait, connected, in the
system's listen queue (``--backlog`` of them), and are served in the order they came.
Stopping costs nothing while it lasts, since a listening socket nobody watches wakes
nobody: no busy loop.
"""

import resource

#: The most clients served at once, unless the descriptor limit says fewer.
MAX_CLIENTS = 512


def default_max_clients():
    """:data:`MAX_CLIENTS`, or half the descriptors this process may open, if fewer.

    The other half is for what is not a client: the listening sockets, the loop's own
    descriptors, and the second socket a proxy opens for each client.
    """
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return MAX_CLIENTS
    return max(1, min(MAX_CLIENTS, soft // 2))


class ClientLimit:
    """The clients a server is serving, over all its ports, and at most how many.

    Whatever serves a client calls :meth:`take` as it begins and :meth:`release` once as
    it ends. Invariant: ``count`` is between 0 and ``most``, and while it is ``most``
    every acceptor added is paused, so new clients wait in the listen queues.

    An acceptor is any object with ``pause()`` and ``resume()``; ``resume()`` is called
    when a place frees up, and the acceptor itself checks :attr:`full` before it
    accepts again.
    """

    def __init__(self, most):
        self.most = most
        self.count = 0
        self._acceptors = []

    @property
    def full(self):
        """Whether the server serves as many clients as it may."""
        return self.count >= self.most

    def add_acceptor(self, acceptor):
        """Pause and resume ``acceptor`` as the limit fills and frees up."""
        self._acceptors.append(acceptor)

    def remove_acceptor(self, acceptor):
        """Stop telling ``acceptor`` anything (it is closing)."""
        self._acceptors.remove(acceptor)

    def take(self):
        """One more client is being served; at the limit, every acceptor pauses.

        Raises:
            RuntimeError: the limit was full already: something accepted a client
                without asking.
        """
        if self.full:
            raise RuntimeError(f"a client was taken past the limit of {self.most}")
        self.count += 1
        if self.full:
            for acceptor in self._acceptors:
                acceptor.pause()

    def release(self):
        """A client has gone; if the limit was full, every acceptor resumes.

        Raises:
            RuntimeError: no client was being served.
        """
        if not self.count:
            raise RuntimeError("a client limit was released more often than taken")
        was_full = self.full
        self.count -= 1
        if was_full:
            for acceptor in list(self._acceptors):
                acceptor.resume()
