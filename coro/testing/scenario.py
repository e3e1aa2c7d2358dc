"""A ready-made simulated run: one poetry server, some clients, one seed.

:func:`simulate_poetry` builds a :class:`~coro.testing.simnet.SimulatedNetwork` from a
seed, installs it, and runs on one :class:`~coro.kernel.loop.Kernel` a server task
that listens on 127.0.0.1:7000 and a task per client that downloads the poem. It
reports what each client got, the network's log, how much simulated time it took, and
whether anything was left behind: a socket open, a timer set, an error reported.

It imports no stage. The runtime layers stand below the stages and never look up at
them, so the server and the client are arguments, coroutine functions of the shapes
of chapter 16's :func:`poetry_server.kernel_server.serve` and
:func:`coro.kernel_client.get_poetry`; a test, or the replay command
``python -m poetry_server.simulation``, passes those two.

How the run ends. Once every client has ended, the server's tasks for them are still
finishing: reading the client's end of file, or waiting out their idle timeout. The
run waits until every connection is closed at both ends (it looks every
:data:`SETTLE_CHECK` seconds, while the network runs on), then cancels the server,
whose ``with listener`` closes the listener. So the kernel has nothing left to cancel
when the main task returns, and every connection ends the way the server and the
client end it, in the log, rather than cut short by the end of the run.
"""

from dataclasses import dataclass

from coro.kernel.loop import Kernel
from coro.kernel.sockets import listen
from coro.kernel.traps import cancel, join, sleep, spawn
from coro.testing.simnet import Faults, SimulatedNetwork
from coro.testing.simsockets import HOST
from coro.trace import Trace

#: Where the simulated server listens.
SERVER_PORT = 7000
#: A short poem (Emily Dickinson, 1891), a few hundred bytes.
POEM = (b"Hope is the thing with feathers\n"
        b"That perches in the soul,\n"
        b"And sings the tune without the words,\n"
        b"And never stops at all,\n\n"
        b"And sweetest in the gale is heard;\n"
        b"And sore must be the storm\n"
        b"That could abash the little bird\n"
        b"That kept so many warm.\n\n"
        b"I've heard it in the chillest land,\n"
        b"And on the strangest sea;\n"
        b"Yet, never, in extremity,\n"
        b"It asked a crumb of me.\n")
#: How often the end of a run looks whether every connection has closed.
SETTLE_CHECK = 0.01


@dataclass(frozen=True)
class ClientOutcome:
    """What one client's download came to: the poem's bytes, or the error it raised.

    Attributes:
        client: The client's number, from 1.
        poem: The bytes it got, or None if it failed.
        error: The exception it raised, or None if it got a poem.
        connections: The names of the connections it opened (``("c2",)``), as in the log.
    """

    client: int
    poem: bytes | None
    error: BaseException | None
    connections: tuple

    def __str__(self):
        if self.error is None:
            return f"client {self.client}: got {len(self.poem)} bytes"
        return f"client {self.client}: failed: {type(self.error).__name__}: {self.error}"


@dataclass(frozen=True)
class SimulationResult:
    """What a simulated run did.

    Attributes:
        seed: The seed it ran with.
        outcomes: One :class:`ClientOutcome` per client, in client order.
        log: The network's log, one line per event.
        elapsed: The simulated seconds the run took.
        open_sockets: The simulated sockets left open (their reprs); empty if none.
        timers_left: The kernel's timers still set when the run ended.
        reported: The errors the kernel reported (a task failed and nobody joined it).
    """

    seed: int
    outcomes: tuple
    log: tuple
    elapsed: float
    open_sockets: tuple
    timers_left: int
    reported: tuple

    @property
    def clean(self):
        """Whether nothing was left behind (no socket open, no timer set, no error reported)."""
        return not self.open_sockets and not self.timers_left and not self.reported


def simulate_poetry(seed, serve, get_poetry, *, clients=3, poem=POEM, faults=Faults.none(),
                    num_bytes=50, delay=0.01, timeout=1.0, idle_timeout=2.0, max_time=3600.0):
    """Serve ``poem`` to ``clients`` clients over a network simulated from ``seed``.

    Args:
        seed: The seed of the network; the same seed gives the same result.
        serve: ``serve(listener, poem, *, num_bytes, delay, idle_timeout)``, the server
            task's generator (``listener`` is a kernel Socket; it serves until cancelled).
        get_poetry: ``get_poetry(host, port, *, timeout, trace, task)``, a client's
            generator: returns the poem's bytes, or raises.
        clients: How many clients download the poem, all at once.
        faults: The :class:`~coro.testing.simnet.Faults` of the network.
        num_bytes, delay, idle_timeout: The server's pacing, and its patience.
        timeout: The client's patience with a silent server.
        max_time: The bound of simulated time (:exc:`~coro.testing.simpoll.SimulationStuck`
            past it).

    Returns:
        A :class:`SimulationResult`.
    """
    network = SimulatedNetwork(seed, faults=faults, max_time=max_time)
    trace = Trace(clock=network.clock.now)
    results, reported = {}, []

    def download(number):
        # The task's first step runs into connect_ex without a wait, so the connection
        # it opens is the next one (if it waited first, the next client's call raises).
        network.expect_connection(number)
        try:
            results[number] = yield from get_poetry(HOST, SERVER_PORT, timeout=timeout,
                                                    trace=trace, task=number)
        except Exception as error:  # refused, reset, timed out: the outcome to report
            results[number] = error

    def main(listener):
        server = yield from spawn(serve(listener, memoryview(poem), num_bytes=num_bytes,
                                        delay=delay, idle_timeout=idle_timeout))
        downloads = []
        for number in range(1, clients + 1):
            downloads.append((yield from spawn(download(number))))
        for task in downloads:
            yield from join(task)
        while not all(connection.ended for connection in network.connections):
            yield from sleep(SETTLE_CHECK)
        yield from cancel(server)

    def report(error, context):
        reported.append(f"{context}: {type(error).__name__}: {error}")

    with network.installed():
        with Kernel(network.multiplexer(), clock=network.clock, handle_signals=False,
                    report_error=report) as kernel:
            kernel.run(main(listen(HOST, SERVER_PORT)))
            timers_left = kernel.pending_timers()
    outcomes = []
    for number in range(1, clients + 1):
        result = results[number]
        failed = isinstance(result, BaseException)
        outcomes.append(ClientOutcome(
            number, None if failed else result, result if failed else None,
            tuple(c.name for c in network.connections if c.owner == number)))
    return SimulationResult(seed, tuple(outcomes), tuple(network.log), network.clock.now(),
                            tuple(map(repr, network.open_sockets())), timers_left,
                            tuple(reported))
