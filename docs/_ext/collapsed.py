"""Collapsed blocks for the exercises that end each chapter.

``.. hint::`` and ``.. answer::`` wrap their content in an HTML ``<details>`` element,
closed until the reader opens it, so that a reader can try an exercise before seeing
how it is done::

    .. answer::

       .. literalinclude:: ../../exercises/ch08_countdown.py
          :pyobject: main

Other builders (the doctest builder) see the content as it is.
"""

from docutils import nodes
from sphinx.util.docutils import SphinxDirective


class collapsed(nodes.General, nodes.Element):
    """A block shown closed, under a one-line summary the reader clicks to open."""


def visit_collapsed_html(self, node):
    self.body.append(f'<details class="coro-{node["kind"]}">'
                     f'<summary>{self.encode(node["summary"])}</summary>\n')


def depart_collapsed_html(self, node):
    self.body.append("</details>\n")


def visit_collapsed_other(self, node):
    pass


def depart_collapsed_other(self, node):
    pass


class _Collapsed(SphinxDirective):
    has_content = True
    optional_arguments = 1
    final_argument_whitespace = True
    kind = ""
    summary = ""

    def run(self):
        node = collapsed(kind=self.kind,
                         summary=self.arguments[0] if self.arguments else self.summary)
        self.state.nested_parse(self.content, self.content_offset, node)
        return [node]


class HintDirective(_Collapsed):
    kind, summary = "hint", "Hint"


class AnswerDirective(_Collapsed):
    kind, summary = "answer", "Answer"


def setup(app):
    app.add_node(collapsed,
                 html=(visit_collapsed_html, depart_collapsed_html),
                 text=(visit_collapsed_other, depart_collapsed_other),
                 latex=(visit_collapsed_other, depart_collapsed_other))
    app.add_directive("hint", HintDirective, override=True)
    app.add_directive("answer", AnswerDirective)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
