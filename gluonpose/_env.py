"""Checks on the Python environment that gluonpose runs in."""
import re
import warnings

try:
    from importlib import metadata as _metadata
except ImportError:  # pragma: no cover - Python < 3.8
    _metadata = None

_MXNET_DIST = re.compile(r"^mxnet(-(cu\d+\w*|mkl|native))?$")


def installed_mxnet_distributions():
    """Names of the installed distributions that provide the ``mxnet`` package.

    Returns
    -------
    list of str
        For example ``['mxnet']`` or ``['mxnet-cu112']``.
    """
    if _metadata is None:
        return []
    names = set()
    for dist in _metadata.distributions():
        name = (dist.metadata.get("Name") or "").lower()
        if _MXNET_DIST.match(name):
            names.add(name)
    return sorted(names)


def check_single_mxnet():
    """Warn when two MXNet wheels share one environment.

    Both the CPU and the CUDA wheel install the same ``mxnet`` package, so the
    one installed last silently wins and the other's shared library may be
    half overwritten.
    """
    found = installed_mxnet_distributions()
    if len(found) > 1:
        warnings.warn(
            "several MXNet distributions are installed (%s); keep exactly one: "
            "`pip uninstall %s` and reinstall the one you want"
            % (", ".join(found), " ".join(found)), RuntimeWarning, stacklevel=3)
