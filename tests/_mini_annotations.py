"""The bundled set's raw annotations, for tests that need every person of an image."""
import contextlib
import functools
import io
import os

import numpy as np

from gluonpose.data import MINI_COCO_SPLIT, mini_coco_root


@functools.lru_cache(maxsize=1)
def coco_api():
    """pycocotools' ``COCO`` of the bundled annotation file (read once, quietly)."""
    from pycocotools.coco import COCO
    with contextlib.redirect_stdout(io.StringIO()):
        return COCO(os.path.join(mini_coco_root(), "annotations", MINI_COCO_SPLIT + ".json"))


def annotated_people(coco, image_id):
    """``(P, 17, 3)`` COCO keypoints of the image's non-crowd people with a labelled joint."""
    anns = coco.loadAnns(coco.getAnnIds(imgIds=[image_id], iscrowd=False))
    return np.array([a["keypoints"] for a in anns if a.get("num_keypoints", 0) > 0],
                    np.float64).reshape(-1, 17, 3)
