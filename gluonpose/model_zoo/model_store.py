"""Checksummed model store: finds, downloads and verifies pretrained ``.params`` files.

This is the GluonCV-compatible store behind ``get_model(name, pretrained=...)``.  A file is
identified by a model name and the sha1 of its ``.params`` content; it lives in the cache as
``{root}/{name}-{short}.params`` (``short`` = first 8 hex digits of the sha1) and is published as
``{repo}gluon/models/{name}-{short}.zip``.  Both layouts are GluonCV's, so a GluonCV user's cache
and GluonCV's S3 bucket (and any mirror of it) work unchanged.

Design
------
Where the sha1 comes from
    ``get_model_file(name)`` (``pretrained=True``) looks the name up in the mirror's
    ``gluon/models/index.json`` when a repo is configured by environment (``GLUONPOSE_REPO`` or
    ``MXNET_GLUON_REPO``), and otherwise in the built-in table ``_model_sha1`` (GluonCV's published
    pose weights, their ImageNet backbones and the two demo detectors).  The index is how weights
    published with :mod:`gluonpose.model_zoo.publish` are found; it is fetched at most once per
    process per repo URL with a short timeout, and a missing or unreachable index counts as empty.
    Without a repo variable no index is ever fetched.  ``get_model_file(name, tag)`` trusts the
    tag (8 to 40 hex digits) as a sha1 prefix and uses a full sha1 from the table or index when one
    of them starts with the tag.

Cache root
    ``root=`` argument, else ``$GLUONPOSE_HOME/models``, else ``$MXNET_HOME/models``, else
    ``~/.mxnet/models``.  Unlike GluonCV, ``MXNET_HOME`` never overrides an explicit ``root=``.

Integrity
    A cached file is used only when its sha1 matches; a mismatching one is reported by a warning,
    deleted and downloaded again.  A download goes to a hidden temporary file in the cache dir,
    the one expected member is extracted to another temporary file while its sha1 is computed, and
    only a verified file is moved into place with ``os.replace`` (atomic on POSIX and Windows), so
    readers never see a half-written ``.params``.  Every failure path removes the temporary files.

Archive rule
    Only the member named exactly ``{name}-{short}.params`` at the top level of the zip is ever
    read, and it is written to a temporary path chosen here, never to a path taken from the archive,
    so no member can be written outside the cache dir.  As defence in depth, an archive that
    contains *any* member with an absolute path, a drive letter, a backslash, a ``..`` component,
    or a non-regular file type (symlink, device, ...) is refused as a whole.  Other harmless members
    (a directory entry, ``__MACOSX/`` metadata, a README) are ignored and never extracted.  An
    archive without the expected member, or with it twice, is refused.

Concurrency
    The download runs under an advisory ``fcntl.flock`` on ``{name}-{short}.lock`` beside the
    ``.params`` (waiting at most ``GLUON_MODEL_LOCK_TIMEOUT`` seconds, default 300), and the cache
    is checked again once the lock is held, so N processes asking at once cause one download.
    Lock files are left in place: deleting one while another process waits on it would let a third
    process take a second lock on a new file.  Where ``fcntl`` is missing (Windows) or the file
    system refuses ``flock``, the store runs without a lock; each process then downloads to its own
    temporary file and the atomic rename still leaves a good file.

Network
    ``urllib`` with a socket timeout of ``GLUONPOSE_DOWNLOAD_TIMEOUT`` seconds (default 60) so a
    dead server fails instead of hanging.  ``http://``, ``https://`` and ``file://`` repos work; a
    repo given as a plain local directory is turned into a ``file://`` URL.  A tqdm bar is shown
    when stderr is a terminal.

Errors
    Every error is one line that names the file, the URL, and where to put the file by hand, and is
    raised ``from None`` so no urllib/zipfile traceback is chained.  :class:`ModelStoreError`
    (a ``RuntimeError``) is the base; :class:`ModelDownloadError` means nothing usable could be
    fetched; :class:`ModelChecksumError` (also a ``ValueError``, as GluonCV raised) means bytes
    arrived but are wrong, and :class:`ModelArchiveError` is its subclass for a truncated, corrupt
    or hostile archive.  Bad names and tags, and unknown names, raise plain ``ValueError``.
"""
import contextlib
import difflib
import errno
import hashlib
import http.client
import json
import logging
import math
import os
import pathlib
import re
import secrets
import stat
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile
import zlib

from ..utils.atomic import fsync_dir

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = [
    "ModelStoreError", "ModelDownloadError", "ModelChecksumError", "ModelArchiveError",
    "DEFAULT_REPO", "get_model_file", "short_hash", "pretrained_model_list", "purge",
    "model_root", "get_repo_url", "mirror_index", "clear_index_cache", "check_model_name",
    "file_sha1",
]

logger = logging.getLogger(__name__)

DEFAULT_REPO = "https://apache-mxnet.s3-accelerate.dualstack.amazonaws.com/"
#: Path of model archives and of the mirror index below a repo URL.
MODELS_PATH = "gluon/models/"
INDEX_NAME = "index.json"

_DEFAULT_DOWNLOAD_TIMEOUT = 60.0
_DEFAULT_LOCK_TIMEOUT = 300.0
# The index is a convenience: never let an unreachable mirror stall a cached lookup for long.
_MAX_INDEX_TIMEOUT = 10.0
_MAX_INDEX_BYTES = 16 << 20
_CHUNK = 1 << 20

# name -> full sha1 of the .params file (GluonCV model_store.py, see the facts file section 2.1).
_model_sha1 = {
    # pose models
    "simple_pose_resnet18_v1b": "f63d42ac8f83b239d4e08b636b888b8e50cd066d",
    "simple_pose_resnet50_v1b": "e2c7b1adea31264bc9220511308b4efa89c6fc50",
    "simple_pose_resnet101_v1b": "b7ec0de1a34eb718efd4a84339cc1547ead88cbe",
    "simple_pose_resnet152_v1b": "ef4e033612a5fca6fc69e54c87da3ba3866d533e",
    "simple_pose_resnet50_v1d": "ba2675b6a43fc31601f0e99311b0bb115369bc82",
    "simple_pose_resnet101_v1d": "1f8f48fd49a23bcc73c1cd736bdc639cd1434489",
    "simple_pose_resnet152_v1d": "3ca502ea8eaaa15f4f972d5cf139167d15ffa798",
    "mobile_pose_resnet18_v1b": "dd6644ebca0d320eb460342d1ed6e1f0793e3946",
    "mobile_pose_resnet50_v1b": "ec8809df9adbeefc022e5977fda60c4e4a58c3ac",
    "mobile_pose_mobilenet1.0": "b399bac75ebbd1b9d04a16906bddc64f1e33496b",
    "mobile_pose_mobilenetv2_1.0": "4acdc130ebee695b1181fb7e4eee8f2c4d91a614",
    "mobile_pose_mobilenetv3_large": "1ca004dc5ab2bd0e10d782734d3efbefff23180c",
    "mobile_pose_mobilenetv3_small": "c2a11fae8970c2c2e79e2b77a4c4d62e3d3e054f",
    "alpha_pose_resnet101_v1b_coco": "de56b871543847d586deeca488b5bfe1b77bb5c5",
    # ImageNet backbones (pretrained_base=True)
    "resnet18_v1b": "2d9d980c990442f826f20781ed039851e78dabe3",
    "resnet50_v1b": "0ecdba34691be172036ddf244ff1b2eade75ffde",
    "resnet101_v1b": "a455932aa95cb7dcfa05fd040b9b5a5660733c39",
    "resnet152_v1b": "a5a61ee1ce5ab7c09720775b223360f3c60e211d",
    "resnet50_v1d": "117a384ecf61490eb31ea147eb0e61e6d2b8a449",
    "resnet101_v1d": "1b2b825feff86b0354642a4ab59f9b6e35e47338",
    "resnet152_v1d": "cddbc86ff24a5544f57242ded0acb14ef1fbd437",
    "mobilenet1.0": "efbb2ca3881998d5a8c5cb6c457a28c1e085fed5",
    "mobilenetv2_1.0": "f9952bcde7a7982947ac5240546e1c1c8f057370",
    "mobilenetv3_large": "eaa44578554ddffaf2a2630ced9093181ff79688",
    "mobilenetv3_small": "10430433698d18f49991e4a366c9fce8f9286298",
    # person detectors used by the demos
    "yolo3_mobilenet1.0_coco": "66dbbae67be8f1e3cd3c995ce626a2bdc89769c6",
    "ssd_512_mobilenet1.0_coco": "da9756faa5b9b4e34dedcf83ee0733d5895796ad",
}

# A name becomes a file name and part of a URL: letters, digits, '.', '_', '-' only, starting with
# a letter or digit, no '..' and no trailing '.' (Windows drops it).  Every GluonCV name fits.
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_TAG_RE = re.compile(r"[0-9a-f]{8,40}")
_SHA1_RE = re.compile(r"[0-9a-f]{40}")


class ModelStoreError(RuntimeError):
    """Base class of model-store failures (download, integrity, locking, configuration)."""


class ModelDownloadError(ModelStoreError):
    """The model archive could not be fetched (no network, server down, HTTP error, timeout)."""


class ModelChecksumError(ModelStoreError, ValueError):
    """Bytes were fetched but are not the expected file (sha1 mismatch).

    Also a ``ValueError`` because GluonCV raised ``ValueError`` for a checksum mismatch.
    """


class ModelArchiveError(ModelChecksumError):
    """The downloaded archive is truncated, corrupt, lacks the expected member, or is hostile."""


# --------------------------------------------------------------------------------------------
# names, tags, table


def check_model_name(name):
    """Validate a model name for use as a file name and URL component.

    Parameters
    ----------
    name : str
        Model name such as ``'simple_pose_resnet18_v1b'`` or ``'mobile_pose_mobilenet1.0'``.

    Returns
    -------
    str
        The name, unchanged.

    Raises
    ------
    ValueError
        If the name is not a string of 1 to 128 characters from ``[A-Za-z0-9._-]`` starting with a
        letter or digit, or contains ``..`` or ends with ``.``.
    """
    if (not isinstance(name, str) or not _NAME_RE.fullmatch(name) or ".." in name
            or name.endswith(".")):
        raise ValueError("invalid model name %r: use 1-128 characters from [A-Za-z0-9._-], "
                         "starting with a letter or digit, without '..', path separators or a "
                         "trailing '.'" % (name,))
    return name


def _check_tag(tag):
    """Lower-cased tag, or ValueError unless it is a str of 8 to 40 hex digits."""
    if isinstance(tag, str) and _TAG_RE.fullmatch(tag.lower()):
        return tag.lower()
    raise ValueError("invalid model tag %r: expected 8 to 40 hex digits of the file's sha1 "
                     "(e.g. pretrained='f63d42ac')" % (tag,))


def _unknown_name_message(name, known, where):
    close = difflib.get_close_matches(name, sorted(known), n=5, cutoff=0.6)
    hint = ("; close names: %s" % ", ".join(close)) if close else ""
    return ("pretrained weights for %r are not available (not in %s)%s; "
            "see pretrained_model_list(), or pass an 8-hex tag" % (name, where, hint))


def short_hash(name):
    """First 8 hex digits of the sha1 of ``name`` in the built-in table.

    Parameters
    ----------
    name : str
        Model name.

    Returns
    -------
    str
        8-character short hash, the part of the file name after ``{name}-``.

    Raises
    ------
    ValueError
        If the name is invalid or not in the built-in table (the message lists close names).
    """
    check_model_name(name)
    if name not in _model_sha1:
        raise ValueError(_unknown_name_message(name, _model_sha1, "the built-in table"))
    return _model_sha1[name][:8]


def pretrained_model_list():
    """Names that have published weights in the built-in table.

    Mirror indexes are not consulted (this never touches the network).

    Returns
    -------
    list of str
        Sorted model names.
    """
    return sorted(_model_sha1)


# --------------------------------------------------------------------------------------------
# environment


def _env(var):
    value = os.environ.get(var, "").strip()
    return value or None


def _env_seconds(var, default):
    value = _env(var)
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not math.isfinite(seconds) or seconds <= 0:
        warnings.warn("ignoring %s=%r: not a positive number of seconds; using %g"
                      % (var, value, default), RuntimeWarning, stacklevel=3)
        return default
    return seconds


def model_root(root=None):
    """Absolute cache directory that :func:`get_model_file` uses (not created here).

    Parameters
    ----------
    root : str or os.PathLike, optional
        Explicit directory; wins over every environment variable.  ``~`` is expanded.

    Returns
    -------
    str
        ``root`` if given, else ``$GLUONPOSE_HOME/models``, else ``$MXNET_HOME/models`` (where a
        GluonCV user's files already are), else ``~/.mxnet/models``.
    """
    if root is None:
        home = _env("GLUONPOSE_HOME") or _env("MXNET_HOME")
        root = os.path.join(home, "models") if home else os.path.join("~", ".mxnet", "models")
    return os.path.abspath(os.path.expanduser(os.fspath(root)))


def _normalize_repo(repo):
    repo = repo.strip()
    if "://" not in repo:
        # A bare local directory is accepted as a convenience for file:// mirrors.
        repo = pathlib.Path(os.path.abspath(os.path.expanduser(repo))).as_uri()
    scheme = urllib.parse.urlsplit(repo).scheme.lower()
    if scheme not in ("http", "https", "file"):
        raise ModelStoreError("unsupported model repo URL %r (from GLUONPOSE_REPO or "
                              "MXNET_GLUON_REPO): use http://, https:// or file://" % repo)
    return repo if repo.endswith("/") else repo + "/"


def _repo_from_env():
    return _env("GLUONPOSE_REPO") or _env("MXNET_GLUON_REPO")


def get_repo_url():
    """Base URL that model archives are fetched from, ending with ``/``.

    Returns
    -------
    str
        ``$GLUONPOSE_REPO``, else ``$MXNET_GLUON_REPO``, else :data:`DEFAULT_REPO`.

    Raises
    ------
    ModelStoreError
        If the configured URL's scheme is not http, https or file.
    """
    return _normalize_repo(_repo_from_env() or DEFAULT_REPO)


# --------------------------------------------------------------------------------------------
# mirror index

_INDEX_CACHE = {}
_INDEX_LOCK = threading.Lock()


def clear_index_cache():
    """Forget the mirror indexes fetched so far, so the next lookup fetches them again."""
    with _INDEX_LOCK:
        _INDEX_CACHE.clear()


def _clean_index(data, url):
    """Keep the valid ``name -> sha1`` entries of a parsed index; warn about the rest."""
    if not isinstance(data, dict):
        warnings.warn("ignoring model index %s: expected a JSON object of name -> sha1" % url,
                      RuntimeWarning, stacklevel=4)
        return {}
    entries, bad = {}, []
    for key, value in data.items():
        sha1 = value.lower() if isinstance(value, str) else None
        try:
            check_model_name(key)
        except ValueError:
            sha1 = None
        if sha1 is not None and _SHA1_RE.fullmatch(sha1):
            entries[key] = sha1
        else:
            bad.append(key)
    if bad:
        warnings.warn("model index %s: ignoring %d invalid entries (%s)"
                      % (url, len(bad), ", ".join(repr(b) for b in bad[:5])),
                      RuntimeWarning, stacklevel=4)
    return entries


def _fetch_index(repo):
    url = repo + MODELS_PATH + INDEX_NAME
    timeout = min(_MAX_INDEX_TIMEOUT, _env_seconds("GLUONPOSE_DOWNLOAD_TIMEOUT",
                                                   _DEFAULT_DOWNLOAD_TIMEOUT))
    try:
        with urllib.request.urlopen(_request(url), timeout=timeout) as resp:
            raw = resp.read(_MAX_INDEX_BYTES + 1)
    except (OSError, http.client.HTTPException, ValueError) as err:
        # A mirror need not have an index (GluonCV's bucket has none); an unreachable one is
        # reported later, by the download, if the file is not cached.
        logger.debug("no model index at %s: %s", url, _reason(err))
        return {}
    if len(raw) > _MAX_INDEX_BYTES:
        warnings.warn("ignoring model index %s: larger than %d bytes" % (url, _MAX_INDEX_BYTES),
                      RuntimeWarning, stacklevel=3)
        return {}
    try:
        data = json.loads(raw.decode("utf-8"))
    except ValueError as err:
        warnings.warn("ignoring model index %s: not valid JSON (%s)" % (url, err),
                      RuntimeWarning, stacklevel=3)
        return {}
    return _clean_index(data, url)


def mirror_index(repo=None):
    """Entries of a mirror's ``gluon/models/index.json``, fetched once per process per repo.

    Parameters
    ----------
    repo : str, optional
        Repo URL; default :func:`get_repo_url`.

    Returns
    -------
    dict
        ``{name: full sha1}``; empty when the index is missing, unreachable or invalid.
    """
    repo = get_repo_url() if repo is None else _normalize_repo(repo)
    # Held during the fetch so that concurrent threads fetch an index once.
    with _INDEX_LOCK:
        if repo not in _INDEX_CACHE:
            _INDEX_CACHE[repo] = _fetch_index(repo)
        return dict(_INDEX_CACHE[repo])


def _expected_sha1(name, tag):
    """Full sha1 (or the tag, when nothing longer is known) that the file must match."""
    use_index = _repo_from_env() is not None
    if tag is None:
        if use_index:
            index = mirror_index()
            if name in index:
                return index[name]
        if name in _model_sha1:
            return _model_sha1[name]
        if use_index:
            raise ValueError(_unknown_name_message(
                name, set(_model_sha1) | set(index),
                "the built-in table or the index of %s" % get_repo_url()))
        raise ValueError(_unknown_name_message(name, _model_sha1, "the built-in table"))
    # Table first: a tag of a built-in file then needs no index fetch.
    if _model_sha1.get(name, "").startswith(tag):
        return _model_sha1[name]
    if use_index and mirror_index().get(name, "").startswith(tag):
        return mirror_index()[name]
    return tag


# --------------------------------------------------------------------------------------------
# files, locks, downloads


def file_sha1(path):
    """Hex sha1 of a file's content, read in chunks.

    Parameters
    ----------
    path : str
        File to hash.

    Returns
    -------
    str
        40 lower-case hex digits.
    """
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _one_line(text):
    return " ".join(str(text).split())


def _reason(err):
    if isinstance(err, urllib.error.HTTPError):
        return "HTTP %s %s" % (err.code, _one_line(err.reason))
    if isinstance(err, urllib.error.URLError):
        err = err.reason
    if isinstance(err, (TimeoutError, OSError)) and "timed out" in str(err).lower():
        return "timed out"
    text = _one_line(err) or type(err).__name__
    return text


def _request(url):
    return urllib.request.Request(url, headers={"User-Agent": "gluonpose-model-store"})


def _remove_quietly(path):
    try:
        os.remove(path)
    except OSError:
        pass


def _create_temp(directory, stem, suffix):
    """Create a new hidden file for writing; returns ``(path, binary file object)``.

    ``os.open`` with mode 0o666 (unlike ``mkstemp``'s 0o600) lets the umask decide, so a shared
    cache dir stays readable by the other users of it after the rename.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        path = os.path.join(directory, ".%s.%s%s" % (stem, secrets.token_hex(4), suffix))
        try:
            fd = os.open(path, flags, 0o666)
        except FileExistsError:
            continue
        return path, os.fdopen(fd, "wb")
    raise FileExistsError(errno.EEXIST, "cannot create a temporary file", directory)


@contextlib.contextmanager
def _file_lock(path, timeout):
    """Hold an exclusive ``flock`` on ``path``; run unlocked where that is impossible."""
    fd = None
    if fcntl is not None:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as err:
            # Read-only cache and the like: the download reports the real problem.
            logger.debug("cannot open lock file %s (%s); continuing without a lock", path, err)
    if fd is None:
        yield False
        return
    try:
        locked = False
        deadline = time.monotonic() + timeout
        delay = 0.02
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                locked = True
                break
            except OSError as err:
                if err.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    # The file system has no flock (some network mounts): atomic renames
                    # still keep the result correct, only a duplicate download is possible.
                    logger.debug("flock unsupported on %s (%s); continuing without a lock",
                                 path, err)
                    break
            if time.monotonic() >= deadline:
                raise ModelStoreError(
                    "timed out after %gs waiting for the lock %s held by another process "
                    "downloading the same file; retry, or raise GLUON_MODEL_LOCK_TIMEOUT"
                    % (timeout, path))
            time.sleep(delay)
            delay = min(delay * 2, 0.5)
        try:
            yield locked
        finally:
            if locked:
                fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _progress_bar(total, desc):
    try:
        interactive = sys.stderr is not None and sys.stderr.isatty()
    except (AttributeError, ValueError):
        interactive = False
    if not interactive:
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency, but stay usable without it
        return None
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc,
                leave=False)


def _unsafe_member(info):
    """Why a zip member is hostile, or None.  See the module's *Archive rule*."""
    name = info.filename
    if name.startswith("/") or "\\" in name or re.match(r"[A-Za-z]:", name):
        return "has an absolute or non-POSIX path"
    if ".." in name.split("/"):
        return "has a '..' path component"
    mode = info.external_attr >> 16
    if mode and stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        return "is a symbolic link or special file"
    return None


class _Job:
    """Names, paths and messages of one download, so every error text says the same things."""

    def __init__(self, name, short, expected, root, repo):
        self.stem = "%s-%s" % (name, short)
        self.member = self.stem + ".params"
        self.zip_name = self.stem + ".zip"
        self.url = repo + MODELS_PATH + self.zip_name
        self.expected = expected
        self.root = root
        self.params_path = os.path.join(root, self.member)

    @property
    def by_hand(self):
        return ("to place it by hand, fetch %s and unzip %s to %s"
                % (self.url, self.member, self.params_path))

    def download_error(self, reason):
        return ModelDownloadError("cannot download %s from %s: %s; %s"
                                  % (self.zip_name, self.url, reason, self.by_hand))

    def archive_error(self, problem):
        return ModelArchiveError("%s from %s %s (expected %s with sha1 %s); the download was "
                                 "deleted; %s" % (self.zip_name, self.url, problem, self.member,
                                                  self.expected, self.by_hand))


def _download(job, dest):
    """Stream ``job.url`` into the open binary file ``dest``."""
    timeout = _env_seconds("GLUONPOSE_DOWNLOAD_TIMEOUT", _DEFAULT_DOWNLOAD_TIMEOUT)
    try:
        resp = urllib.request.urlopen(_request(job.url), timeout=timeout)
    except (OSError, http.client.HTTPException, ValueError) as err:
        raise job.download_error(_reason(err)) from None
    with resp:
        try:
            total = int(resp.headers.get("Content-Length"))
        except (TypeError, ValueError):
            total = None
        bar = _progress_bar(total, job.zip_name)
        got = 0
        try:
            while True:
                try:
                    chunk = resp.read(_CHUNK)
                except (OSError, http.client.HTTPException) as err:
                    raise job.download_error("transfer failed after %d bytes: %s"
                                             % (got, _reason(err))) from None
                if not chunk:
                    break
                try:
                    dest.write(chunk)
                except OSError as err:
                    raise ModelStoreError("cannot write %s in %s: %s"
                                          % (job.zip_name, job.root, _reason(err))) from None
                got += len(chunk)
                if bar is not None:
                    bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
    if total is not None and got != total:
        # http.client returns short data without an error when the server closes early.
        raise job.archive_error("is truncated: got %d of %d bytes" % (got, total))


def _extract(job, zip_path, dest):
    """Copy the expected member of ``zip_path`` into the open file ``dest``; return its sha1."""
    bad_archive = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError,
                   NotImplementedError, RuntimeError, OSError, ValueError)
    try:
        archive = zipfile.ZipFile(zip_path)
    except bad_archive as err:
        raise job.archive_error("is not a readable zip archive: %s" % _reason(err)) from None
    with archive:
        infos = archive.infolist()
        for info in infos:
            problem = _unsafe_member(info)
            if problem:
                raise job.archive_error("is refused: member %r %s"
                                        % (info.filename, problem)) from None
        matches = [info for info in infos if info.filename == job.member]
        if len(matches) != 1:
            found = ", ".join(repr(i.filename) for i in infos[:5]) or "nothing"
            raise job.archive_error("has %d members named %s (it holds %s)"
                                    % (len(matches), job.member, found))
        digest = hashlib.sha1()
        try:
            src = archive.open(matches[0])
        except bad_archive as err:
            raise job.archive_error("is corrupt: %s" % _reason(err)) from None
        with src:
            while True:
                try:
                    chunk = src.read(_CHUNK)  # zipfile checks the CRC at the end
                except bad_archive as err:
                    raise job.archive_error("is corrupt: %s" % _reason(err)) from None
                if not chunk:
                    break
                digest.update(chunk)
                try:
                    dest.write(chunk)
                except OSError as err:
                    raise ModelStoreError("cannot write %s in %s: %s"
                                          % (job.member, job.root, _reason(err))) from None
    return digest.hexdigest()


def _fetch_into_place(job):
    """Download, extract, verify and atomically install ``job.params_path``."""
    temps = []

    def temp(suffix):
        try:
            path, fobj = _create_temp(job.root, job.stem, suffix)
        except OSError as err:
            raise ModelStoreError("cannot create a file in the model cache %s: %s; pass root= "
                                  "or set GLUONPOSE_HOME to a writable directory"
                                  % (job.root, _reason(err))) from None
        temps.append(path)
        return path, fobj

    try:
        zip_path, zip_file = temp(".zip.part")
        with zip_file:
            _download(job, zip_file)
        params_tmp, params_file = temp(".params.part")
        with params_file:
            found = _extract(job, zip_path, params_file)
            params_file.flush()
            os.fsync(params_file.fileno())
        if not found.startswith(job.expected):
            raise ModelChecksumError(
                "%s in %s from %s has sha1 %s, expected %s: the download is corrupt or not this "
                "model and was deleted; %s" % (job.member, job.zip_name, job.url, found,
                                               job.expected, job.by_hand))
        os.replace(params_tmp, job.params_path)
        temps.remove(params_tmp)
        fsync_dir(job.root)
    finally:
        for path in temps:
            _remove_quietly(path)


def _is_good(path, expected):
    try:
        return file_sha1(path).startswith(expected)
    except FileNotFoundError:
        return False


def get_model_file(name, tag=None, root=None):
    """Local path of a verified pretrained ``.params`` file, downloading it when needed.

    Parameters
    ----------
    name : str
        Model name, e.g. ``'simple_pose_resnet18_v1b'``.
    tag : str, optional
        ``None`` (or ``True``, as GluonCV factories pass ``pretrained`` through) selects the
        mirror index / built-in table entry; a string of 8 to 40 hex digits selects the file whose
        sha1 starts with it (``get_model(name, pretrained='ccd24037')``).
    root : str, optional
        Cache directory; default see :func:`model_root`.  Created if missing.

    Returns
    -------
    str
        Absolute path of ``{root}/{name}-{short}.params``, whose sha1 has been checked.

    Raises
    ------
    ValueError
        Invalid name or tag, or a name with no known sha1 and no tag (lists close names).
    ModelDownloadError
        The archive could not be fetched (network, server, HTTP status, timeout).
    ModelChecksumError
        The fetched file has the wrong sha1 (:class:`ModelArchiveError`: the archive is
        truncated, corrupt or hostile).
    ModelStoreError
        The cache dir is not writable, the lock timed out, or the repo URL is unsupported.
    """
    check_model_name(name)
    if tag is True:
        tag = None
    if tag is not None:
        tag = _check_tag(tag)
    root = model_root(root)
    expected = _expected_sha1(name, tag)
    short = expected[:8]
    params_path = os.path.join(root, "%s-%s.params" % (name, short))
    # Fast path without a lock: a file only ever appears here complete (os.replace).
    if _is_good(params_path, expected):
        return params_path
    try:
        os.makedirs(root, exist_ok=True)
    except OSError as err:
        raise ModelStoreError("cannot create the model cache %s: %s; pass root= or set "
                              "GLUONPOSE_HOME to a writable directory"
                              % (root, _reason(err))) from None
    timeout = _env_seconds("GLUON_MODEL_LOCK_TIMEOUT", _DEFAULT_LOCK_TIMEOUT)
    with _file_lock(os.path.join(root, "%s-%s.lock" % (name, short)), timeout):
        if os.path.exists(params_path):
            if _is_good(params_path, expected):  # another process finished it meanwhile
                return params_path
            warnings.warn("%s does not match sha1 %s (corrupt or a different file); deleting "
                          "it and downloading a fresh copy" % (params_path, expected),
                          RuntimeWarning, stacklevel=2)
            _remove_quietly(params_path)
        _fetch_into_place(_Job(name, short, expected, root, get_repo_url()))
    return params_path


def purge(root=None):
    """Delete the cached ``.params`` files (and their ``.lock`` files) in the cache dir.

    Like GluonCV's, this removes every ``*.params`` in the directory, including files GluonCV
    put there when the two share ``~/.mxnet/models``.

    Parameters
    ----------
    root : str, optional
        Cache directory; default see :func:`model_root`.

    Returns
    -------
    list of str
        Paths removed.
    """
    root = model_root(root)
    removed = []
    if not os.path.isdir(root):
        return removed
    for entry in sorted(os.listdir(root)):
        path = os.path.join(root, entry)
        if entry.endswith((".params", ".lock")) and os.path.isfile(path):
            _remove_quietly(path)
            removed.append(path)
    return removed
