"""Training records: a JSON-lines log and a PNG of the learning curves.

Both files are rewritten atomically from the records held in memory, so a
reader never sees a torn line and a resumed run simply continues the list
(records after the resume point, from the interrupted attempt, are dropped).

Record kinds (the ``"type"`` field):

* ``"epoch"``: ``epoch``, ``iterations`` (optimizer updates so far),
  ``samples``, ``loss``, ``heatmap_accuracy``, ``lr``, ``samples_per_sec``,
  ``epoch_time`` (s), ``wall_time`` (s of training in the whole run, over
  resumes);
* ``"batch"``: the same at each ``--log-interval`` (running epoch averages);
* ``"event"``: resume/stop/checkpoint notes.
"""
import json
import logging
import os
import sys

from ..utils.atomic import atomic_path, write_text

__all__ = ["TrainingLog", "plot_curves", "make_logger"]


class TrainingLog:
    """In-memory list of records mirrored to ``path`` (jsonl) and ``plot_path`` (PNG).

    Parameters
    ----------
    path : str
        The ``.jsonl`` file.
    plot_path : str, optional
        The PNG; rewritten after each epoch record.
    """

    def __init__(self, path, plot_path=None):
        self.path = os.path.abspath(path)
        self.plot_path = None if plot_path is None else os.path.abspath(plot_path)
        self.records = []

    def load_until(self, iteration):
        """Keep existing records up to update count ``iteration`` (for a resume)."""
        self.records = []
        if not os.path.isfile(self.path):
            return self
        with open(self.path, "r", encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue          # a foreign or torn line: drop it
                if rec.get("iterations", 0) <= iteration:
                    self.records.append(rec)
        return self

    def append(self, record, flush=True):
        """Add a record; rewrite the jsonl (and the plot for epoch records)."""
        self.records.append(record)
        if flush:
            self.flush(plot=record.get("type") == "epoch")

    def flush(self, plot=False):
        """Rewrite the jsonl file (and optionally the plot) atomically."""
        text = "".join(json.dumps(r, sort_keys=False) + "\n" for r in self.records)
        write_text(self.path, text)
        if plot and self.plot_path:
            plot_curves(self.epochs(), self.plot_path)

    def epochs(self):
        """The epoch records, in order."""
        return [r for r in self.records if r.get("type") == "epoch"]


def plot_curves(epochs, path, title=None):
    """Loss, heatmap accuracy and learning rate per epoch as one PNG (atomic).

    Parameters
    ----------
    epochs : list of dict
        Epoch records (``epoch``, ``loss``, ``heatmap_accuracy``, ``lr``, and
        ``loss_<output>`` for each supervised output of a multi-stage model).
    path : str
        Output PNG.
    title : str, optional
        Figure title.
    """
    import matplotlib
    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    x = [r["epoch"] for r in epochs]
    fig = Figure(figsize=(10, 3.2), dpi=80)
    FigureCanvasAgg(fig)
    panels = (("loss", "training loss", True), ("heatmap_accuracy", "heatmap accuracy", False),
              ("lr", "learning rate", True))
    # multi-stage models log each supervised output's loss as loss_<name>: drawn in
    # the loss panel beside the total, so one can see which stage learns
    stage_keys = sorted({k for r in epochs for k in r if k.startswith("loss_")})
    for k, (key, label, logy) in enumerate(panels):
        ax = fig.add_subplot(1, 3, k + 1)
        series = [key] + (stage_keys if key == "loss" else [])
        positive = True
        for name in series:
            y = [r.get(name) for r in epochs]
            pts = [(a, b) for a, b in zip(x, y) if b is not None]
            if not pts:
                continue
            ax.plot([p[0] for p in pts], [p[1] for p in pts],
                    marker="o" if len(pts) < 30 else "", markersize=3,
                    label="total" if name == "loss" else name[len("loss_"):],
                    linewidth=2 if name == "loss" else 1)
            positive = positive and all(p[1] > 0 for p in pts)
        if len(series) > 1:
            ax.legend(fontsize=7)
        if logy and positive and ax.lines:
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_title(label, fontsize=10)
        ax.grid(True, alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    # fixed margins: tight_layout would cost more than the drawing itself
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.16, top=0.86 if title else 0.9,
                        wspace=0.3)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png")


def make_logger(name, logging_file=None, console=True):
    """A logger writing to ``logging_file`` and, through ``tqdm.write``, to stdout.

    ``tqdm.write`` keeps console lines from breaking an active progress bar.
    """
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    for h in list(logger.handlers):
        logger.removeHandler(h)
        h.close()
    if logging_file:
        os.makedirs(os.path.dirname(os.path.abspath(logging_file)), exist_ok=True)
        fh = logging.FileHandler(logging_file)
        fh.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        logger.addHandler(fh)
    if console:
        logger.addHandler(_TqdmHandler())
    return logger


class _TqdmHandler(logging.Handler):
    def emit(self, record):
        try:
            from tqdm import tqdm
            tqdm.write(self.format(record), file=sys.stdout)
        except Exception:  # never let logging break training
            self.handleError(record)
