"""Evaluate a pose model on COCO keypoints: GluonCV's ``validate.py`` options.

A thin wrapper around ``gluonpose eval`` (see ``gluonpose eval --help``)::

    python scripts/validate.py --model simple_pose_resnet18_v1b --num-joints 17 \
        --params-file params/simple_pose_resnet18_v1b-139.params --flip-test
"""
import sys

from gluonpose.cli import eval_main

if __name__ == "__main__":
    sys.exit(eval_main(sys.argv[1:]))
