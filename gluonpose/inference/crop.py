"""Crop every person box of a frame into one normalised network batch.

:class:`BatchCropper` and :func:`crop_people` live in
:mod:`gluonpose.data.transforms.crop` (the data transforms use them too); they
stay importable from here.
"""
from ..data.transforms.crop import BatchCropper, crop_people

__all__ = ["BatchCropper", "crop_people"]
