"""Training checkpoints: GluonCV's ``.params``/``.states`` files plus a manifest.

A checkpoint is three files sharing a stem in the save directory:

* ``{stem}.params`` -- ``net.save_parameters`` (structural names), exactly what
  GluonCV's ``train_simple_pose.py`` writes, so GluonCV's ``load_parameters``
  reads it;
* ``{stem}.states`` -- ``trainer.save_states`` (optimizer state, update
  counts and the learning-rate schedule);
* ``{stem}.ckpt.json`` -- the manifest: epoch, batch and iteration counters,
  the sha1 and size of the two files, RNG states, the partial-epoch
  statistics and the run's configuration.

The stem is GluonCV's ``{model}-{epoch}`` after a finished epoch (0-based),
and ``{model}-{epoch}-partial{batch}`` when a run stopped inside epoch
``epoch`` after ``batch`` batches (SIGINT/SIGTERM).

Every file is written atomically and the manifest last: a checkpoint exists
only once its manifest does, and the sha1s in the manifest catch a file that
was later truncated or overwritten. Loading checks them; a bad checkpoint is
reported by name and the newest good one before it is used instead.
"""
import glob
import json
import os
import random
import re
import time

import numpy as np

from ..utils.atomic import atomic_path, write_json

__all__ = ["Checkpoint", "CheckpointError", "save_checkpoint", "find_checkpoints",
           "resolve_resume", "rng_state", "set_rng_state", "MANIFEST_SUFFIX"]

MANIFEST_SUFFIX = ".ckpt.json"
FORMAT = "gluonpose-checkpoint/1"


class CheckpointError(ValueError):
    """A checkpoint is missing, partial or corrupt (the message names it)."""


def _sha1(path):
    from ..model_zoo.model_store import file_sha1
    return file_sha1(path)


# ----------------------------------------------------------------------------- RNG

def rng_state():
    """JSON-friendly states of Python's ``random`` and NumPy's global RNG.

    MXNet's generators have no state getter; the engine reseeds them from
    ``(seed, epoch[, batch])`` instead (see :mod:`gluonpose.engine.trainer`).
    """
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {"python": [version, list(internal), gauss],
            "numpy": [name, keys.tolist(), int(pos), int(has_gauss), float(cached)]}


def set_rng_state(state):
    """Restore what :func:`rng_state` returned."""
    if not state:
        return
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))


# ----------------------------------------------------------------------------- objects

class Checkpoint:
    """One checkpoint on disk (its manifest, read but not yet verified).

    Attributes
    ----------
    manifest_file, params_file, states_file : str
        Paths.
    meta : dict
        The manifest.
    """

    def __init__(self, manifest_file, meta):
        self.manifest_file = os.path.abspath(manifest_file)
        self.meta = meta
        folder = os.path.dirname(self.manifest_file)
        files = meta.get("files", {})
        self.params_file = os.path.join(folder, files.get("params", {}).get("name", ""))
        self.states_file = os.path.join(folder, files.get("states", {}).get("name", ""))

    @property
    def name(self):
        """The stem, e.g. ``simple_pose_resnet18_v1b-9``."""
        return os.path.basename(self.manifest_file)[:-len(MANIFEST_SUFFIX)]

    @property
    def epoch(self):
        """Epoch the checkpoint was taken in (0-based)."""
        return int(self.meta["epoch"])

    @property
    def batch(self):
        """Batches of :attr:`epoch` done (the epoch's length when it finished)."""
        return int(self.meta["batch"])

    @property
    def epoch_complete(self):
        """Whether :attr:`epoch` had finished."""
        return bool(self.meta["epoch_complete"])

    @property
    def iteration(self):
        """Optimizer updates done in the whole run."""
        return int(self.meta["iteration"])

    @property
    def config(self):
        """The run configuration stored with the checkpoint."""
        return dict(self.meta.get("config", {}))

    def sort_key(self):
        return (self.iteration, self.epoch, self.batch, os.path.getmtime(self.manifest_file))

    def verify(self):
        """Check both files against the manifest.

        Raises
        ------
        CheckpointError
            A file is missing or its size/sha1 differs.
        """
        for kind in ("params", "states"):
            entry = self.meta.get("files", {}).get(kind)
            if not entry:
                raise CheckpointError("checkpoint %s: the manifest lists no %s file"
                                      % (self.manifest_file, kind))
            path = os.path.join(os.path.dirname(self.manifest_file), entry["name"])
            if not os.path.isfile(path):
                raise CheckpointError("checkpoint %s is incomplete: %s is missing"
                                      % (self.name, path))
            size = os.path.getsize(path)
            if size != entry["bytes"]:
                raise CheckpointError("checkpoint %s is corrupt: %s has %d bytes, the manifest "
                                      "says %d" % (self.name, path, size, entry["bytes"]))
            if _sha1(path) != entry["sha1"]:
                raise CheckpointError("checkpoint %s is corrupt: %s does not match the sha1 in "
                                      "its manifest" % (self.name, path))
        return self

    def __repr__(self):
        return "Checkpoint(%s, epoch=%d, batch=%d, iteration=%d)" % (
            self.name, self.epoch, self.batch, self.iteration)


def _read_manifest(path):
    try:
        with open(path, "r", encoding="utf-8") as f:
            meta = json.load(f)
    except (OSError, ValueError) as err:
        raise CheckpointError("checkpoint manifest %s is unreadable (%s)"
                              % (path, str(err).splitlines()[0] if str(err) else
                                 type(err).__name__)) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError("%s is not a gluonpose checkpoint manifest" % path)
    for key in ("epoch", "batch", "iteration", "epoch_complete", "files"):
        if key not in meta:
            raise CheckpointError("checkpoint manifest %s lacks %r" % (path, key))
    return Checkpoint(path, meta)


# ----------------------------------------------------------------------------- save

def checkpoint_stem(model, epoch, batch=None):
    """GluonCV's ``{model}-{epoch}``; ``{model}-{epoch}-partial{batch}`` inside an epoch."""
    stem = "%s-%d" % (model, epoch)
    return stem if batch is None else "%s-partial%d" % (stem, batch)


def save_checkpoint(save_dir, model, net, trainer, epoch, batch, epoch_complete, iteration,
                    config, progress=None, reason="epoch", extra=None):
    """Write a checkpoint atomically (params, states, then the manifest).

    Parameters
    ----------
    save_dir : str
        Folder (created when missing).
    model : str
        Model name (file stem prefix).
    net : mxnet.gluon.Block
        Saved with ``save_parameters`` (structural names, GluonCV-loadable).
    trainer : mxnet.gluon.Trainer
        Saved with ``save_states``.
    epoch : int
        0-based epoch the run is in (or has just finished).
    batch : int
        Batches of ``epoch`` done.
    epoch_complete : bool
        ``epoch`` is finished (the GluonCV-named checkpoint).
    iteration : int
        Optimizer updates so far.
    config : dict
        The run configuration.
    progress : dict, optional
        Partial-epoch statistics to restore on a mid-epoch resume.
    reason : str
        Why it was written (``'epoch'``, ``'SIGTERM'``, ``'stop_after'``, ...).
    extra : dict, optional
        Anything else to keep in the manifest.

    Returns
    -------
    Checkpoint
    """
    os.makedirs(save_dir, exist_ok=True)
    stem = checkpoint_stem(model, epoch, None if epoch_complete else batch)
    base = os.path.join(save_dir, stem)
    manifest = base + MANIFEST_SUFFIX
    # an older manifest under this stem must not vouch for the files about to change
    if os.path.exists(manifest):
        os.remove(manifest)
    files = {}
    for kind, ext, writer in (("params", ".params", net.save_parameters),
                              ("states", ".states", trainer.save_states)):
        path = base + ext
        with atomic_path(path) as tmp:
            writer(tmp)
            size, sha1 = os.path.getsize(tmp), _sha1(tmp)
        files[kind] = {"name": os.path.basename(path), "bytes": size, "sha1": sha1}
    from .._version import __version__
    meta = {
        "format": FORMAT,
        "model": model,
        "epoch": int(epoch),
        "batch": int(batch),
        "epoch_complete": bool(epoch_complete),
        "iteration": int(iteration),
        "reason": reason,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "gluonpose_version": __version__,
        "files": files,
        "rng": rng_state(),
        "progress": progress or {},
        "config": config,
    }
    if extra:
        meta.update(extra)
    write_json(manifest, meta)
    return Checkpoint(manifest, meta)


# ----------------------------------------------------------------------------- find / load

class _BadManifest:
    """A manifest that could not be read (kept in listings so it can be reported)."""

    def __init__(self, manifest_file, error):
        self.manifest_file = os.path.abspath(manifest_file)
        self.error = error

    def sort_key(self):
        # an unreadable manifest is most likely the last one written: sort it newest
        return (float("inf"), 0, 0, os.path.getmtime(self.manifest_file))


def find_checkpoints(save_dir, model=None):
    """Checkpoints in ``save_dir`` (optionally of one model), oldest first.

    Unreadable manifests appear (last) as objects with ``manifest_file`` and
    ``error`` attributes instead of :class:`Checkpoint`, so callers can report
    them.
    """
    found = []
    for path in glob.glob(os.path.join(glob.escape(save_dir), "*" + MANIFEST_SUFFIX)):
        try:
            ckpt = _read_manifest(path)
        except CheckpointError as err:
            found.append(_BadManifest(path, err))
            continue
        if model is not None and ckpt.meta.get("model") != model:
            continue
        found.append(ckpt)
    found.sort(key=lambda c: c.sort_key())
    return found


def _orphans(save_dir, model, newer_than):
    """``.params`` files without a manifest that are newer than ``newer_than`` (a time)."""
    out = []
    prefix = "" if model is None else model + "-"
    for path in glob.glob(os.path.join(glob.escape(save_dir), prefix + "*.params")):
        stem = path[:-len(".params")]
        if not os.path.exists(stem + MANIFEST_SUFFIX) and os.path.getmtime(path) > newer_than:
            out.append(path)
    return sorted(out)


def _manifest_for(path):
    """Manifest path for a checkpoint given as manifest, .params, .states or stem."""
    for ext in (MANIFEST_SUFFIX, ".params", ".states"):
        if path.endswith(ext):
            return path[:-len(ext)] + MANIFEST_SUFFIX
    return path + MANIFEST_SUFFIX


def resolve_resume(resume, save_dir, model=None, warn=print):
    """The checkpoint to resume from: verified, or the newest good one before it.

    Parameters
    ----------
    resume : str
        ``'auto'`` (newest good checkpoint in ``save_dir``), a folder (the same
        in that folder), or a checkpoint's manifest / ``.params`` / ``.states``
        path or stem.
    save_dir : str
        Folder searched by ``'auto'``.
    model : str, optional
        Only consider checkpoints of this model.
    warn : callable
        Receives one line per skipped (partial/corrupt) checkpoint.

    Returns
    -------
    Checkpoint or None
        ``None`` when ``'auto'`` finds no checkpoint at all (a fresh start).

    Raises
    ------
    CheckpointError
        An explicit path that is not a checkpoint, or no good checkpoint is
        left after skipping bad ones.
    """
    if resume == "auto" or os.path.isdir(resume):
        folder = save_dir if resume == "auto" else resume
        if not os.path.isdir(folder):
            return None
        candidates = find_checkpoints(folder, model)
        explicit = False
    else:
        target = os.path.abspath(_manifest_for(resume))
        folder = os.path.dirname(target)
        if not os.path.exists(target):
            stem = target[:-len(MANIFEST_SUFFIX)]
            if os.path.exists(stem + ".params"):
                raise CheckpointError(
                    "%s.params has no manifest %s (an interrupted save, or not a gluonpose "
                    "checkpoint); to start from its weights use --load-params"
                    % (stem, os.path.basename(target)))
            raise CheckpointError("checkpoint not found: %s" % resume)
        explicit = True
        everything = find_checkpoints(folder, None)
        named = [c for c in everything if c.manifest_file == target]
        if named and isinstance(named[0], Checkpoint):
            # the named checkpoint, then the older ones of its model
            key = named[0].sort_key()
            candidates = [c for c in everything if isinstance(c, Checkpoint)
                          and c.meta.get("model") == named[0].meta.get("model")
                          and c.sort_key() <= key]
        else:
            # unreadable manifest: fall back by modification time
            when = os.path.getmtime(target)
            candidates = [c for c in everything if isinstance(c, Checkpoint)
                          and (model is None or c.meta.get("model") == model)
                          and os.path.getmtime(c.manifest_file) < when] + named
    bad = None
    for cand in reversed(candidates):
        if isinstance(cand, _BadManifest):
            warn("warning: skipping %s" % cand.error)
            bad = bad or str(cand.error)
            continue
        try:
            cand.verify()
        except CheckpointError as err:
            warn("warning: %s; falling back to the previous checkpoint" % err)
            bad = bad or str(err)
            continue
        if not explicit:
            for orphan in _orphans(folder, model, os.path.getmtime(cand.manifest_file)):
                warn("warning: ignoring %s: it has no manifest (an interrupted save)" % orphan)
        if bad:
            warn("resuming from the previous good checkpoint %s" % cand.manifest_file)
        return cand
    if bad:
        raise CheckpointError("no usable checkpoint in %s (%s)" % (folder, bad))
    return None


def parse_stem(name):
    """``(model, epoch, batch or None)`` from a checkpoint stem; ``None`` if not one."""
    m = re.match(r"^(.*)-(\d+)(?:-partial(\d+))?$", name)
    if not m:
        return None
    return m.group(1), int(m.group(2)), None if m.group(3) is None else int(m.group(3))
