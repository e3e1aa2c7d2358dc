"""Importing the book's Sphinx extensions (docs/_ext) in tests, without a Sphinx build."""

import importlib.util
import sys
from pathlib import Path

EXTENSIONS = Path(__file__).parents[1] / "docs" / "_ext"


def load(name):
    """Import ``docs/_ext/<name>.py`` as the module ``name``, as Sphinx's path would.

    It is registered under that name, so that an extension that imports another
    (``diagrams`` imports ``recorded_runs``) finds it: load the imported one first.
    ``sys.path`` is left alone, so that no module of docs/_ext can hide a package of
    the same name from other tests.
    """
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, EXTENSIONS / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    return sys.modules[name]


def load_diagrams():
    """The ``diagrams`` extension, with matplotlib drawing off screen.

    matplotlib keeps each font file it has used open, for the life of the process. The
    fonts of the diagrams are opened here, before any test, so that the check for
    descriptors left open sees the sockets of the runs the diagrams record, not these.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    load("recorded_runs")
    load("recorded_tasks")
    diagrams = load("diagrams")
    figure = plt.figure()
    for font in diagrams.FONTS.values():
        figure.text(0, 0, "fonts", fontproperties=font)
    figure.canvas.draw()
    plt.close(figure)
    return diagrams


def drawn_texts(draw, *args, **kwargs):
    """Have ``draw`` draw on a new figure, as the plot directive would; return every
    piece of text it drew, and close the figure."""
    import matplotlib.pyplot as plt
    from matplotlib.text import Text

    figure = plt.figure()
    try:
        draw(*args, **kwargs)
        return [text.get_text() for text in figure.findobj(Text) if text.get_text()]
    finally:
        plt.close(figure)
