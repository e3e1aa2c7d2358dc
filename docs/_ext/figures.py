"""Figures the book draws at build time from real runs.

Each figure starts real slow poetry servers, runs a client stage against them, and
plots the trace of that run, so the timelines in the book are measurements, not
drawings.
"""

import io

import matplotlib.pyplot as plt

from coro import (
    blocking_client, busy_client, cli, completion_client, protocol_client, select_client,
    select_cost, signal_client, threaded_client, tour,
)
from coro.trace import plot_timeline
from poetry_server import spawn

STAGES = {
    "blocking": blocking_client,
    "threaded": threaded_client,
    "busy": busy_client,
    "select": select_client,
    "signal": signal_client,
    "completion": completion_client,
    "protocol": protocol_client,
}


def run_stage(name, *, poems=tour.POEMS, delay=tour.DELAY, num_bytes=tour.NUM_BYTES,
              server="poetry_server",
              clients_of_one_server=None):
    """Run one client stage against fresh servers; return its trace.

    With ``clients_of_one_server=n``, the stage downloads the first poem ``n`` times
    from one server, to show how that server treats clients that arrive together.
    """
    if clients_of_one_server:
        poems = poems[:1]
    with spawn(*poems, module=server, delay=delay, num_bytes=num_bytes) as addresses:
        if clients_of_one_server:
            addresses = addresses * clients_of_one_server
        report, status = cli.run(STAGES[name].download_all, addresses, out=io.StringIO())
    if status != 0:
        raise RuntimeError(f"the {name} client failed: {report.errors}")
    return report.trace


def plot_runs(runs):
    """Stack the timelines of ``[(title, trace), ...]`` on a shared time axis."""
    fig, axes = plt.subplots(len(runs), 1, figsize=(8, 1.1 + 0.9 * len(runs)),
                             sharex=True, squeeze=False)
    for (title, trace), ax in zip(runs, axes[:, 0]):
        plot_timeline(trace, ax, title=f"{title}: {trace.duration():.2f}s in all, "
                                       f"{trace.sum_of_task_times():.2f}s of downloads")
    for ax in axes[:-1, 0]:
        ax.set_xlabel("")
    fig.tight_layout()
    return fig


def timelines(*names, **run_options):
    """One timeline per client stage, each against fresh servers."""
    return plot_runs([(f"{name} client", run_stage(name, **run_options))
                      for name in names])


def select_cost_plot(max_idle=10000, turns=100):
    """Microseconds per loop turn against idle descriptors, one line per backend."""
    results = select_cost.table(max_idle, turns)
    fig, ax = plt.subplots(figsize=(7, 3.6))
    for backend, per_size in results.items():
        sizes = sorted(per_size)
        ax.plot(sizes, [per_size[n] * 1e6 for n in sizes], marker="o", label=backend)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("idle descriptors watched (one more is ready)")
    ax.set_ylabel("microseconds per loop turn")
    ax.legend()
    ax.grid(True, which="major", alpha=0.3)
    fig.tight_layout()
    return fig
