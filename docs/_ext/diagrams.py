"""Diagrams of the runtime's parts, drawn at build time from the code's own data.

Each function draws on the current matplotlib figure, from a record of a real run
(:mod:`recorded_runs`, :mod:`recorded_tasks`) or from the chain simulator, never from
names typed here:

- :func:`reactor_tick`: the three steps of a reactor tick, and where what the
  scheduling methods are given waits for them (chapter 8);
- :func:`transport_protocol_factory`: who calls whom in one TCP connection (chapter 9);
- :func:`deferred_paths`: the path of a result down a Deferred's two columns
  (chapter 11);
- :func:`task_states`: the states of a kernel task and the traps that move it
  (chapter 16).
"""

import matplotlib.pyplot as plt
from matplotlib.font_manager import FontProperties
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.textpath import TextToPath

import recorded_runs
import recorded_tasks
from coro import chain_simulator
from coro.deferred.failure import Failure
from coro.kernel.loop import Kernel
from coro.kernel.task import TaskState, Waiting

WIDTH, HEIGHT = 6.4, 3.6  # inches: the content width of the book's pages, at most
TEXT, SMALL = 9, 8  # points: the text in boxes, and the labels beside arrows and rows
LINE = 0.175  # inches between two lines of text in a box
INK, SOFT, ACCENT, PALE = "#222222", "#777777", "#08519c", "#eef3fa"
PLACE_COLOURS = ("#08519c", "#238b45", "#d94801")  # one per place a tick takes from
MONO = "DejaVu Sans Mono"
FONTS = {"title": FontProperties(size=TEXT, weight="bold"),
         "note": FontProperties(size=TEXT, style="italic"),
         "code": FontProperties(size=TEXT, family=MONO),
         "label": FontProperties(size=SMALL, family=MONO),
         "small": FontProperties(size=SMALL),
         "": FontProperties(size=TEXT)}
_MEASURE = TextToPath()


def _wrap(text, width, style=""):
    """``text`` cut into lines no wider than ``width`` inches in the font of ``style``."""
    lines = []
    for word in text.split():
        wider = f"{lines[-1]} {word}" if lines else word
        if lines and _inches(wider, style) <= width * 0.96:  # the renderers' hinting
            lines[-1] = wider
        else:
            lines.append(word)
    return lines or [""]


def _inches(text, style=""):
    return _MEASURE.get_text_width_height_descent(text, FONTS[style], ismath=False)[0] / 72


def _canvas():
    """The current figure, cleared, with one axes over all of it, in inches from the
    top left: x grows to the right, y downwards. :func:`_fit` crops it to what is drawn."""
    fig = plt.gcf()
    fig.clf()
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, WIDTH)
    ax.set_ylim(HEIGHT, 0)
    ax.set_axis_off()
    return ax


def _fit(ax, bottom, margin=0.05):
    """Make the figure as tall as what is drawn, ``bottom`` inches, keeping the scale."""
    ax.figure.set_size_inches(WIDTH, bottom + margin)
    ax.set_ylim(bottom + margin, 0)


def _box(ax, x, top, width, lines, *, fill=PALE, edge=ACCENT, dashed=False):
    """A rounded box whose top left corner is at ``(x, top)``, with ``lines`` in it,
    wrapped to its width; returns ``(x, top, width, height)``.

    Each line is ``(text, style)`` or ``(text, style, colour)``; a style is a key of
    :data:`FONTS`: ``"title"`` (bold), ``"note"`` (italic), ``"code"`` (monospace),
    ``"label"`` (smaller monospace) or ``""``.
    """
    rows = []
    for text, style, *colour in lines:
        rows += [(part, style, colour[0] if colour else (SOFT if style == "note" else INK))
                 for part in _wrap(text, width - 0.14, style)]
    height = LINE * len(rows) + 0.1
    ax.add_patch(FancyBboxPatch((x, top), width, height,
                                boxstyle="round,pad=0,rounding_size=0.06", facecolor=fill,
                                edgecolor=edge, linewidth=0.9,
                                linestyle=(0, (3, 2)) if dashed else "-"))
    for i, (text, style, colour) in enumerate(rows):
        ax.text(x + 0.07, top + 0.05 + LINE * (i + 0.5), text, va="center", ha="left",
                color=colour, fontproperties=FONTS[style])
    return x, top, width, height


def _arrow(ax, start, end, *, bend=0.0, color=INK, style="-|>", dashed=False, width=0.9):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=9,
                                 connectionstyle=f"arc3,rad={bend}", color=color,
                                 linewidth=width, shrinkA=1, shrinkB=1,
                                 linestyle=(0, (3, 2)) if dashed else "-"))


def _label(ax, x, y, text, *, ha="center", va="center", color=INK, size=SMALL, mono=False,
           style="normal", weight="normal"):
    ax.text(x, y, text, ha=ha, va=va, color=color, fontsize=size, fontstyle=style,
            fontweight=weight, family=MONO if mono else None)


# -- chapter 8 ----------------------------------------------------------------

def reactor_tick():
    """A reactor tick as a cycle of its three steps, from a traced tick of a real
    Reactor: the calls each step made, and the three places the scheduling methods
    fill, each in its own colour, as are the calls on it."""
    tick = recorded_runs.reactor_tick()
    ax = _canvas()
    used_in = {}  # a place -> the numbers of the steps that called it
    for step in tick.steps:
        for call in step.calls:
            used_in.setdefault(call.partition(".")[0], []).append(step.number)
    places = sorted(tick.entries, key=lambda name: (min(used_in[name]), max(used_in[name])))
    colours = dict(zip(places, PLACE_COLOURS))
    if len(places) != len(tick.steps):
        raise RuntimeError(f"{len(places)} places to draw over {len(tick.steps)} steps")
    # The steps, in a row, joined by arrows; the last leads back to the first.
    widths, gap, top = (1.75, 1.55, 2.65), 0.17, 0.85
    boxes, x = [], 0.05
    for step, width in zip(tick.steps, widths):
        lines = [(f"{step.number}. {step.title}", "title"), (step.comment, "note")]
        lines += [(f"{call}()", "code", colours.get(call.partition(".")[0], INK))
                  for call in step.calls]
        if step.ran:
            lines.append((f"ran: {', '.join(step.ran)}", "code"))
        if step is tick.steps[-1]:
            lines += [(f"{callback} called {method}({fn}): {fn} runs in the next tick", "note")
                      for callback, method, fn in tick.queued]
        boxes.append(_box(ax, x, top, width, lines))
        x += width + gap
    for (x0, _, w0, _), (x1, _, _, _) in zip(boxes, boxes[1:]):
        _arrow(ax, (x0 + w0, top + 0.15), (x1, top + 0.15), width=1.3)
    # Where scheduled things wait, each under the methods that put them there.
    for i, name in enumerate(places):
        centre, text = WIDTH * (2 * i + 1) / (2 * len(places)), f"{name}: {tick.places[name]}"
        _label(ax, centre, 0.1, ", ".join(tick.entries[name]), mono=True, color=colours[name])
        _arrow(ax, (centre, 0.2), (centre, 0.42), color=colours[name])
        width = _inches(text, "label") / 0.96 + 0.16
        _box(ax, centre - width / 2, 0.42, width, [(text, "label", colours[name])],
             fill="white", edge=colours[name])
    (fx, _, _, fh), (lx, _, lw, lh) = boxes[0], boxes[-1]
    floor = top + max(h for _, _, _, h in boxes) + 0.25
    ax.plot([lx + lw - 0.3] * 2, [top + lh, floor], color=INK, linewidth=1.3)
    ax.plot([fx + 0.3, lx + lw - 0.3], [floor] * 2, color=INK, linewidth=1.3)
    _arrow(ax, (fx + 0.3, floor), (fx + 0.3, top + fh), width=1.3)
    _label(ax, (fx + lx + lw) / 2, floor + 0.13, "the next tick", style="italic", color=SOFT)
    _fit(ax, floor + 0.25)


# -- chapter 9 ----------------------------------------------------------------

#: Where each part of a connection is drawn: (left, top, width), in inches. Parts at
#: the same place share a box.
PARTS = {"Reactor": (0.05, 0.05, 6.3),
         "Listener": (0.05, 1.35, 1.65), "Connector": (0.05, 1.35, 1.65),
         "Transport": (2.85, 1.35, 1.55),
         "Factory": (0.05, 2.55, 1.65), "Protocol": (2.85, 2.55, 1.55)}
#: Where the calls from one part to another are drawn: the x of the arrow, and how wide
#: its label may be, to the right of it. None: across, from one box to the next.
CALLS = {("Reactor", "Listener"): (0.2, 0.95), ("Reactor", "Connector"): (0.2, 0.95),
         ("Listener", "Reactor"): (1.25, 1.5), ("Connector", "Reactor"): (1.25, 1.5),
         ("Reactor", "Transport"): (3.0, 1.15), ("Transport", "Reactor"): (4.25, 2.0),
         ("Listener", "Factory"): (1.0, 1.0), ("Connector", "Factory"): (1.0, 1.0),
         ("Transport", "Protocol"): (3.0, 1.15), ("Protocol", "Transport"): (4.25, 2.0),
         ("Listener", "Transport"): (None, None), ("Connector", "Transport"): (None, None)}


def transport_protocol_factory():
    """Who calls whom in one real TCP connection on the reactor: a box per part, an
    arrow per direction, labelled with the methods called that way, in the order of
    their first calls."""
    record = recorded_runs.one_connection()
    ax = _canvas()
    boxes = {}
    for cls in recorded_runs.ROLES:
        x, top, width = PARTS[cls.__name__]
        same = [c for c in recorded_runs.ROLES if PARTS[c.__name__] == PARTS[cls.__name__]]
        if same[0] is cls:
            boxes[cls.__name__] = _box(ax, x, top, width, [
                (", ".join(c.__name__ for c in same), "title"), (cls.__module__, "note")])
        else:
            boxes[cls.__name__] = boxes[same[0].__name__]
    arrows = {}  # (caller's box, callee's box, where) -> methods, for shared boxes
    for (caller, callee), methods in record.calls.items():
        if (caller, callee) not in CALLS:
            raise RuntimeError(f"no place in the figure for calls from {caller} to {callee}")
        drawn = arrows.setdefault((boxes[caller], boxes[callee], CALLS[caller, callee]), [])
        drawn += [method for method in methods if method not in drawn]
    for (caller, callee, (x, width)), methods in arrows.items():
        text = ", ".join(methods)
        if x is None:  # across, from the caller's right edge to the callee's left
            y = caller[1] + caller[3] / 2
            _arrow(ax, (caller[0] + caller[2], y), (callee[0], y))
            _label(ax, (caller[0] + caller[2] + callee[0]) / 2, y - 0.1, text, mono=True)
            continue
        downwards = caller[1] < callee[1]
        start = caller[1] + caller[3] if downwards else caller[1]
        end = callee[1] if downwards else callee[1] + callee[3]
        _arrow(ax, (x, start), (x, end))
        lines = _wrap(text, width, "label")
        for i, line in enumerate(lines):
            _label(ax, x + 0.07, (start + end) / 2 + (i - (len(lines) - 1) / 2) * LINE * 0.9,
                   line, ha="left", mono=True)
    factory, protocol = boxes["Factory"], boxes["Protocol"]
    y, middle = factory[1] + factory[3] / 2, (factory[0] + factory[2] + protocol[0]) / 2
    _arrow(ax, (factory[0] + factory[2], y), (protocol[0], y), dashed=True, color=ACCENT)
    _label(ax, middle, y - 0.1, f"{record.built[1]}:", color=ACCENT, mono=True)
    _label(ax, middle, y + 0.1, "one per connection", color=ACCENT, style="italic")
    _fit(ax, max(b[1] + b[3] for b in boxes.values()))


# -- chapter 11 ---------------------------------------------------------------

#: The chain chapter 11 first runs through the simulator: a callback raises, and an
#: errback recovers, so the result crosses to the errbacks and back.
CHAIN = "ok/pass raise/pass pass/ok ok/pass"
COLUMNS = (1.05, 2.45)  # the centres of the callbacks' and the errbacks' columns
ROW, CELL = 0.5, (1.1, 0.3)  # inches between stages; a cell's width and height


def deferred_paths(chain=CHAIN, fire="callback"):
    """A Deferred as two columns, callbacks and errbacks, a row per stage, and the path
    the result took down them in a real run of the chain simulator: a stage whose
    function ran is filled in, and each row says what that function got and returned."""
    run = chain_simulator.simulate(chain_simulator.parse_chain(chain.split()), fire)
    rows = chain_simulator.path_of(run)
    ax = _canvas()
    for side, x in zip(chain_simulator.SIDES, COLUMNS):
        _label(ax, x, 0.12, f"{side}s", color=SOFT)
    first = run.records[0]
    lane = chain_simulator.SIDES.index(first.how)
    _label(ax, COLUMNS[lane], 0.35, f"{first.target}.{first.how}"
           f"({chain_simulator.show(run, first.value)})", mono=True, color=ACCENT)
    path = [(COLUMNS[lane], 0.47)]
    for number, side, got, record in rows:
        y = 0.35 + ROW * number
        if path[-1][0] != COLUMNS[chain_simulator.SIDES.index(side)]:
            _crossing(ax, y - ROW / 2, side)
        stage = run.chain[number - 1]
        _label(ax, 0.2, y, str(number), color=SOFT)
        for other, x in zip(chain_simulator.SIDES, COLUMNS):
            action = getattr(stage, other)
            taken = other == side
            ran = taken and record is not None
            ax.add_patch(FancyBboxPatch(
                (x - CELL[0] / 2, y - CELL[1] / 2), *CELL,
                boxstyle="round,pad=0,rounding_size=0.05", linewidth=0.9,
                facecolor=ACCENT if ran else "white", edgecolor=ACCENT if taken else "#bbbbbb",
                linestyle="-" if action != "pass" else (0, (3, 2)), zorder=3))
            _label(ax, x, y, action, mono=True, size=TEXT,
                   color="white" if ran else (INK if taken else "#aaaaaa"))
        x = COLUMNS[chain_simulator.SIDES.index(side)]
        path += [(x, y - CELL[1] / 2), (x, y + CELL[1] / 2)]
        if record is None:
            note = f"{chain_simulator.show(run, got)} goes on"
        else:
            outcome = "raised " if record.raised else ""
            note = (f"{chain_simulator.show(run, got)} → {outcome}"
                    f"{chain_simulator.show(run, record.returned)}")
        _label(ax, 3.2, y, note, ha="left", mono=True)
    end = 0.35 + ROW * (len(rows) + 1) - 0.15
    last = COLUMNS[chain_simulator.SIDES.index(
        "errback" if isinstance(run.result, Failure) else "callback")]
    if path[-1][0] != last:
        _crossing(ax, end - ROW / 2 + 0.05, "errback" if last == COLUMNS[1] else "callback")
    path.append((last, end - 0.1))
    xs, ys = zip(*path)
    ax.plot(xs, ys, color="#d94801", linewidth=2.2, zorder=2, solid_capstyle="round")
    _arrow(ax, (last, end - 0.12), (last, end), color="#d94801", width=2.2)
    _label(ax, last, end + 0.13, f"result: {chain_simulator.show(run, run.result)}",
           mono=True, color=ACCENT)
    _fit(ax, end + 0.25)


def _crossing(ax, y, side):
    """Say where the path crosses over, as the simulator's text drawing does."""
    _label(ax, 3.2, y, "to the errbacks" if side == "errback" else "back to the callbacks",
           ha="left", style="italic", color=SOFT)


# -- chapter 16 ---------------------------------------------------------------

def task_states():
    """The states of a kernel task (:class:`~coro.kernel.task.TaskState`), the kinds of
    wait (:class:`~coro.kernel.task.Waiting`), and what moved a task between them in a
    real run that made every trap of the kernel's table: the traps, by their class
    names, and the kernel's own methods."""
    record = recorded_tasks.task_states()
    ax = _canvas()
    moves = record.moves
    # The top row: READY, the kernel stepping it, DONE.
    born = _names(m.by for m in moves if m.before is None)
    at_once = _names(trap for trap, how in record.answers.items() if how == {"at once"})
    _label(ax, 0.95, 0.12, "new tasks: " + ", ".join(born))
    _arrow(ax, (0.95, 0.22), (0.95, 0.55))
    ready = _box(ax, 0.15, 0.55, 1.5, [(TaskState.READY.name, "title"),
                                       ("in the ready queue", "note")])
    running = _box(ax, 2.1, 0.55, 1.75, [(f"in {Kernel._step.__qualname__}", "title"),
                                          ("runs it to its next trap", "note")],
                   fill="white", dashed=True)
    endings = ", ".join(_names(record.endings))
    done = _box(ax, 4.9, 0.55, 1.45, [(TaskState.DONE.name, "title"), (endings, "note")])
    middle = ready[1] + ready[3] / 2
    _arrow(ax, (ready[0] + ready[2], middle), (running[0], middle))
    finish = _names(m.by for m in moves if m.after == TaskState.DONE.name)
    _arrow(ax, (running[0] + running[2], middle), (done[0], middle))
    _label(ax, (running[0] + running[2] + done[0]) / 2, middle - 0.11, ", ".join(finish),
           mono=True)
    loop = running[0] + running[2] / 2
    _arrow(ax, (loop + 0.25, running[1]), (loop - 0.25, running[1]), bend=1.6)
    _label(ax, loop + 0.4, 0.2, "answered at once:", ha="left")
    _label(ax, loop + 0.4, 0.38, ", ".join(at_once), ha="left", mono=True)
    # WAITING: a row per kind of wait, with the traps that start it and what ends it.
    waits, wakes, thrown = {}, {}, {}
    for move in moves:
        if move.after == TaskState.WAITING.name:
            waits.setdefault(move.kind, []).append(move.by)
        elif move.before == TaskState.WAITING.name and move.exception:
            thrown.setdefault(move.exception, []).append(move.by)
        elif move.before == TaskState.WAITING.name:
            wakes.setdefault(move.kind, []).append(move.by)
    top = running[1] + running[3] + 0.55
    rows = [(", ".join(_names(waits.get(kind.name, ()))), kind.name, kind.value,
             ", ".join(_names(wakes.get(kind.name, ())))) for kind in Waiting]
    footer = [f"{exc}, by {', '.join(_names(by))}" for exc, by in thrown.items()]
    height = LINE * (len(rows) + 1.4 + len(footer)) + 0.15
    ax.add_patch(FancyBboxPatch((0.05, top), 6.3, height, facecolor=PALE, edgecolor=ACCENT,
                                boxstyle="round,pad=0,rounding_size=0.06", linewidth=0.9))
    _label(ax, 0.12, top + 0.14, TaskState.WAITING.name, ha="left", size=TEXT, weight="bold")
    heads = ((1.55, "right", "the trap"), (1.75, "left", "waits"),
             (4.45, "left", "woken by"))
    for x, ha, text in heads:
        _label(ax, x, top + 0.14, text, ha=ha, color=SOFT, style="italic")
    for i, (entered, kind, meaning, woken) in enumerate(rows):
        y = top + 0.14 + LINE * (i + 1)
        _label(ax, 1.55, y, entered, ha="right", mono=True)
        _label(ax, 1.75, y, kind, ha="left", mono=True)
        _label(ax, 2.85, y, meaning, ha="left", style="italic", color=SOFT)
        _label(ax, 4.45, y, woken, ha="left", mono=True)
    lead = "or by an exception raised at the wait: "
    _label(ax, 0.12, top + 0.14 + LINE * (len(rows) + 1.2), lead, ha="left")
    for i, line in enumerate(footer):
        _label(ax, 0.12 + _inches(lead, "small"), top + 0.14 + LINE * (len(rows) + 1.2 + i),
               line, ha="left")
    _arrow(ax, (loop, running[1] + running[3]), (loop, top))
    _label(ax, loop + 0.08, (running[1] + running[3] + top) / 2, "a trap that suspends",
           ha="left", style="italic", color=SOFT)
    _arrow(ax, (0.95, top), (0.95, ready[1] + ready[3]))
    _label(ax, 1.03, (ready[1] + ready[3] + top) / 2, "woken", ha="left",
           style="italic", color=SOFT)
    _fit(ax, top + height)


def _names(names):
    """Each of ``names`` once, in the order they first came."""
    return list(dict.fromkeys(names))
