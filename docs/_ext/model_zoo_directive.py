"""Sphinx helpers of the gluonpose docs (loaded from ``docs/conf.py``).

* ``.. gluonpose-model-zoo::`` inserts the tables that
  ``docs/gen_model_zoo.py`` computes from the model registry at build time, so
  the model-zoo page never goes stale and nothing is written into the source tree;
* an offline math renderer: formulas are shown as their LaTeX source in a
  ``<code>`` element instead of loading MathJax from a CDN;
* autosummary resolves ``gluonpose.X.Y`` to the *submodule* ``Y`` when one
  exists. Packages such as ``gluonpose.engine`` re-export a function under the
  name of the submodule that defines it (``gluonpose.engine.evaluate``), and
  autosummary would otherwise document the function in place of the module.
"""
import html
import importlib

from docutils import nodes
from docutils.parsers.rst import Directive
from docutils.statemachine import StringList


class ModelZooDirective(Directive):
    """Parse the generated model-zoo reStructuredText in place."""

    has_content = False

    def run(self):
        from gen_model_zoo import model_zoo_rst
        text = model_zoo_rst()
        container = nodes.container(classes=["gluonpose-zoo"])
        self.state.nested_parse(StringList(text.splitlines(), source="gen_model_zoo.py"),
                                self.content_offset, container)
        return container.children


def _inline_math(self, node):
    self.body.append('<code class="math">%s</code>' % html.escape(node.astext()))
    raise nodes.SkipNode


def _block_math(self, node):
    self.body.append('<pre class="math">%s</pre>\n' % html.escape(node.astext()))
    raise nodes.SkipNode


def _prefer_submodules():
    from sphinx.ext import autosummary
    original = autosummary._import_by_name
    if getattr(original, "_gluonpose", False):
        return

    def import_by_name(name, grouped_exception=True):
        if name.startswith("gluonpose."):
            try:
                module = importlib.import_module(name)
            except ImportError:
                pass
            else:
                return module, None, name
        return original(name, grouped_exception=grouped_exception)

    import_by_name._gluonpose = True
    autosummary._import_by_name = import_by_name


def setup(app):
    _prefer_submodules()
    app.add_directive("gluonpose-model-zoo", ModelZooDirective)
    app.add_html_math_renderer("gluonpose_plain_math", (_inline_math, None),
                               (_block_math, None))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
