"""Atomic file writes: write a temporary file next to the target, then ``os.replace``.

A reader, a crash or a kill between two writes never leaves a half-written
file under the final name: it sees the old file or the new one.
"""
import contextlib
import json
import os
import tempfile

__all__ = ["atomic_path", "write_json", "write_text", "fsync_dir"]


def fsync_dir(folder):
    """Flush a directory entry (the rename) to disk where the OS allows it."""
    try:
        fd = os.open(folder or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path, suffix=None):
    """Yield a temporary path; on success it replaces ``path``, on error it is removed.

    Parameters
    ----------
    path : str
        Final file name.
    suffix : str, optional
        Suffix of the temporary name (some writers pick the format from it,
        e.g. matplotlib); default the extension of ``path``.

    Examples
    --------
    >>> with atomic_path('net.params') as tmp:      # doctest: +SKIP
    ...     net.save_parameters(tmp)
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    if suffix is None:
        suffix = os.path.splitext(path)[1]
    fd, tmp = tempfile.mkstemp(prefix=".tmp-" + os.path.basename(path) + "-", suffix=suffix,
                               dir=folder)
    os.close(fd)
    try:
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide results from the user's group
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(folder)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_json(path, obj, indent=None):
    """Write ``obj`` as json atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=indent)


def write_text(path, text):
    """Write ``text`` atomically."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
