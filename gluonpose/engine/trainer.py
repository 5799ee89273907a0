"""The training engine behind ``gluonpose train`` and ``scripts/train_simple_pose.py``.

The loop is GluonCV's ``train_simple_pose.py`` (Adam, weighted L2 on Gaussian
heatmaps, ``split_and_load`` over the devices, ``trainer.step(total batch)``,
GluonCV's LR schedule and checkpoint names) with what a long run needs:

* exact resume, at epoch boundaries and mid-epoch: parameters, trainer
  (optimizer) states, counters, Python/NumPy RNG states, partial-epoch
  statistics and the configuration are checkpointed together;
* SIGINT/SIGTERM finish the current step, checkpoint and exit;
* a JSON-lines log and a PNG of the curves, tqdm progress.

Top-down and bottom-up (OpenPose) models share the loop: the model's spec
selects the :mod:`~gluonpose.engine.supervision` (targets, losses, metric),
which also names the training dataset (person crops or whole images) and the
training transform; a bottom-up run logs each stage's PAF and heatmap loss.

Reproducibility, and what cannot be captured
--------------------------------------------
All data randomness comes from generators keyed by ``(seed, epoch, index)``
(:mod:`gluonpose.engine.data`), so it does not depend on worker processes or
on where a run was resumed. Python's ``random`` and NumPy's global state are
saved and restored anyway (for user code that draws from them). MXNet's own
generators (initialisers, dropout, ``mx.nd.random``) have no state getter in
MXNet 1.x, so they cannot be saved; the engine instead reseeds them from
``(seed, epoch)`` at the start of every epoch and from ``(seed, epoch, batch)``
when resuming inside an epoch. The networks of the zoo draw nothing from MXNet
during training, so a resumed run reproduces the uninterrupted one exactly
(same parameters on the CPU); a model with dropout resumes exactly at epoch
boundaries only.

Devices and kvstores
--------------------
``--batch-size`` is per device; the batch of ``batch x devices`` is split
with ``gluon.utils.split_and_load`` and BatchNorm uses per-device statistics
(as GluonCV: no SyncBN). ``--kvstore`` goes to ``gluon.Trainer``. With a
``dist_*`` kvstore (MXNet's parameter-server launcher) every worker takes a
disjoint shard of each epoch's permutation, the optimizer runs on the
workers (so its state can be checkpointed) and is normalised by the global
batch, and only rank 0 writes checkpoints.
"""
import json
import math
import os
import random
import time
import warnings

import mxnet as mx
import numpy as np
from mxnet import autograd, gluon

from ..model_zoo.spec import apply_lr_mult
from ..utils.lr_scheduler import LRScheduler, LRSequential
from . import checkpoint as ckpt_mod
from .config import RESULT_KEYS, TRAIN_DEFAULTS, apply_spec_defaults, context_names, \
    model_spec, parse_contexts, parse_floats, parse_ints, parse_lr_mult, parse_size, plain_number, \
    resolve_data
from .data import EpochBatchSampler, InMemoryDataset, KeyedTransformDataset, SampleRNG, \
    SubsetDataset
from .records import TrainingLog, make_logger
from .signals import GracefulStop
from .supervision import Supervision, supervision_class

__all__ = ["train", "resume_config", "TrainResult", "build_lr_scheduler", "derive_seed",
           "build_net", "forward_backward", "check_heatmap_size", "check_output_sizes"]


def derive_seed(*key):
    """A 31-bit seed from a tuple of ints (stable across runs and platforms)."""
    return int(np.random.SeedSequence([int(k) for k in key]).generate_state(1)[0] & 0x7FFFFFFF)


class TrainResult:
    """What :func:`train` leaves behind.

    Attributes
    ----------
    net : mxnet.gluon.HybridBlock
        The trained network (on the training devices).
    checkpoint : Checkpoint or None
        The last checkpoint written.
    log_file, plot_file : str
        The JSON-lines log and the curves PNG.
    stopped : str or None
        ``None`` when all epochs ran; ``'SIGINT'``/``'SIGTERM'`` or
        ``'stop_after'`` otherwise.
    epochs : list of dict
        The epoch records.
    config : dict
        The configuration the run used.
    """

    def __init__(self, net, checkpoint, log_file, plot_file, stopped, epochs, config):
        self.net = net
        self.checkpoint = checkpoint
        self.log_file = log_file
        self.plot_file = plot_file
        self.stopped = stopped
        self.epochs = epochs
        self.config = config

    @property
    def params_file(self):
        """The ``.params`` file of the last checkpoint (``None`` if none was written)."""
        return None if self.checkpoint is None else self.checkpoint.params_file


# ----------------------------------------------------------------------------- pieces

def build_lr_scheduler(cfg, iters_per_epoch):
    """GluonCV's schedule: linear warmup from 0, then ``lr_mode`` to 0.

    ``--lr-decay-period k`` decays every ``k`` epochs, else at ``--lr-decay-epoch``.
    """
    epochs, warmup = int(cfg["num_epochs"]), int(cfg["warmup_epochs"])
    if cfg["lr_decay_period"] and int(cfg["lr_decay_period"]) > 0:
        period = int(cfg["lr_decay_period"])
        decay = list(range(period, epochs, period))
    else:
        decay = parse_ints(cfg["lr_decay_epoch"], "--lr-decay-epoch")
    return LRSequential([
        LRScheduler("linear", base_lr=0, target_lr=cfg["lr"], nepochs=warmup,
                    iters_per_epoch=iters_per_epoch),
        LRScheduler(cfg["lr_mode"], base_lr=cfg["lr"], target_lr=0,
                    nepochs=max(epochs - warmup, 0), iters_per_epoch=iters_per_epoch,
                    step_epoch=[e - warmup for e in decay], step_factor=cfg["lr_decay"],
                    power=2),
    ])


def build_net(cfg, ctxs, num_joints=None):
    """The model of ``cfg``, initialised as GluonCV's training script does.

    ``num_joints`` goes to the model (heatmap channels); ``None`` passes none
    (bottom-up models, whose map counts are fixed by their spec).

    Pretrained: nothing to initialise. Pretrained base: only the parameters the
    backbone did not bring (the head, with its own Normal(0.001) initialisers).
    Otherwise everything with ``MSRAPrelu`` (the head still uses its own).
    """
    from ..model_zoo import get_model
    extra = {} if num_joints is None else {"num_joints": num_joints}
    net = get_model(cfg["model"], **extra,
                    pretrained=bool(cfg["use_pretrained"]),
                    pretrained_base=bool(cfg["use_pretrained_base"]),
                    pretrained_ctx=ctxs, ctx=ctxs)
    if cfg["dtype"] != "float32":
        net.cast(cfg["dtype"])
    if not cfg["use_pretrained"]:
        with warnings.catch_warnings():
            # the pretrained backbone's parameters are already initialised
            warnings.simplefilter("ignore")
            net.collect_params().initialize(mx.init.MSRAPrelu(), ctx=ctxs)
    if cfg.get("load_params"):
        net.load_parameters(os.path.expanduser(cfg["load_params"]), ctx=ctxs,
                            cast_dtype=cfg["dtype"] != "float32")
    return net


def check_output_sizes(net, spec, ctx, image_size, dtype="float32"):
    """The heatmap size of every supervised output for ``image_size`` (they must agree).

    Parameters
    ----------
    net : HybridBlock
        Initialised on ``ctx``.
    spec : TopDownSpec
        The model's contract: stride, size multiple, supervised outputs.
    ctx : Context
    image_size : tuple of int
        ``(H, W)``.
    dtype : str

    Returns
    -------
    tuple of int
        ``(h, w)`` = input size / the spec's stride.

    Raises
    ------
    ValueError
        The input size is not a multiple the model allows, or an output's
        size differs from ``input / stride`` (targets would not match).
    """
    want = spec.heatmap_size(image_size)            # checks the size multiple
    h, w = image_size
    out = net(mx.nd.zeros((1, 3, h, w), ctx=ctx, dtype=dtype))
    for o, arr in zip(spec.outputs, spec.supervised(out)):
        got = tuple(arr.shape[2:])
        if got != want:
            raise ValueError("--input-size %d,%d: output %r of the network is %dx%d, the "
                             "targets would be %dx%d (input / %d); use H and W that are "
                             "multiples of %d" % (h, w, o.name, got[0], got[1], want[0],
                                                  want[1], spec.stride, spec.size_multiple))
    return want


def check_heatmap_size(net, ctx, image_size, dtype="float32"):
    """:func:`check_output_sizes` with the network's own spec (kept for callers)."""
    from ..model_zoo import spec_of
    return check_output_sizes(net, spec_of(net), ctx, image_size, dtype)


def _split(arrays, ctxs):
    """``split_and_load`` of one array, or of each array of a list (per device lists)."""
    if isinstance(arrays, (list, tuple)):
        parts = [gluon.utils.split_and_load(a, ctxs, batch_axis=0, even_split=False)
                 for a in arrays]
        return [list(p) for p in zip(*parts)]
    return gluon.utils.split_and_load(arrays, ctxs, batch_axis=0, even_split=False)


def forward_backward(net, loss_fn, batch, ctxs, dtype="float32"):
    """One recorded forward and backward over the devices (no optimizer step).

    Parameters
    ----------
    net : HybridBlock
    loss_fn : Supervision or Loss
        A :class:`~gluonpose.engine.supervision.Supervision` (the spec's
        outputs, losses and weights), or a plain Gluon loss called as
        ``loss_fn(pred, target, weight)`` on a single-output network.
    batch : sequence
        ``(data, target, weight, ...)`` stacked over the whole batch; with
        several supervised outputs ``target`` and ``weight`` are lists (a
        bottom-up batch: ``target`` is ``[heatmaps, pafs]``, ``weight`` the mask).
    ctxs : list of Context
        The batch is split along axis 0 (``gluon.utils.split_and_load``).
    dtype : str
        Network dtype.

    Returns
    -------
    targets, outputs, losses : list
        Per device: targets, network outputs and the total loss ``(n,)``.
    terms : list of list of NDArray
        Per device, the loss of every supervised output (before weighting).
    """
    data = _split(batch[0], ctxs)
    target = _split(batch[1], ctxs)
    weight = _split(batch[2], ctxs)
    with autograd.record():
        outputs = [net(x.astype(dtype, copy=False)) for x in data]
        if isinstance(loss_fn, Supervision):
            pairs = [loss_fn.loss(o, t, w) for o, t, w in zip(outputs, target, weight)]
        else:
            pairs = [(loss_fn(o.astype("float32", copy=False), t, w),) * 2
                     for o, t, w in zip(outputs, target, weight)]
        losses = [p[0] for p in pairs]
    autograd.backward(losses)
    terms = [p[1] if isinstance(p[1], list) else [p[1]] for p in pairs]
    return target, outputs, losses, terms


# ----------------------------------------------------------------------------- engine

class _EpochStats:
    """Running sums of one epoch (restorable from a mid-epoch checkpoint)."""

    def __init__(self, state=None):
        state = state or {}
        self.loss_sum = float(state.get("loss_sum", 0.0))
        # per supervised output (multi-stage models); empty for a single output
        self.term_sums = [float(v) for v in state.get("term_sums", [])]
        self.samples = int(state.get("samples", 0))
        self.acc_sum = float(state.get("acc_sum", 0.0))
        self.acc_num = int(state.get("acc_num", 0))
        self.time = float(state.get("time", 0.0))

    def to_dict(self):
        return {"loss_sum": self.loss_sum, "samples": self.samples, "acc_sum": self.acc_sum,
                "acc_num": self.acc_num, "time": self.time, "term_sums": list(self.term_sums)}

    @property
    def loss(self):
        return self.loss_sum / self.samples if self.samples else float("nan")

    @property
    def accuracy(self):
        return self.acc_sum / self.acc_num if self.acc_num else float("nan")


class _Engine:
    def __init__(self, cfg, dataset=None, logger=None, echo=print, resume_from=None):
        self.cfg = cfg
        self.echo = echo
        self._given_dataset = dataset
        self.logger = logger
        self._resume_given = resume_from

    # -- set-up ------------------------------------------------------------------------
    def _resolve_resume(self):
        cfg = self.cfg
        if self._resume_given is not None:
            return self._resume_given
        if not cfg.get("resume"):
            return None
        found = ckpt_mod.resolve_resume(str(cfg["resume"]), os.path.expanduser(cfg["save_dir"]),
                                        model=cfg["model"], warn=self.echo)
        if found is None:
            self.echo("no checkpoint in %s: starting from scratch" % cfg["save_dir"])
            return None
        stored = found.config
        changed = [k for k in RESULT_KEYS if k in stored and stored[k] != cfg.get(k)]
        if changed:
            self.echo("warning: resuming %s with a different %s than it was trained with; "
                      "the result will not equal an uninterrupted run"
                      % (found.name, ", ".join("--" + k.replace("_", "-") for k in changed)))
        return found

    def setup(self):
        cfg = self.cfg
        if not cfg.get("model"):
            raise ValueError("--model is required, e.g. --model simple_pose_resnet18_v1b")
        self.spec = model_spec(cfg["model"])  # raises the zoo's error naming close matches
        # top-down or bottom-up: targets, losses, dataset and transform come from here
        self.supervision_cls = supervision_class(self.spec)
        apply_spec_defaults(cfg, self.spec, bottom_up=True)
        self.ctxs = parse_contexts(cfg.get("ctx"), cfg.get("gpus"), cfg.get("num_gpus"))
        self.image_size = parse_size(cfg["input_size"],
                                     square=self.supervision_cls.square_input)
        if self.supervision_cls.square_input and self.image_size[0] != self.image_size[1]:
            raise ValueError("--input-size %s: %s models train on a square input; give one "
                             "size such as --input-size %d"
                             % (cfg["input_size"], self.spec.kind.replace("_", "-"),
                                self.spec.input_size[0]))
        self.mean = parse_floats(cfg["mean"], 3, "--mean")
        self.std = parse_floats(cfg["std"], 3, "--std")
        if int(cfg["batch_size"]) <= 0:
            raise ValueError("--batch-size must be positive, got %s" % cfg["batch_size"])
        self.save_dir = os.path.abspath(os.path.expanduser(cfg["save_dir"]))
        self.out_dir = os.path.abspath(os.path.expanduser(cfg["output_dir"] or self.save_dir))
        for key in ("use_pretrained", "use_pretrained_base"):
            if cfg[key] and cfg.get("load_params"):
                raise ValueError("--load-params and --%s exclude each other"
                                 % key.replace("_", "-"))

        self.dataset = self._dataset()
        self.schema = self.dataset.schema
        num_joints = cfg["num_joints"] or self.schema.num_joints
        if int(num_joints) != self.schema.num_joints:
            raise ValueError("--num-joints %s, but the dataset has %d joints"
                             % (num_joints, self.schema.num_joints))
        self.num_joints = int(num_joints)
        self.total_batch = int(cfg["batch_size"]) * len(self.ctxs)
        self.kvstore, self.shard = cfg["kvstore"], (0, 1)
        if str(cfg["kvstore"]).startswith("dist"):
            # create it here to learn this worker's rank: the data is sharded by rank and
            # the gradient (summed over workers) is averaged over the global batch
            self.kvstore = mx.kv.create(cfg["kvstore"])
            self.shard = (self.kvstore.rank, self.kvstore.num_workers)
        self.iters_per_epoch = len(self.dataset) // self.shard[1] // self.total_batch
        if self.iters_per_epoch == 0:
            raise ValueError("%d training instances give no full batch of %d (%d per device x "
                             "%d devices); lower --batch-size" % (
                                 len(self.dataset), self.total_batch, int(cfg["batch_size"]),
                                 len(self.ctxs)))

        self.resume_from = self._resolve_resume()
        # seed before building: MXNet's initialisers draw from its global generator
        seed = int(cfg["seed"])
        random.seed(seed)
        np.random.seed(seed)
        mx.random.seed(seed)
        self.net = build_net(cfg, self.ctxs, **self.supervision_cls.net_kwargs(self.num_joints))
        # per-parameter learning-rate multipliers (--lr-mult, else the spec's rules, e.g.
        # OpenPose's x1/x2 trunk and x4/x8 later stages); read by gluon.Trainer below
        rules = parse_lr_mult(cfg.get("lr_mult")) or tuple(getattr(self.spec, "lr_mult", ()))
        if rules:
            applied = apply_lr_mult(self.net, rules)
            counts = {}
            for mult in applied.values():
                counts[mult] = counts.get(mult, 0) + 1
            self.info("learning-rate multipliers: %s" % ", ".join(
                "x%g on %d parameters" % (m, n) for m, n in sorted(counts.items())))
        self.heatmap_size = check_output_sizes(self.net, self.spec, self.ctxs[0],
                                               self.image_size, cfg["dtype"])
        if cfg["mode"] == "hybrid":
            self.net.hybridize(static_alloc=True, static_shape=True)

        self.loader, self.sampler = self._loader()
        self.sched = sched = build_lr_scheduler(cfg, self.iters_per_epoch)
        # learning_rate = the schedule's own base: MXNet would otherwise "overwrite" it
        # (a no-op for gluonpose schedules, but a warning each run)
        opt_params = {"learning_rate": sched.base_lr, "wd": cfg["wd"], "lr_scheduler": sched}
        if cfg["optimizer"] == "sgd":
            opt_params["momentum"] = cfg["momentum"]
        if cfg["dtype"] != "float32":
            opt_params["multi_precision"] = True
        # distributed: update on the workers (identical updates from the summed gradients)
        # so the optimizer state is local and can be checkpointed
        update_on_kv = False if self.shard[1] > 1 or str(cfg["kvstore"]).startswith("dist") \
            else None
        self.trainer = gluon.Trainer(self.net.collect_params(), cfg["optimizer"], opt_params,
                                     kvstore=self.kvstore, update_on_kvstore=update_on_kv)
        self.loss_fn = self.supervision
        self.metric = self.supervision.make_metric()

    def _dataset(self):
        cfg = self.cfg
        if self._given_dataset is not None:
            ds = self._given_dataset
            self.data_root, self.split = getattr(ds, "_root", None), cfg["split"]
        else:
            self.data_root, self.split = resolve_data(cfg["data_dir"], cfg["split"],
                                                      TRAIN_DEFAULTS["split"])
            ds = self.supervision_cls.training_dataset(self.data_root, self.split)
        if cfg.get("max_samples"):
            ds = SubsetDataset(ds, int(cfg["max_samples"]))
        if cfg.get("cache_images"):
            ds = InMemoryDataset(ds).preload()
        if len(ds) == 0:
            raise ValueError("the training split %s has no usable person instance" % self.split)
        return ds

    def _loader(self):
        cfg = self.cfg
        self.supervision = Supervision.for_spec(self.spec, self.image_size, self.heatmap_size,
                                                codec=cfg["codec"],
                                                sigma=plain_number(cfg["sigma"]))
        self.codec = self.supervision.codec
        rng = SampleRNG()
        transform = self.supervision.train_transform(cfg, self.mean, self.std, self.schema, rng)
        keyed = KeyedTransformDataset(self.dataset, transform, rng, seed=int(cfg["seed"]))
        sampler = EpochBatchSampler(len(self.dataset), self.total_batch, seed=int(cfg["seed"]),
                                    shuffle=True, last_batch="discard", shard=self.shard)
        workers = max(int(cfg["num_data_workers"]), 0)
        loader = gluon.data.DataLoader(keyed, batch_sampler=sampler, num_workers=workers,
                                       thread_pool=False)
        return loader, sampler

    # -- state -------------------------------------------------------------------------
    def _restore(self, found):
        """Load a checkpoint into net/trainer; returns (epoch, batch, iteration, stats, wall)."""
        self.net.load_parameters(found.params_file, ctx=self.ctxs)
        self.trainer.load_states(found.states_file)
        # the states file carries a pickled optimizer, schedule included; the run's own
        # schedule and weight decay apply (identical unless --num-epochs/--lr/... changed)
        opt = self.trainer._optimizer
        opt.lr_scheduler = self.sched
        opt.wd = float(self.cfg["wd"])
        ckpt_mod.set_rng_state(found.meta.get("rng"))
        prog = found.meta.get("progress", {})
        if found.epoch_complete:
            epoch, batch, stats = found.epoch + 1, 0, _EpochStats()
        else:
            epoch, batch, stats = found.epoch, found.batch, _EpochStats(prog.get("epoch_stats"))
            self.metric.sum_metric = self.metric.global_sum_metric = stats.acc_sum
            self.metric.num_inst = self.metric.global_num_inst = stats.acc_num
        return epoch, batch, found.iteration, stats, float(prog.get("wall_time", 0.0))

    def _save(self, epoch, batch, complete, iteration, stats, wall, reason):
        if self.shard[0] != 0:
            # distributed run: the parameters are the same on every worker; rank 0 writes
            return None
        progress = {"epoch_stats": stats.to_dict(), "wall_time": wall}
        saved = ckpt_mod.save_checkpoint(
            self.save_dir, self.cfg["model"], self.net, self.trainer, epoch, batch, complete,
            iteration, self.cfg, progress=progress, reason=reason,
            extra={"contexts": context_names(self.ctxs),
                   "image_size": list(self.image_size),
                   "heatmap_size": list(self.heatmap_size)})
        self.log.append({"type": "event", "event": "checkpoint", "reason": reason,
                         "epoch": epoch, "batch": batch, "iterations": iteration,
                         "file": saved.params_file})
        return saved

    # -- loop --------------------------------------------------------------------------
    def run(self):
        cfg = self.cfg
        from tqdm import tqdm
        os.makedirs(self.out_dir, exist_ok=True)
        suffix = "" if self.shard[0] == 0 else ".rank%d" % self.shard[0]
        self.log = TrainingLog(os.path.join(self.out_dir, "train_log%s.jsonl" % suffix),
                               os.path.join(self.out_dir, "train_curves%s.png" % suffix))
        epoch, batch0, iteration, stats, wall = 0, 0, 0, _EpochStats(), 0.0
        if self.resume_from is not None:
            epoch, batch0, iteration, stats, wall = self._restore(self.resume_from)
            self.log.load_until(iteration)
            self.log.append({"type": "event", "event": "resume", "epoch": epoch,
                             "batch": batch0, "iterations": iteration,
                             "file": self.resume_from.manifest_file}, flush=False)
            self.info("resumed from %s: epoch %d, batch %d, iteration %d"
                      % (self.resume_from.name, epoch, batch0, iteration))
        else:
            self.log.records = []
        last_ckpt = self.resume_from
        stopped = None
        num_epochs = int(cfg["num_epochs"])
        stop_epoch = num_epochs
        if cfg.get("stop_after"):
            stop_epoch = min(num_epochs, epoch + int(cfg["stop_after"]))
        nb, total = self.iters_per_epoch, self.total_batch
        interval = max(int(cfg["log_interval"] or 0), 0)
        bar_on = bool(cfg.get("progress", True))

        with GracefulStop(on_request=lambda s: self.info(
                "%s received: finishing the current step, then saving a checkpoint" % s)) \
                as stop:
            while epoch < stop_epoch:
                self.sampler.set_epoch(epoch, batch0)
                mx.random.seed(derive_seed(cfg["seed"], epoch, batch0))
                if batch0 == 0:
                    self.metric.reset()
                    stats = _EpochStats()
                bar = tqdm(total=nb, initial=batch0, desc="epoch %d/%d" % (epoch, num_epochs),
                           unit="batch", leave=False, disable=not bar_on, dynamic_ncols=True)
                tic = time.time()
                b = batch0
                for b, batch in enumerate(self.loader, start=batch0):
                    targets, outputs, losses, terms = forward_backward(
                        self.net, self.loss_fn, batch, self.ctxs, cfg["dtype"])
                    self.trainer.step(total * self.shard[1])
                    iteration += 1
                    # the metric's asnumpy() waits for the step; cheap numpy after that
                    pairs = [self.supervision.metric_pair(o, t) for o, t in zip(outputs, targets)]
                    self.metric.update([p[0] for p in pairs], [p[1] for p in pairs])
                    # one read (one engine sync) for all devices' losses
                    sums = [mx.nd.add_n(*[l.sum().as_in_context(mx.cpu()) for l in losses])]
                    if self.supervision.multi:
                        sums += [mx.nd.add_n(*[dev[k].sum().as_in_context(mx.cpu())
                                               for dev in terms])
                                 for k in range(len(self.supervision.names))]
                    read = mx.nd.stack(*sums).asnumpy().astype(float)
                    stats.loss_sum += float(read[0])
                    if self.supervision.multi:
                        if not stats.term_sums:
                            stats.term_sums = [0.0] * (len(read) - 1)
                        stats.term_sums = [a + float(b) for a, b in zip(stats.term_sums, read[1:])]
                    stats.samples += int(batch[0].shape[0])
                    stats.acc_sum, stats.acc_num = self.metric.sum_metric, self.metric.num_inst
                    bar.update(1)
                    if bar_on and (b % 5 == 0 or b == nb - 1):
                        bar.set_postfix(loss="%.3g" % stats.loss, acc="%.3f" % stats.accuracy,
                                        refresh=False)
                    if interval and (b + 1) % interval == 0:
                        elapsed = stats.time + time.time() - tic
                        rec = self._record("batch", epoch, iteration, stats, elapsed,
                                           wall + time.time() - tic, batch=b + 1)
                        self.log.append(rec)
                        self.info("Epoch[%d] Batch [%d]\tSpeed: %.1f samples/sec\tloss=%.6f\t"
                                  "lr=%g\theatmap_accuracy=%.4f"
                                  % (epoch, b + 1, rec["samples_per_sec"], rec["loss"],
                                     rec["lr"], rec["heatmap_accuracy"]))
                    if stop.requested and b + 1 < nb:
                        dt = time.time() - tic
                        stats.time += dt
                        wall += dt
                        bar.close()
                        last_ckpt = self._save(epoch, b + 1, False, iteration, stats, wall,
                                               stop.requested) or last_ckpt
                        stopped = stop.requested
                        break
                bar.close()
                if stopped:
                    break
                dt = time.time() - tic
                stats.time += dt
                wall += dt
                rec = self._record("epoch", epoch, iteration, stats, stats.time, wall)
                self.log.append(rec)
                self.info("[Epoch %d] loss=%.6f heatmap_accuracy=%.4f lr=%g speed=%.1f samples/s "
                          "time=%.1fs" % (epoch, rec["loss"], rec["heatmap_accuracy"], rec["lr"],
                                          rec["samples_per_sec"], rec["epoch_time"]))
                last = epoch == num_epochs - 1
                due = cfg["save_frequency"] and (epoch + 1) % int(cfg["save_frequency"]) == 0
                early = stop.requested or (epoch + 1 == stop_epoch and not last)
                if due or last or early:
                    reason = stop.requested or ("stop_after" if early and not due else "epoch")
                    last_ckpt = self._save(epoch, nb, True, iteration, stats, wall,
                                           reason) or last_ckpt
                epoch += 1
                batch0 = 0
                if stop.requested:
                    stopped = stop.requested
                    break
            else:
                if epoch < num_epochs:
                    stopped = "stop_after"
        if stopped:
            where = last_ckpt.params_file if last_ckpt is not None else "none written"
            when = ("after epoch %d (--stop-after)" % (epoch - 1) if stopped == "stop_after"
                    else "by %s in epoch %d" % (stopped, epoch))
            self.info("stopped %s; checkpoint: %s; continue with --resume auto --save-dir %s"
                      % (when, where, self.save_dir))
        return TrainResult(self.net, last_ckpt, self.log.path, self.log.plot_path, stopped,
                           self.log.epochs(), cfg)

    def _record(self, kind, epoch, iteration, stats, elapsed, wall, batch=None):
        rec = {"type": kind, "epoch": epoch}
        if batch is not None:
            rec["batch"] = batch
        rec.update({
            "iterations": iteration,
            "samples": stats.samples,
            "loss": _finite(stats.loss),
        })
        for name, value in zip(self.supervision.names if self.supervision.multi else (),
                               stats.term_sums):
            # each supervised output's mean loss (before its weight)
            rec["loss_" + name] = _finite(value / stats.samples if stats.samples else
                                          float("nan"))
        rec.update({
            "heatmap_accuracy": _finite(stats.accuracy),
            "lr": float(self.trainer.learning_rate),
            "samples_per_sec": stats.samples / elapsed if elapsed > 0 else None,
            "epoch_time": elapsed,
            "wall_time": wall,
        })
        return rec

    def info(self, msg):
        if self.logger is not None:
            self.logger.info(msg)
        else:
            self.echo(msg)


def _finite(x):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def resume_config(overrides, echo=print):
    """The configuration of a resumed run and its checkpoint.

    Options not given explicitly come from the checkpoint's stored
    configuration (so ``gluonpose train --resume auto --save-dir DIR`` is
    enough); explicit ones win, with a warning when they change the result.

    Parameters
    ----------
    overrides : dict
        The explicitly given options (must include ``resume``).
    echo : callable
        Receives warnings about skipped checkpoints.

    Returns
    -------
    cfg : dict
    checkpoint : Checkpoint or None
        ``None`` when ``--resume auto`` found nothing (a fresh run).
    """
    from .config import make_config
    cfg = make_config(TRAIN_DEFAULTS, overrides)
    found = ckpt_mod.resolve_resume(str(cfg["resume"]),
                                    os.path.expanduser(cfg["save_dir"]),
                                    model=overrides.get("model"), warn=echo)
    if found is None:
        echo("no checkpoint in %s: starting from scratch" % cfg["save_dir"])
        return cfg, None
    base = {k: v for k, v in found.config.items() if k not in ("resume", "stop_after")}
    cfg = make_config(TRAIN_DEFAULTS, overrides, base=base)
    changed = [k for k in RESULT_KEYS if k in overrides and k in base
               and overrides[k] != base[k]]
    if changed:
        echo("warning: resuming %s with a different %s than it was trained with; the result "
             "will not equal an uninterrupted run"
             % (found.name, ", ".join("--" + k.replace("_", "-") for k in changed)))
    return cfg, found


def train(cfg, dataset=None, echo=print, resume_from=None, console=True):
    """Train a pose model; the engine of ``gluonpose train``.

    Parameters
    ----------
    cfg : dict
        A configuration from :func:`gluonpose.engine.config.make_config` with
        :data:`~gluonpose.engine.config.TRAIN_DEFAULTS`.
    dataset : Dataset, optional
        Use this keypoint dataset (items ``(img, label, img_id)``, a
        ``schema``) instead of reading ``data_dir``/``split``.
    echo : callable
        Where one-line notices go before the run's logger exists.
    resume_from : Checkpoint, optional
        An already resolved checkpoint (see :func:`resume_config`); otherwise
        ``cfg['resume']`` is resolved here.
    console : bool
        Also print the log lines (they always go to ``logging_file`` if set).

    Returns
    -------
    TrainResult

    Raises
    ------
    ValueError, OSError
        Bad options or data (one-line messages).
    """
    engine = _Engine(cfg, dataset=dataset, echo=echo, resume_from=resume_from)
    out_dir = os.path.abspath(os.path.expanduser(cfg["output_dir"] or cfg["save_dir"]))
    log_file = cfg.get("logging_file")
    if log_file and not os.path.isabs(os.path.expanduser(log_file)):
        log_file = os.path.join(out_dir, log_file)
    engine.setup()
    engine.logger = make_logger("gluonpose.train", log_file, console=console)
    engine.info("config: %s" % json.dumps(cfg, sort_keys=True))
    engine.info("devices: %s; %d instances, %d iterations/epoch of %d (%d per device)%s"
                % (", ".join(context_names(engine.ctxs)), len(engine.dataset),
                   engine.iters_per_epoch, engine.total_batch, int(cfg["batch_size"]),
                   "; worker %d of %d (%s)" % (engine.shard + (cfg["kvstore"],))
                   if engine.shard[1] > 1 else ""))
    return engine.run()
