"""The small COCO person-keypoint set shipped inside the package.

80 COCO 2017 train images (longer side 384 px) with their person-keypoint
annotations in the standard COCO layout; see
``gluonpose/datasets/coco_mini/README.md`` for provenance and licences. It
needs no download, so the quickstart, tutorials and tests run anywhere.
"""
import os

__all__ = ["MINI_COCO_SPLIT", "mini_coco_root", "mini_coco", "mini_coco_bottom_up"]

#: The annotation file (without ``.json``) of the bundled set.
MINI_COCO_SPLIT = "person_keypoints_train2017"

_ROOT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                     "datasets", "coco_mini")


def mini_coco_root():
    """Root folder of the bundled set (``annotations/`` and ``train2017/`` inside).

    Returns
    -------
    str
        Absolute path, usable as ``root`` of
        :class:`~gluonpose.data.mscoco.COCOKeyPoints` with split
        :data:`MINI_COCO_SPLIT`.

    Raises
    ------
    FileNotFoundError
        The package was installed without its data files.
    """
    if not os.path.isfile(os.path.join(_ROOT, "annotations", MINI_COCO_SPLIT + ".json")):
        raise FileNotFoundError("the bundled mini COCO set is missing from %s; reinstall "
                                "gluonpose (its package data was not installed)" % _ROOT)
    return _ROOT


def mini_coco(**kwargs):
    """The bundled set as a :class:`~gluonpose.data.mscoco.COCOKeyPoints`.

    Parameters
    ----------
    **kwargs
        Passed on to :class:`~gluonpose.data.mscoco.COCOKeyPoints`
        (``skip_empty``, ``image_format``, ...).

    Returns
    -------
    COCOKeyPoints
        One item per annotated person.
    """
    from .mscoco import COCOKeyPoints
    return COCOKeyPoints(mini_coco_root(), MINI_COCO_SPLIT, **kwargs)


def mini_coco_bottom_up(**kwargs):
    """The bundled set as a :class:`~gluonpose.data.mscoco.bottom_up.COCOBottomUp`.

    Parameters
    ----------
    **kwargs
        Passed on to :class:`~gluonpose.data.mscoco.bottom_up.COCOBottomUp`
        (``min_keypoints``, ``min_area``, ``skip_empty``, ``image_format``, ...).

    Returns
    -------
    COCOBottomUp
        One item per image with a supervised person (whole image, every
        person's joints and the training mask).
    """
    from .mscoco.bottom_up import COCOBottomUp
    return COCOBottomUp(mini_coco_root(), MINI_COCO_SPLIT, **kwargs)
