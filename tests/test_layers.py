"""Layers only look down: the import graph of gluonpose, read from the source with ``ast``.

Every ``import`` / ``from ... import`` in every module under ``gluonpose/`` counts, including
the ones inside functions (a lazy import is still a dependency), with relative imports
resolved. The layers, lowest first::

    leaves (_env, _version, nn, loss)  ->  codecs  ->  data  ->  utils  ->  model_zoo
        ->  engine / inference / deploy / tracking  ->  cli, the package root, __main__

A module may import its own subpackage and anything in a lower layer; within one layer the
subpackages must not form a cycle. No gluonpose module is imported (nothing runs), so this
test is cheap and needs no MXNet.
"""
import ast
import os
from graphlib import CycleError, TopologicalSorter

import pytest

PKG_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "gluonpose")

#: rank of each subpackage (or top-level module) of gluonpose; lower layers never import higher
#: ones. A new subpackage must be placed here.
LAYERS = {
    "_env": 0, "_version": 0, "nn": 0, "loss": 0,
    "codecs": 1,
    "data": 2,
    "utils": 3,
    "model_zoo": 4,
    "engine": 5, "inference": 5, "deploy": 5, "tracking": 5,
    "cli": 6, "gluonpose": 6, "__main__": 7,
}


def _modules():
    """``{module name: file path}`` of every module under gluonpose/."""
    mods = {}
    base = os.path.dirname(PKG_DIR)
    for dirpath, dirnames, filenames in os.walk(PKG_DIR):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for fn in sorted(filenames):
            if not fn.endswith(".py"):
                continue
            path = os.path.join(dirpath, fn)
            parts = os.path.relpath(path, base)[:-3].split(os.sep)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            mods[".".join(parts)] = path
    return mods


MODULES = _modules()


def _imports(name, path):
    """``[(target module, line)]`` of every gluonpose import in one module."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    is_pkg = os.path.basename(path) == "__init__.py"
    package = name if is_pkg else name.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                if node.level - 1 >= len(parts):
                    raise AssertionError("%s:%d: relative import beyond the top package"
                                         % (path, node.lineno))
                base = ".".join(parts[:len(parts) - (node.level - 1)])
                target = base + ("." + node.module if node.module else "")
            else:
                target = node.module
            for alias in node.names:
                sub = target + "." + alias.name
                # ``from pkg import submodule`` depends on the submodule itself
                out.append((sub if sub in MODULES else target, node.lineno))
    return [(t, line) for t, line in out if t == "gluonpose" or t.startswith("gluonpose.")]


EDGES = sorted({(src, dst, line) for src, path in MODULES.items()
                for dst, line in _imports(src, path)})


def _layer(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _show(edge):
    src, dst, line = edge
    return "%s -> %s (%s:%d)" % (src, dst, os.path.relpath(MODULES[src], os.path.dirname(PKG_DIR)),
                                 line)


def test_the_walk_sees_the_package():
    assert "gluonpose.codecs.base" in MODULES and "gluonpose.data.transforms.pose" in MODULES
    # relative, absolute and function-level imports are all found
    found = {(s, d) for s, d, _ in EDGES}
    assert ("gluonpose.data.transforms.pose", "gluonpose.codecs") in found     # inside a function
    assert ("gluonpose.cli", "gluonpose.engine.trainer") in found


def test_codecs_import_only_codecs():
    bad = [_show(e) for e in EDGES
           if _layer(e[0]) == "codecs" and _layer(e[1]) != "codecs"]
    assert not bad, "gluonpose.codecs must import nothing else from gluonpose:\n" \
        + "\n".join(bad)


def test_data_imports_only_data_and_codecs():
    bad = [_show(e) for e in EDGES
           if _layer(e[0]) == "data" and _layer(e[1]) not in ("data", "codecs")]
    assert not bad, "gluonpose.data may import only data and codecs:\n" + "\n".join(bad)


def test_tracking_stays_beside_inference():
    # the tracker reads poses, not models: it must not pull in the predictor or the trainer
    bad = [_show(e) for e in EDGES
           if _layer(e[0]) == "tracking" and _layer(e[1]) in ("engine", "inference", "deploy")]
    assert not bad, "gluonpose.tracking may not import engine/inference/deploy:\n" \
        + "\n".join(bad)


def test_every_subpackage_has_a_layer():
    missing = sorted({_layer(m) for m in MODULES} - set(LAYERS))
    assert not missing, "place these in tests/test_layers.py LAYERS: %s" % missing


@pytest.mark.parametrize("leaf", sorted(k for k, v in LAYERS.items() if v == 0))
def test_leaves_import_nothing(leaf):
    bad = [_show(e) for e in EDGES if _layer(e[0]) == leaf and _layer(e[1]) != leaf]
    assert not bad, "%s is a leaf:\n%s" % (leaf, "\n".join(bad))


def test_layers_only_look_down():
    bad = [_show(e) for e in EDGES
           if _layer(e[0]) in LAYERS and _layer(e[1]) in LAYERS
           and LAYERS[_layer(e[1])] > LAYERS[_layer(e[0])]]
    assert not bad, "imports of a higher layer:\n" + "\n".join(bad)


def test_no_cycle_between_subpackages():
    graph = {}
    for src, dst, _ in EDGES:
        a, b = _layer(src), _layer(dst)
        graph.setdefault(a, set())
        if a != b:
            graph[a].add(b)
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as err:
        # graphlib lists each node before the ones that need it: reversed, each imports the next
        cycle = err.args[1][::-1]
        shown = []
        for a, b in zip(cycle, cycle[1:]):
            shown += [_show(e) for e in EDGES if _layer(e[0]) == a and _layer(e[1]) == b][:3]
        raise AssertionError("import cycle between subpackages %s:\n%s"
                             % (" -> ".join(cycle), "\n".join(shown))) from None


def test_nothing_below_imports_the_command_line():
    bad = [_show(e) for e in EDGES if e[1] == "gluonpose.cli" and e[0] != "gluonpose.__main__"]
    assert not bad, "only gluonpose.__main__ imports gluonpose.cli:\n" + "\n".join(bad)
