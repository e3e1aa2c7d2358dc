"""Sphinx configuration for the coro book.

The build runs offline: the Python inventory ships in _inv/, and every figure and
every command's output is produced here, at build time, by running the real code.
"""

import os
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE / "_ext"))
sys.path.insert(0, str(HERE.parent))

project = "coro"
author = "the coro authors"
copyright = "2026, the coro authors"
release = "0.1"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "sphinx.ext.intersphinx",
    "sphinx.ext.napoleon",
    "matplotlib.sphinxext.plot_directive",
    "poetry_run",
    "five_models",
    "collapsed",
    "try_it",
    "trap_table",
    "layout_check",
    "usage",
    "sphinx_copybutton",
]

html_theme = "furo"
html_title = "coro: an event loop, built up from blocking sockets"
html_static_path = ["_static"]
html_css_files = ["coro.css"]
# Pieces included into the chapters, never pages of their own.
exclude_patterns = ["_build", "exercises", "figures"]

# No network at build time: read the Python inventory shipped in _inv/. With
# CORO_DOCS_ONLINE set, try the live one first and fall back to the shipped one.
_python_inv = str(HERE / "_inv" / "python.inv")
ONLINE = bool(os.environ.get("CORO_DOCS_ONLINE"))
intersphinx_mapping = {
    "python": ("https://docs.python.org/3.11",
               (None, _python_inv) if ONLINE else _python_inv),
}
linkcheck_ignore = [] if ONLINE else [r"https?://.*"]
# The shipped Python inventory has no entry for argparse's ArgumentTypeError.
nitpick_ignore = [("py:exc", "argparse.ArgumentTypeError")]

# A copy button on every code block. From a terminal session it copies the commands, without
# their "$ " prompt and without what they printed (a command continued with a backslash
# takes its next line along); from a Python session, the lines after ">>> " and "... ";
# a block with no prompt, as it is.
copybutton_prompt_text = r"\$ |>>> |\.\.\.(?: |$)"
copybutton_prompt_is_regexp = True
copybutton_only_copy_prompt_lines = True
copybutton_copy_empty_lines = False
copybutton_line_continuation_character = "\\"

# Quotes and ellipses only: "--timeout" in a docstring's command line stays two hyphens.
smartquotes_action = "qe"

autodoc_member_order = "bysource"
napoleon_google_docstring = True
napoleon_numpy_docstring = False

# Figures: SVG with text as paths and a fixed hash salt, so a rebuild of the same run
# gives the same file and the book needs no fonts to look right.
plot_formats = ["svg"]
plot_html_show_formats = False
plot_html_show_source_link = False
plot_include_source = False
plot_rcparams = {"svg.fonttype": "path", "svg.hashsalt": "coro", "font.size": 9}
plot_pre_code = "import figures"
