"""Exercise 16.2: the kernel's poetry server, counting its clients.

The stage's server keeps the tasks of the clients it serves in a ``ClientTasks``.
This one counts as well, over every port: how many clients have come, and the most
it has served at once. It says so on stderr as each client comes, and once more when
it stops:

    client 3 came; 2 being served
    served 3 clients, at most 2 at once

No lock guards the counts, and none is needed: a task runs until its next trap, so
nothing else runs between reading a count and writing it back.

    python -m exercises.ch16_counting_server [the kernel server's options] POEM ...
"""

import sys

from coro.kernel.loop import Kernel
from coro.kernel.sockets import Socket
from coro.kernel.task_group import TaskGroup
from poetry_server import cli
from poetry_server.kernel_server import ClientTasks, make_parser, serve


class CountedClients(ClientTasks):
    """The stage's ``ClientTasks``, which count the clients too.

    Invariant: ``served`` is how many clients have been started, and ``most_at_once``
    the largest ``len(tasks)`` there has been.
    """

    def __init__(self, most):
        super().__init__(most)
        self.served = 0
        self.most_at_once = 0

    def start(self, client):
        yield from super().start(client)
        self.served += 1
        self.most_at_once = max(self.most_at_once, len(self.tasks))
        tell(f"client {self.served} came; {len(self.tasks)} being served")


def tell(what):
    """Say it on stderr."""
    print(what, file=sys.stderr, flush=True)


def serve_all(listeners, poems, options):
    """The stage's main task, with one :class:`CountedClients` for every port, whose
    counts it tells when it ends, by Ctrl-C or SIGTERM."""
    clients = CountedClients(options.max_clients)
    group = TaskGroup()
    try:
        for listener, poem in zip(listeners, poems):
            yield from group.spawn(serve(listener, memoryview(poem.data),
                                         num_bytes=options.num_bytes, delay=options.delay,
                                         idle_timeout=options.idle_timeout, clients=clients))
            cli.announce(cli.serving(poem, listener.raw))
        yield from group.join()
    finally:
        tell(f"served {clients.served} client{'' if clients.served == 1 else 's'}, "
             f"at most {clients.most_at_once} at once")


def main(argv=None, prog="python -m exercises.ch16_counting_server"):
    """Run the server until Ctrl-C or SIGTERM; return the exit status."""
    try:
        options, poems = cli.parse_args(make_parser(prog), argv)
        listeners = cli.listen_all(options, poems)
    except cli.UsageError as exc:
        return cli.fail_usage(prog, exc)
    sockets = [Socket(sock) for sock in listeners]
    with Kernel(slow_task=options.slow_task) as kernel:
        try:
            kernel.run(serve_all(sockets, poems, options))
        except KeyboardInterrupt:
            pass  # every task was cancelled first, and its `with` closed its socket
    return 0


if __name__ == "__main__":
    sys.exit(main())
