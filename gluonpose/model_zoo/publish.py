"""Publish a ``.params`` file into a model-store mirror directory.

Usage::

    python -m gluonpose.model_zoo.publish PARAMS NAME --repo DIR

computes the sha1 of ``PARAMS`` and writes

* ``DIR/gluon/models/{NAME}-{hash8}.zip`` holding the single member ``{NAME}-{hash8}.params``
  (the layout :mod:`gluonpose.model_zoo.model_store` and GluonCV download), and
* the entry ``NAME -> full sha1`` in ``DIR/gluon/models/index.json`` (a flat JSON object, merged
  with the entries already there),

then prints the hashtag ``hash8`` on stdout.  Serving ``DIR`` over HTTP, or pointing
``GLUONPOSE_REPO=file:///abs/DIR/`` at it, makes ``get_model(NAME, pretrained=True)`` (through
the index) and ``get_model(NAME, pretrained='hash8')`` fetch exactly this file.

Design
------
* All input is checked before anything is written: ``NAME`` must be a valid store name, ``PARAMS``
  must load with ``mx.nd.load`` as a non-empty dict of named arrays (what ``load_parameters``
  needs; an unnamed list is refused), and an existing ``index.json`` must be valid.  A bad input
  gives a one-line error on stderr and exit status 1; argparse usage errors give status 2.
* The zip and the index are each written to a temporary file in the target directory and moved
  into place with ``os.replace``, so an HTTP server never serves a half-written file.  The index
  update runs under an ``flock`` on ``.index.json.lock`` so concurrent publishes do not lose
  entries.  The zip member has a fixed timestamp and mode, so publishing the same file twice gives
  the same bytes.
* Publishing a NAME again with different content replaces its index entry (the old zip stays
  reachable by its tag) and says so on stderr.
"""
import argparse
import hashlib
import json
import os
import stat
import sys
import zipfile

from ..utils.atomic import fsync_dir
from . import model_store
from .model_store import MODELS_PATH, INDEX_NAME, check_model_name

__all__ = ["PublishError", "publish", "main"]

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


class PublishError(ValueError):
    """Invalid input to :func:`publish` (missing or unreadable PARAMS, bad NAME, bad index)."""


def _first_line(err):
    """Useful single line of an exception message (MXNetError embeds a C++ 'traceback')."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    if not lines:
        return type(err).__name__
    last = lines[-1]
    return last[len("MXNetError: "):] if last.startswith("MXNetError: ") else last


def _check_params(params_path):
    if not os.path.isfile(params_path):
        raise PublishError("%s: no such file" % params_path)
    import mxnet as mx  # deferred: only publishing needs MXNet, the store does not
    try:
        arrays = mx.nd.load(params_path)
    except Exception as err:  # MXNetError, OSError, ...: all mean "not a parameter file"
        raise PublishError("%s is not an MXNet parameter file (mx.nd.load: %s)"
                           % (params_path, _first_line(err))) from None
    if not isinstance(arrays, dict) or not arrays:
        raise PublishError("%s holds no named arrays (saved from a list or empty?); save it with "
                           "net.save_parameters()" % params_path)


def _read_index(index_path):
    try:
        with open(index_path, "rb") as f:
            data = json.loads(f.read().decode("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as err:
        raise PublishError("cannot read the existing index %s: %s"
                           % (index_path, _first_line(err))) from None
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise PublishError("existing index %s is not a JSON object of name -> sha1; fix or "
                           "remove it" % index_path)
    return data


def _write_atomically(directory, final_name, write):
    """Create ``directory/final_name`` via a temporary file; ``write(fileobj)`` fills it."""
    path, fobj = model_store._create_temp(directory, final_name, ".part")
    try:
        with fobj:
            write(fobj)
            fobj.flush()
            os.fsync(fobj.fileno())
        os.replace(path, os.path.join(directory, final_name))
    except BaseException:
        model_store._remove_quietly(path)
        raise
    fsync_dir(directory)


def publish(params_path, name, repo_dir):
    """Publish a parameter file into a mirror directory under the model-store URL scheme.

    Parameters
    ----------
    params_path : str or os.PathLike
        ``.params`` file written by ``net.save_parameters`` (checked with ``mx.nd.load``).
    name : str
        Model name, e.g. ``'simple_pose_resnet18_v1b'``.
    repo_dir : str or os.PathLike
        Mirror root; ``gluon/models/`` is created below it.

    Returns
    -------
    str
        The hashtag: the first 8 hex digits of the file's sha1.

    Raises
    ------
    PublishError
        ``params_path`` missing or not loadable, ``name`` invalid, or the existing index invalid;
        nothing has been written then.
    OSError
        The mirror directory could not be written.
    """
    params_path = os.fspath(params_path)
    try:
        check_model_name(name)
    except ValueError as err:
        raise PublishError(str(err)) from None
    models_dir = os.path.join(os.path.abspath(os.fspath(repo_dir)),
                              *MODELS_PATH.strip("/").split("/"))
    index_path = os.path.join(models_dir, INDEX_NAME)
    _check_params(params_path)
    _read_index(index_path)  # refuse a broken index before writing the zip

    sha1 = model_store.file_sha1(params_path)
    tag = sha1[:8]
    member = "%s-%s.params" % (name, tag)
    os.makedirs(models_dir, exist_ok=True)

    def write_zip(fobj):
        info = zipfile.ZipInfo(member, date_time=_ZIP_DATE)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.create_system = 3  # unix, so external_attr carries the file mode
        info.external_attr = (stat.S_IFREG | 0o644) << 16
        info.file_size = os.path.getsize(params_path)  # lets zipfile decide on zip64 up front
        digest = hashlib.sha1()
        with zipfile.ZipFile(fobj, "w") as archive, archive.open(info, "w") as dst, \
                open(params_path, "rb") as src:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                digest.update(chunk)
                dst.write(chunk)
        if digest.hexdigest() != sha1:
            raise PublishError("%s changed while it was being published; try again" % params_path)

    _write_atomically(models_dir, "%s-%s.zip" % (name, tag), write_zip)

    with model_store._file_lock(os.path.join(models_dir, "." + INDEX_NAME + ".lock"),
                                model_store._DEFAULT_LOCK_TIMEOUT):
        index = _read_index(index_path)
        old = index.get(name)
        if old is not None and old != sha1:
            print("publish: %s: replacing index entry %s with %s" % (name, old, sha1),
                  file=sys.stderr)
        index[name] = sha1
        text = json.dumps(index, indent=2, sort_keys=True) + "\n"
        _write_atomically(models_dir, INDEX_NAME, lambda f: f.write(text.encode("utf-8")))
    return tag


def main(argv=None):
    """Command-line entry point; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; default ``sys.argv[1:]``.

    Returns
    -------
    int
        0 on success (the hashtag was printed), 1 on a publishing error.
    """
    parser = argparse.ArgumentParser(
        prog="python -m gluonpose.model_zoo.publish",
        description="Publish PARAMS as model NAME into the mirror directory DIR: writes "
                    "DIR/gluon/models/NAME-HASH8.zip and its entry in DIR/gluon/models/index.json, "
                    "and prints HASH8. Serve DIR over HTTP or set GLUONPOSE_REPO=file:///abs/DIR/ "
                    "to download from it.")
    parser.add_argument("params", metavar="PARAMS", help="parameter file (net.save_parameters)")
    parser.add_argument("name", metavar="NAME", help="model name, e.g. simple_pose_resnet18_v1b")
    parser.add_argument("--repo", metavar="DIR", required=True, help="mirror root directory")
    args = parser.parse_args(argv)
    try:
        tag = publish(args.params, args.name, args.repo)
    except (ValueError, OSError, model_store.ModelStoreError) as err:
        print("publish: error: %s" % model_store._one_line(err), file=sys.stderr)
        return 1
    print(tag)
    return 0


if __name__ == "__main__":
    sys.exit(main())
