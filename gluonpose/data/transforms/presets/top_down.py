"""The crop transforms every top-down family trains and evaluates with.

Simple Baselines, MobilePose, FastPose, the stacked hourglass and CPN all see
one person crop through the same affine pipeline (box -> centre/scale ->
warp, GluonCV's augmentation), and differ only in what their spec says:
input size, normalisation and the codecs of their outputs. The engine, the
evaluator and the quantiser therefore take the preset under these family-
neutral names; ``SimplePoseDefault*Transform`` stay GluonCV's names for it.
"""
from .simple_pose import SimplePoseDefaultTrainTransform, SimplePoseDefaultValTransform

__all__ = ["TopDownTrainTransform", "TopDownValTransform"]

#: the training crop (augmentation, then the spec's codecs encode the targets)
TopDownTrainTransform = SimplePoseDefaultTrainTransform
#: the validation crop (no augmentation; returns the crop's centre and scale)
TopDownValTransform = SimplePoseDefaultValTransform
