"""Training and evaluation engine: what ``gluonpose train|eval`` and the scripts call.

* :func:`~gluonpose.engine.trainer.train` -- multi-device training loop with
  exact resume, graceful SIGINT/SIGTERM, JSON-lines log and curves;
* :func:`~gluonpose.engine.evaluate.evaluate` -- COCO keypoint AP with a
  protocol record (GT or detector boxes, flip test, codec, oracle);
* :mod:`~gluonpose.engine.checkpoint` -- atomic checkpoints, verified resume;
* :mod:`~gluonpose.engine.config` -- option defaults and parsing.
"""
from .config import EVAL_DEFAULTS, TRAIN_DEFAULTS, make_config, parse_contexts
from .evaluate import EvalResult, evaluate
from .trainer import TrainResult, resume_config, train

__all__ = ["train", "evaluate", "resume_config", "TrainResult", "EvalResult", "make_config",
           "TRAIN_DEFAULTS", "EVAL_DEFAULTS", "parse_contexts"]
