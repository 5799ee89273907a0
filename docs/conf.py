"""Sphinx configuration of the gluonpose documentation.

Build with ``make docs`` (or ``python -m sphinx -b html docs docs/_build/html``).
Everything is offline: no intersphinx, no remote images; the tutorials in
``docs/tutorials/`` are executed by sphinx-gallery on the bundled mini COCO set
and every figure they draw is produced by the build. Generated files go to
``docs/_build/`` (HTML), ``docs/build_tutorials/`` (executed tutorials) and
``docs/generated/`` (autosummary stubs); all three are git-ignored.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# the checkout's gluonpose wins over any installed copy; the docs helpers live next to this file
for path in (ROOT, HERE, os.path.join(HERE, "_ext")):
    if path not in sys.path:
        sys.path.insert(0, path)

# headless plotting in the tutorials, and no progress bars in the build log
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TQDM_DISABLE", "1")

import gluonpose  # noqa: E402

project = "gluonpose"
author = "the gluonpose authors"
copyright = "the gluonpose authors; Apache-2.0"  # noqa: A001 (sphinx's name)
version = release = gluonpose.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "sphinx_gallery.gen_gallery",
    "model_zoo_directive",
]

# ---------------------------------------------------------------------------- sources
templates_path = ["_templates"]
exclude_patterns = ["_build", "_templates", "README.md", "tutorials",
                    "build_tutorials/*.ipynb", "build_tutorials/*.py",
                    "build_tutorials/*.codeobj.json", "build_tutorials/*.md5",
                    "build_tutorials/*.zip"]
root_doc = "index"
language = "en"
default_role = "py:obj"

# ---------------------------------------------------------------------------- API docs
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {}
autodoc_member_order = "bysource"
autodoc_typehints = "none"
autoclass_content = "class"
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_custom_sections = [("Inputs", "params_style"), ("Outputs", "returns_style")]

# ---------------------------------------------------------------------------- HTML
html_theme = "alabaster"
html_theme_options = {
    "description": "2D human pose estimation on MXNet Gluon",
    "fixed_sidebar": True,
    "show_powered_by": False,
    "font_family": "sans-serif",
    "head_font_family": "sans-serif",
    "code_font_family": "monospace",
}
html_static_path = []
html_title = "gluonpose %s" % release
html_show_sourcelink = False
# no mathjax from a CDN: formulas render as their LaTeX source (readable offline)
html_math_renderer = "gluonpose_plain_math"

# ---------------------------------------------------------------------------- gallery


def _gallery_conf():
    return {
        "examples_dirs": ["tutorials"],
        "gallery_dirs": ["build_tutorials"],
        # every script in tutorials/ is a tutorial and is executed
        "filename_pattern": r"\.py$",
        "ignore_pattern": r"(__init__|_helpers?)\.py$",
        "within_subsection_order": "FileNameSortKey",
        "plot_gallery": "True",
        "abort_on_example_error": True,
        "only_warn_on_example_error": False,
        "download_all_examples": False,
        "remove_config_comments": True,
        "capture_repr": ("__repr__",),
        "image_scrapers": ("matplotlib",),
        "reset_modules": ("matplotlib",),
        # the timing page links CSS from a CDN and is written into the source tree
        "write_computation_times": False,
        # per-tutorial pass/fail and run time, read by tests/test_docs.py
        "junit": "sg_junit.xml",
        "min_reported_time": 0,
        "show_signature": False,
        "show_memory": False,
        "thumbnail_size": (320, 224),
    }


sphinx_gallery_conf = _gallery_conf()

suppress_warnings = []
