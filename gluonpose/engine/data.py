"""Deterministic training data: an epoch-seeded batch order and per-sample augmentation RNG.

Why not ``DataLoader(shuffle=True)`` and the global RNGs: the global state of
``random``/``numpy`` lives in whichever process runs the transform (a forked
worker, which one depends on scheduling), so a run cannot be replayed and a
resumed run cannot continue the same stream. Here every random number comes
from a generator keyed by ``(seed, epoch, index)``:

* :class:`EpochBatchSampler` permutes the instances with ``(seed, epoch)`` and
  yields batches of ``(epoch, index)`` keys; it can start at any batch of an
  epoch (mid-epoch resume skips batches without loading them);
* :class:`KeyedTransformDataset` reseeds the transform's RNG from
  ``(seed, epoch, index)`` before each item.

So the samples of a run depend only on the seed, never on the number of
data-loader workers, the process that made them, or where a run was resumed.
"""
import numpy as np
from mxnet.gluon.data import Dataset

__all__ = ["SampleRNG", "EpochBatchSampler", "KeyedTransformDataset", "InMemoryDataset",
           "SubsetDataset"]

# stream tags keep the order and augmentation streams independent of each other
_ORDER_STREAM = 1
_AUGMENT_STREAM = 2


class SampleRNG:
    """The two draws the pose presets need (``normal``, ``uniform``), reseedable per item."""

    def __init__(self, *key):
        self._gen = np.random.default_rng([int(k) for k in key] or [0])

    def reseed(self, *key):
        """Restart the stream from a tuple of non-negative ints."""
        self._gen = np.random.default_rng([int(k) for k in key])

    def normal(self):
        """One standard-normal draw."""
        return self._gen.standard_normal()

    def uniform(self):
        """One draw from U[0, 1)."""
        return self._gen.random()

    random = uniform


class EpochBatchSampler:
    """Batches of ``(epoch, index)`` keys in an order fixed by ``(seed, epoch)``.

    Parameters
    ----------
    length : int
        Number of instances.
    batch_size : int
        Total batch size (all devices).
    seed : int
        Run seed.
    shuffle : bool
        Permute per epoch (else sequential).
    last_batch : {'discard', 'keep'}
        What to do with a final incomplete batch (training discards it, as GluonCV).
    shard : tuple of int, optional
        ``(rank, num_workers)`` for distributed training: every worker draws the
        same permutation and takes positions ``rank, rank + num_workers, ...``
        (the same count for every worker), so the workers see disjoint data.
    """

    def __init__(self, length, batch_size, seed=0, shuffle=True, last_batch="discard",
                 shard=(0, 1)):
        if last_batch not in ("discard", "keep"):
            raise ValueError("last_batch must be 'discard' or 'keep'")
        rank, workers = int(shard[0]), int(shard[1])
        if workers < 1 or not 0 <= rank < workers:
            raise ValueError("shard must be (rank, num_workers) with 0 <= rank < num_workers")
        self.full_length = int(length)
        self.shard = (rank, workers)
        length = int(length) // workers
        self.length = int(length)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.shuffle = shuffle
        self.last_batch = last_batch
        self.epoch = 0
        self.start_batch = 0

    def set_epoch(self, epoch, start_batch=0):
        """Select the epoch to iterate and the first batch to yield."""
        self.epoch = int(epoch)
        self.start_batch = int(start_batch)

    def order(self, epoch):
        """This shard's instance order in ``epoch`` (numpy int64 array)."""
        if self.shuffle:
            order = np.random.default_rng([self.seed, _ORDER_STREAM, int(epoch)]).permutation(
                self.full_length)
        else:
            order = np.arange(self.full_length)
        rank, workers = self.shard
        return order[rank::workers][:self.length]

    def __len__(self):
        """Batches per full epoch."""
        full = self.length // self.batch_size
        if self.last_batch == "keep" and self.length % self.batch_size:
            full += 1
        return full

    def __iter__(self):
        order = self.order(self.epoch).tolist()
        for b in range(self.start_batch, len(self)):
            idx = order[b * self.batch_size:(b + 1) * self.batch_size]
            yield [(self.epoch, i) for i in idx]


class KeyedTransformDataset(Dataset):
    """Apply a random transform to ``base[index]`` with an RNG keyed by (seed, epoch, index).

    Parameters
    ----------
    base : Dataset
        Items ``(img, label, img_id)``.
    transform : callable
        ``transform(img, label, img_id)``; it must draw its randomness from
        ``rng`` (pass the same object as the preset's ``rng=``).
    rng : SampleRNG
        Reseeded before every item.
    seed : int
        Run seed.
    """

    def __init__(self, base, transform, rng, seed=0):
        self._base = base
        self._transform = transform
        self._rng = rng
        self._seed = int(seed)

    def __len__(self):
        return len(self._base)

    def __getitem__(self, key):
        if isinstance(key, tuple):
            epoch, idx = key
        else:
            epoch, idx = 0, key
        self._rng.reseed(self._seed, _AUGMENT_STREAM, int(epoch), int(idx))
        return self._transform(*self._base[int(idx)])


class InMemoryDataset(Dataset):
    """Decode each image once and keep it (small sets, benchmarks).

    Items of ``base`` sharing an image share the decoded array. The cache is
    filled lazily, so forked data-loader workers each hold their own copy of
    what they decoded; call :meth:`preload` before creating workers to share
    one copy instead.
    """

    def __init__(self, base):
        self._base = base
        self._cache = {}

    def __len__(self):
        return len(self._base)

    def _key(self, idx):
        path = getattr(self._base, "image_path", None)
        return path(idx) if path is not None else idx

    def preload(self):
        """Decode every image now."""
        for i in range(len(self)):
            self[i]
        return self

    def __getitem__(self, idx):
        key = self._key(idx)
        img = self._cache.get(key)
        if img is None:
            # (img, label, img_id) for top-down sets, (img, label) for bottom-up ones
            item = tuple(self._base[idx])
            self._arity = len(item)
            self._cache[key] = item[0]
            return item
        label = self._base.label(idx) if hasattr(self._base, "label") else self._base[idx][1]
        if getattr(self, "_arity", 3) == 2:
            return img, label
        return img, label, label.get("image_id", idx) if isinstance(label, dict) else idx

    def __getattr__(self, name):
        # records, schema, coco, label(), ... of the wrapped dataset
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._base, name)


class SubsetDataset(Dataset):
    """The first ``count`` items of a dataset (smoke tests, tiny runs)."""

    def __init__(self, base, count):
        self._base = base
        self._count = min(int(count), len(base))

    def __len__(self):
        return self._count

    def __getitem__(self, idx):
        if not 0 <= idx < self._count:
            raise IndexError(idx)
        return self._base[idx]

    @property
    def records(self):
        """Labels of the kept items."""
        return self._base.records[:self._count]

    def label(self, idx):
        """Label of item ``idx``."""
        return self._base.label(idx)

    def image_path(self, idx):
        """Image file of item ``idx``."""
        return self._base.image_path(idx)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._base, name)

