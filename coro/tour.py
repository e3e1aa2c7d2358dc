"""The tour: the same three poems downloaded by each model, side by side.

It starts three slow poetry servers on free loopback ports (no other terminal needed),
runs each client stage against them in turn, and prints for each model the total
time, the sum of the per-poem times, and a timeline of when each download was active.
A synchronous model's total is about the sum; a model that waits for many sockets at
once finishes in about the time of the slowest download.
"""

import importlib
from dataclasses import dataclass, field

from coro import (
    blocking_client, busy_client, cli, completion_client, kernel_client, protocol_client,
    select_client, signal_client, threaded_client,
)
from coro.trace import render_timeline
from poetry_server import spawn

#: Three poems of about the same length, so that each download takes about as long
#: as the others. DELAY and NUM_BYTES set how slowly the servers send them.
POEMS = ("ozymandias", "science", "fascination")
DELAY = 0.1
NUM_BYTES = 60


@dataclass(frozen=True)
class Model:
    """A client stage in the tour: its name, its chapter, its ``download_all``, and the
    stage options it runs with."""

    name: str
    chapter: int
    download_all: object
    options: dict = field(default_factory=dict)
    needs: str = ""  # "module.name" the system must have, such as "select.epoll"

    def missing(self):
        """Why this system cannot run the model (a short reason), or None."""
        if not self.needs:
            return None
        module, _, name = self.needs.partition(".")
        if hasattr(importlib.import_module(module), name):
            return None
        return f"this system has no {self.needs}"


MODELS = (
    Model("blocking", 2, blocking_client.download_all),
    Model("threaded", 3, threaded_client.download_all),
    Model("busy", 4, busy_client.download_all),
    Model("select", 5, select_client.download_all, {"backend": "select"}),
    Model("epoll", 5, select_client.download_all, {"backend": "epoll"}, "select.epoll"),
    Model("signal", 6, signal_client.download_all, needs="signal.sigtimedwait"),
    Model("completion", 7, completion_client.download_all),
    Model("protocol", 9, protocol_client.download_all),
    Model("kernel", 16, kernel_client.download_all),
)


def tour(out, *, delay=DELAY, num_bytes=NUM_BYTES, models=MODELS):
    """Run every model against the same servers and print what each one did.

    Returns:
        ``{model name: report}`` of the runs (see :class:`coro.cli.Report`), and the
        exit status (1 if any download failed).
    """
    reports, status = {}, 0
    skipped = [model for model in models if model.missing()]
    models = [model for model in models if model not in skipped]
    with spawn(*POEMS, delay=delay, num_bytes=num_bytes) as addresses:
        ports = " ".join(str(port) for _, port in addresses)
        print(f"Serving {', '.join(POEMS)} on ports {ports}: {num_bytes} bytes "
              f"every {delay:g}s.", file=out)
        for model in models:
            print(f"\n== ch{model.chapter:02d}, the {model.name} client ==", file=out)
            report, model_status = cli.run(model.download_all, addresses, out=out,
                                           **model.options)
            status = max(status, model_status)
            reports[model.name] = report
            print(render_timeline(report.trace), file=out)
        for model in skipped:
            print(f"\n== ch{model.chapter:02d}, the {model.name} client: skipped, "
                  f"{model.missing()} ==", file=out)
    print("\nmodel      chapter   total   sum of the downloads   CPU time", file=out)
    for model in models:
        report = reports[model.name]
        print(f"{model.name:<10} {model.chapter:>7} {report.trace.duration():6.2f}s "
              f"{report.trace.sum_of_task_times():15.2f}s {report.cpu_time:13.2f}s",
              file=out)
    return reports, status
