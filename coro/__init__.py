"""coro: asynchronous programming built up from blocking sockets, one chapter at a time.

``python -m coro --list`` prints the chapters and the stages you can run;
``python -m coro`` runs the tour.
"""

from coro.trace import Event, Trace, render_timeline

__all__ = ["Event", "Trace", "render_timeline"]
